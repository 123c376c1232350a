#!/usr/bin/env node
// `npm run bench:sws`: the SWS paper's claims at small scale on Fashion-MNIST (issue 8),
// in one process on the default backend, with the job functions of dist/:
//   1. a teacher ViT (depth 8, dim 64, patch 7) on the full 60k training images;
//   2. an SWS learngene (Aux-Net stages 2,2,2,2) and a TLEG learngene (8 layers) distilled
//      from it with the same data, epochs and schedule;
//   3. descendants of depths 2, 3, 4, 6, 8: SWS vs scratch (best of two lrs) vs TLEG vs
//      teacher-copy, equal data/epochs/schedule; test top-1 after epoch 1 and after N;
//   4. transfer: teacher and learngenes from classes 0–4, descendants fine-tuned on
//      classes 5–9 with a fresh head;
//   5. cost accounting: parameters stored (one learngene vs depths 6..15 stored
//      separately) and training cost (images × FLOPs/image, wall time) of "learngene +
//      fine-tune" vs "scratch each size to the same accuracy" (longer scratch runs
//      evaluated every epoch);
//   6. bench/results/sws-fashion-mnist.{json,md,png}.
//
//   npm run bench:sws                    full run (≤ 60 min on 2 cores)
//   npm run bench:sws -- --quick         smoke-sized run (≤ 10 min), results under tmp/
//   node bench/sws.mjs [--quick] [--data DIR] [--work DIR] [--out DIR] [--plan JSON]
//                      [--skip transfer,targets] [--fresh]
//
// Every job keeps its phases in a run folder under --work (default tmp/bench-sws/), named
// by a hash of what it depends on: an interrupted run continues where it stopped when the
// same command is run again, and a changed plan never reuses stale weights.

import { createHash } from 'node:crypto';
import { existsSync, promises as fs, readFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { BENCH_OPTIONS, benchRun, fashionMnistDir, machineFacts, printHeaderHelp, root } from './common.mjs';

const { values: args } = parseArgs({
  options: {
    ...BENCH_OPTIONS,
    plan: { type: 'string' },
    skip: { type: 'string', default: '' },
  },
});
if (args.help) printHeaderHelp(import.meta.url, 25);

const MODE = args.quick ? 'quick' : 'full';
const skip = new Set(args.skip.split(',').filter(Boolean));
const WORK = path.resolve(args.work ?? path.join(root, 'tmp/bench-sws'));
const OUT = path.resolve(args.out ?? (args.quick ? path.join(WORK, 'quick-results') : path.join(root, 'bench/results')));
const argv = process.argv.slice(2);
const COMMAND = `npm run bench:sws${argv.length ? ` -- ${argv.join(' ')}` : ''}`;

// ------------------------------------------------------------------------------ the plan

const NO_AUGMENT = { cropPadding: 0, horizontalFlip: false };
const PLANS = {
  full: {
    seed: 0,
    batchSize: 64,
    // Teacher and Aux-Nets: the full training split (60k; classes 0–4: 30k).
    teacher: { depth: 8, dim: 64, heads: 4, patchSize: 7, epochs: 4, lr: 2e-3, warmupEpochs: 0.3 },
    aux: { stages: [2, 2, 2, 2], epochs: 4, lr: 2e-3, warmupEpochs: 0.3, alpha: 1, tau: 1 },
    // Descendants: a class-balanced subset of the training split, the full test split.
    depths: [2, 3, 4, 6, 8],
    finetune: { limit: 12000, epochs: 3, lr: 5e-4, warmupEpochs: 0.3 },
    scratchLrs: [1e-3, 2e-3],
    baselines: ['scratch', 'tleg', 'teacher-copy'],
    // A fresh head on new labels needs a higher lr than an inherited one: at 5e-4 the
    // inherited networks lagged scratch by 8–16 points in the quick run, at 2e-3 they were level.
    transfer: { sourceClasses: [0, 1, 2, 3, 4], targetClasses: [5, 6, 7, 8, 9], limit: 6000, teacherEpochs: 4, auxEpochs: 4, finetune: { lr: 2e-3 } },
    // Scratch to the SWS descendant's accuracy: longer runs at these depths, evaluated every epoch.
    target: { depths: [2, 4, 8], capEpochs: 5 },
    storedDepths: [6, 7, 8, 9, 10, 11, 12, 13, 14, 15],
    testLimit: null,
  },
  quick: {
    seed: 0,
    batchSize: 64,
    teacher: { depth: 4, dim: 64, heads: 4, patchSize: 7, epochs: 2, lr: 2e-3, warmupEpochs: 0.3, limit: 12000 },
    aux: { stages: [1, 1, 1, 1], epochs: 2, lr: 2e-3, warmupEpochs: 0.3, alpha: 1, tau: 1 },
    depths: [2, 3, 4],
    finetune: { limit: 3000, epochs: 2, lr: 5e-4, warmupEpochs: 0.3 },
    scratchLrs: [1e-3, 2e-3],
    baselines: ['scratch', 'tleg', 'teacher-copy'],
    transfer: { sourceClasses: [0, 1, 2, 3, 4], targetClasses: [5, 6, 7, 8, 9], limit: 2000, teacherEpochs: 2, auxEpochs: 2, sourceLimit: 6000, finetune: { lr: 2e-3 } },
    target: { depths: [2], capEpochs: 4 },
    storedDepths: [6, 7, 8, 9, 10, 11, 12, 13, 14, 15],
    testLimit: 2000,
  },
};

function merge(base, over) {
  if (over === null || typeof over !== 'object' || Array.isArray(over)) return over;
  const out = { ...base };
  for (const [k, v] of Object.entries(over)) out[k] = base && typeof base[k] === 'object' && !Array.isArray(base[k]) ? merge(base[k], v) : v;
  return out;
}
const PLAN = args.plan ? merge(PLANS[MODE], JSON.parse(args.plan.trim().startsWith('{') ? args.plan : readFileSync(args.plan, 'utf8'))) : PLANS[MODE];

// ------------------------------------------------------------------------------ helpers

const { started, loadStart, log, pct, controller, contextFor, jobSeconds, timed, loadAverage, runMain } = benchRun('sws', WORK);
const hash = (value) => createHash('sha256').update(JSON.stringify(value)).digest('hex').slice(0, 10);

// ------------------------------------------------------------------------------ main

async function main() {
  if (!existsSync(path.join(root, 'dist/node/jobs/compare.js')) || !existsSync(path.join(root, 'dist/node/bench/sws-report.js'))) {
    throw new Error('dist/ is not built: run "npm run bench:sws" (it builds first) or "npm run build:all"');
  }
  const dataDir = fashionMnistDir(args.data);
  if (args.fresh) await fs.rm(WORK, { recursive: true, force: true });
  await fs.mkdir(WORK, { recursive: true });
  if (loadStart[0] > 1.0) log(`note: load average ${loadStart.map((l) => l.toFixed(2)).join(' ')} at start — other work on this machine will slow the run and skew wall times`);

  const [{ initBackend }, { runTrain }, { runDistill, loadLearngene }, { runCompare }, { prepareData, makeLoaders }, { Trainer }, { createViT, disposeParams }, { descendantConfig }, report, flops] = await Promise.all([
    import('../dist/node/backends.js'),
    import('../dist/node/jobs/train-jobs.js'),
    import('../dist/node/jobs/sws-jobs.js'),
    import('../dist/node/jobs/compare.js'),
    import('../dist/node/jobs/data.js'),
    import('../dist/engine/train/loop.js'),
    import('../dist/engine/model/vit.js'),
    import('../dist/engine/sws/learngene.js'),
    import('../dist/node/bench/sws-report.js'),
    import('../dist/shared/flops.js'),
  ]);
  const { DEFAULT_OPTIM } = await import('../dist/shared/config.js');
  const backend = await initBackend();
  log(`backend: ${backend.name} (${backend.detail}); work folder ${WORK}; ${MODE} plan`);

  const P = PLAN;
  const seed = P.seed;
  const optim = (o) => ({ ...DEFAULT_OPTIM, batchSize: P.batchSize, epochs: o.epochs, lr: o.lr, warmupEpochs: o.warmupEpochs });
  const dataSpec = (extra = {}) => ({ path: dataDir, valFraction: 0, augment: NO_AUGMENT, ...(P.testLimit ? { testLimit: P.testLimit } : {}), ...extra });
  // Images a training epoch sees (the loaders drop the last partial batch).
  const epochImages = (n) => n - (n % Math.min(P.batchSize, n));
  const pretrain = [];
  const rows = [];
  const targets = [];
  const notes = [];
  const learngenes = {};

  /** Teacher → SWS + TLEG learngenes → compare, for one setting. */
  async function setting(name, { teacherData, teacherEpochs, auxEpochs, keepHead, compareData }) {
    const tPlan = { ...P.teacher, epochs: teacherEpochs };
    const teacherKey = `teacher-${name}-${hash({ tPlan, teacherData, seed, batch: P.batchSize })}`;
    const teacherOut = path.join(WORK, teacherKey, 'model');
    const teacher = await timed(`${name}: teacher`, () => runTrain({
      kind: 'train', data: teacherData, out: teacherOut, seed,
      model: { depth: tPlan.depth, dim: tPlan.dim, heads: tPlan.heads, patchSize: tPlan.patchSize },
      optim: optim(tPlan),
    }, contextFor(teacherKey)));
    const teacherTrain = epochImages((await prepareData(teacherData, seed)).trainIndices.length);
    log(`${name}: teacher test top-1 ${pct(teacher.test?.top1)} (${teacher.params.toLocaleString('en-US')} parameters)`);
    pretrain.push({
      setting: name, name: 'teacher', config: teacher.config, epochs: tPlan.epochs, trainImages: teacherTrain,
      ...report.pretrainCost(teacher.config, teacherTrain, tPlan.epochs, null),
      seconds: teacher.history.reduce((a, r) => a + r.seconds, 0), top1: teacher.test?.top1 ?? null,
    });
    const aux = {};
    for (const kind of P.baselines.includes('tleg') ? ['sws', 'tleg'] : ['sws']) {
      const stages = kind === 'sws' ? P.aux.stages : [P.aux.stages.reduce((a, b) => a + b, 0)];
      const aPlan = { ...P.aux, epochs: auxEpochs };
      const key = `aux-${kind}-${name}-${hash({ aPlan, stages, teacherKey, teacherData, keepHead })}`;
      const out = path.join(WORK, key, 'learngene');
      const distilled = await timed(`${name}: ${kind.toUpperCase()} Aux-Net`, () => runDistill({
        kind: 'distill', teacher: teacherOut, data: teacherData, out, auxKind: kind, stages,
        aux: {}, distill: { alpha: aPlan.alpha, tau: aPlan.tau }, optim: optim(aPlan), seed, keepHead,
      }, contextFor(key)));
      log(`${name}: ${kind.toUpperCase()} Aux-Net test top-1 ${pct(distilled.test?.top1)} (teacher ${pct(distilled.teacherTest?.top1)}), learngene ${distilled.learngeneParams.toLocaleString('en-US')} parameters`);
      const auxTrain = teacherTrain;
      pretrain.push({
        setting: name, name: `aux-${kind}`, config: distilled.auxConfig, stages, epochs: aPlan.epochs, trainImages: auxTrain,
        ...report.pretrainCost(distilled.auxConfig, auxTrain, aPlan.epochs, teacher.config),
        seconds: distilled.history.reduce((a, r) => a + r.seconds, 0), top1: distilled.test?.top1 ?? null, learngeneParams: distilled.learngeneParams,
      });
      aux[kind] = { out, key, result: distilled };
    }
    learngenes[name] = { ...aux.sws, auxConfig: aux.sws.result.auxConfig };
    // Fine-tuning of inherited initializations (SWS, TLEG, teacher-copy alike); the transfer
    // setting may override it (a fresh head on new labels).
    const fPlan = name === 'transfer' && P.transfer.finetune ? { ...P.finetune, ...P.transfer.finetune } : P.finetune;
    const compareKey = `compare-${name}-${hash({ fPlan, scratchLrs: P.scratchLrs, depths: P.depths, compareData, sws: aux.sws.key, tleg: aux.tleg?.key, teacherKey, ...(P.baselines.length !== 3 ? { baselines: P.baselines } : {}) })}`;
    const compared = await timed(`${name}: descendants`, () => runCompare({
      kind: 'compare', learngene: aux.sws.out, ...(aux.tleg ? { tlegLearngene: aux.tleg.out } : {}), teacher: teacherOut, data: compareData,
      depths: P.depths, baselines: P.baselines, optim: optim(fPlan), scratchLrs: P.scratchLrs, seed,
    }, contextFor(compareKey), { setting: name }));
    const ftData = await prepareData(compareData, seed);
    const trainImages = epochImages(ftData.trainIndices.length);
    const auxConfig = aux.sws.result.auxConfig;
    for (const r of compared.rows) {
      const config = descendantConfig(auxConfig, r.depth, ftData.classNames.length);
      const images = trainImages * r.epochs;
      const perLr = r.lrsTried ? r.lrsTried.length : 1;
      rows.push({
        setting: name, depth: r.depth, method: r.method, params: r.params, top1_1ep: r.top1_1ep, top1_final: r.top1_final,
        top1ByEpoch: r.top1ByEpoch, lr: r.lr, ...(r.lrsTried ? { lrsTried: r.lrsTried } : {}), epochs: r.epochs, head: r.head,
        ...(r.layersSource ? { layersSource: r.layersSource } : {}),
        images, flops: images * flops.vitTrainFlops(config), seconds: r.seconds / perLr, secondsAllLrs: r.seconds,
      });
    }
    process.stderr.write(`\n${compared.table}\n\n`);
    return { compareKey, compareData, trainImages, auxConfig, sws: aux.sws, classes: ftData.classNames.length };
  }

  // 1–3: same labels (10 classes).
  const same = skip.has('same') ? null : await setting('same-labels', {
    teacherData: dataSpec(P.teacher.limit ? { limit: P.teacher.limit } : {}),
    teacherEpochs: P.teacher.epochs,
    auxEpochs: P.aux.epochs,
    keepHead: true,
    compareData: dataSpec({ limit: P.finetune.limit }),
  });

  // 4: transfer (learngene and teacher from classes 0–4, descendants on 5–9, fresh head).
  if (!skip.has('transfer')) {
    const T = P.transfer;
    await setting('transfer', {
      teacherData: dataSpec({ classes: T.sourceClasses, ...(T.sourceLimit ? { limit: T.sourceLimit } : {}) }),
      teacherEpochs: T.teacherEpochs,
      auxEpochs: T.auxEpochs,
      keepHead: false,
      compareData: dataSpec({ classes: T.targetClasses, limit: T.limit }),
    });
  } else notes.push('The transfer setting was skipped (--skip transfer).');

  // 5: scratch to the SWS descendant's accuracy (same labels): each counted size trained
  // from scratch on the full training split (as pre-training every size would be), its
  // test top-1 read after every epoch, stopped at the first epoch that reaches the SWS
  // descendant's final top-1 (or at the cap: then a lower bound).
  if (same && !skip.has('targets')) {
    const sws = await loadLearngene(same.sws.out);
    const targetData = dataSpec(P.target.limit ? { limit: P.target.limit } : {});
    const data = await prepareData(targetData, seed);
    const trainImages = epochImages(data.trainIndices.length);
    for (const depth of P.target.depths) {
      const swsRow = rows.find((r) => r.setting === 'same-labels' && r.method === 'sws' && r.depth === depth);
      const scratchRow = rows.find((r) => r.setting === 'same-labels' && r.method === 'scratch' && r.depth === depth);
      if (!swsRow || !scratchRow) {
        notes.push(`Scratch-to-target skipped at depth ${depth}: not among the fine-tuned depths.`);
        continue;
      }
      const lr = scratchRow.lr;
      const target = swsRow.top1_final;
      const key = `target-d${depth}-${hash({ compareKey: same.compareKey, lr, target, cap: P.target.capEpochs, targetData, fPlan: P.finetune })}`;
      const file = path.join(WORK, key, 'result.json');
      const config = descendantConfig(sws.learngene.config, depth, data.classNames.length);
      let history = existsSync(file) ? JSON.parse(readFileSync(file, 'utf8')).history : null;
      if (history) log(`scratch to target, depth ${depth}: reusing ${file}`);
      else {
        history = await timed(`scratch to target, depth ${depth} (target ${pct(target)})`, async () => {
          const loaders = makeLoaders(data, sws.meta.preprocess, targetData, P.batchSize, seed);
          // The same initialization as the compare's scratch run (same config, same seed).
          const network = createViT(config, seed);
          const ctx = contextFor(key);
          const trainer = new Trainer({
            phase: `scratch-long-d${depth}`, network, train: loaders.train, val: loaders.test, seed,
            optim: optim({ ...P.finetune, lr, epochs: P.target.capEpochs }),
            hooks: {
              emit: (event) => ctx.emit(event),
              afterStep: async () => (controller.signal.aborted ? 'stop' : undefined),
              afterEpoch: async (_position, record) => (record.val && record.val.top1 >= target ? 'stop' : undefined),
            },
          });
          try {
            const result = await trainer.run();
            if (controller.signal.aborted) throw Object.assign(new Error('cancelled'), { name: 'JobCancelled' });
            return result.history;
          } finally {
            trainer.dispose();
            disposeParams(network.params);
          }
        });
        await fs.mkdir(path.dirname(file), { recursive: true });
        await fs.writeFile(file, JSON.stringify({ depth, lr, target, capEpochs: P.target.capEpochs, history }, null, 2));
      }
      const t = report.scratchToTarget({
        setting: 'same-labels', depth, lr, target, config, trainImages, capEpochs: P.target.capEpochs,
        top1ByEpoch: history.map((h) => h.val?.top1 ?? NaN), secondsByEpoch: history.map((h) => h.seconds),
      });
      log(`scratch d${depth} (lr ${lr}) vs SWS target ${pct(t.target)}: ${t.reachedAtEpoch ? `reached at epoch ${t.reachedAtEpoch}` : `not reached within ${t.capEpochs} epochs (best ${pct(Math.max(...t.top1ByEpoch))})`}`);
      targets.push(t);
    }
  } else notes.push('Scratch-to-target runs were skipped (--skip targets): no cost ratio.');

  // 6: the report.
  const auxConfig = (same ?? learngenes.transfer).auxConfig;
  const stored = report.storedParams(auxConfig, P.aux.stages, P.storedDepths, true);
  const storedTrained = report.storedParams(auxConfig, P.aux.stages, P.depths, true);
  const costs = report.SETTINGS.map((s) => report.costSummary(s, pretrain, rows, targets)).filter(Boolean);
  const sameCost = costs.find((c) => c.setting === 'same-labels') ?? null;
  const accept = report.acceptance(rows, stored, P.scratchLrs.length);
  const machine = machineFacts(backend);
  const trainSizes = {
    teacher: pretrain.filter((p) => p.name === 'teacher').map((p) => `${p.setting}: ${p.trainImages}`),
    finetune: { 'same-labels': same?.trainImages ?? null },
  };
  const result = {
    command: COMMAND,
    mode: MODE,
    date: new Date(started).toISOString(),
    seeds: { data: seed, init: seed },
    rows,
    stored_params_ratio: stored.ratio,
    cost_ratio: sameCost ? sameCost.costRatio : null,
    cost_ratio_lower_bound: sameCost ? sameCost.lowerBound : false,
    storedParams: stored,
    storedParamsTrainedDepths: storedTrained,
    pretrain,
    scratchToTarget: targets,
    costs,
    acceptance: accept,
    config: { plan: P, dataset: dataDir, trainSizes, optimizerDefaults: DEFAULT_OPTIM, augment: NO_AUGMENT, evaluation: P.testLimit ? `first ${P.testLimit} test images (class-balanced)` : 'the full test split (10,000 images; transfer: the 5,000 of classes 5–9)' },
    timings: { totalSeconds: (Date.now() - started) / 1000, phases: jobSeconds },
    machine,
    loadAverage: loadAverage(),
    notes,
  };
  const shape = report.checkResultShape(result);
  if (shape.length > 0) throw new Error(`report shape: ${shape.join('; ')}`);
  const { discussion, recipe, tried } = narrative(result, P);
  await fs.mkdir(OUT, { recursive: true });
  const base = path.join(OUT, 'sws-fashion-mnist');
  await fs.writeFile(`${base}.json`, JSON.stringify(result, null, 2) + '\n');
  await fs.writeFile(`${base}.md`, report.renderMarkdown(result, { discussion, recipe, tried }));
  const svg = report.renderSvg({ rows, title: `Fashion-MNIST: descendants' test top-1 vs depth (${MODE} run)` });
  await fs.writeFile(`${base}.svg`, svg);
  const { default: sharp } = await import('sharp');
  await sharp(Buffer.from(svg), { density: 144 }).png().toFile(`${base}.png`);
  await fs.rm(`${base}.svg`, { force: true });
  process.stdout.write(report.renderMarkdown(result, { discussion, recipe, tried }));
  log(`wrote ${base}.json, .md, .png in ${((Date.now() - started) / 60000).toFixed(1)} min`);
}

// ------------------------------------------------------------------------------ narrative

/** Plain statements read off the numbers, and the recipe in words. */
function narrative(r, P) {
  const pts = (x) => `${x >= 0 ? '+' : ''}${(x * 100).toFixed(1)}`;
  const range = (xs) => (xs.length === 0 ? '—' : `${pts(Math.min(...xs))} … ${pts(Math.max(...xs))}`);
  const discussion = [];
  for (const setting of ['same-labels', 'transfer']) {
    const mine = r.rows.filter((x) => x.setting === setting);
    if (mine.length === 0) continue;
    const depths = [...new Set(mine.map((x) => x.depth))].sort((a, b) => a - b);
    const get = (d, m) => mine.find((x) => x.depth === d && x.method === m);
    const diff = (m, key) => depths.filter((d) => get(d, 'sws') && get(d, m)).map((d) => get(d, 'sws')[key] - get(d, m)[key]);
    const n = mine[0].epochs;
    const tc = diff('teacher-copy', 'top1_final');
    const tl = diff('tleg', 'top1_final');
    const ahead = depths.filter((d) => get(d, 'teacher-copy') && get(d, 'sws').top1_final > get(d, 'teacher-copy').top1_final);
    discussion.push(`**${setting}.** SWS minus the best scratch: ${range(diff('scratch', 'top1_1ep'))} points after 1 epoch, ${range(diff('scratch', 'top1_final'))} after ${n}. SWS minus teacher-copy after ${n}: ${range(tc)} (ahead at ${ahead.length ? `depth ${ahead.join(', ')}` : 'no depth'}; after 1 epoch: ${range(diff('teacher-copy', 'top1_1ep'))}). SWS minus TLEG after ${n}: ${range(tl)} (after 1 epoch: ${range(diff('tleg', 'top1_1ep'))}).`);
  }
  const ref = 'The PyTorch reference of the issue (12k subset, teacher depth 8 / dim 128, Aux-Net 2,2,2,2, fine-tuning 3 epochs at 5e-4 without warm-up) measured SWS − best scratch = +8.2 … +12.5 after 1 epoch and +3.7 … +5.0 after 3, and SWS vs teacher-copy within ±1.2 (ahead at depth 2–3, behind at 6–8).';
  discussion.push(ref);
  const t = r.scratchToTarget;
  if (t.length > 0) {
    discussion.push(`Scratch to the SWS descendant's accuracy: ${t.map((x) => `depth ${x.depth}: ${x.reachedAtEpoch ? `${x.reachedAtEpoch} epochs` : `not within ${x.capEpochs} epochs`}`).join('; ')} (SWS: ${r.rows.find((x) => x.method === 'sws')?.epochs} epochs of fine-tuning after the learngene).`);
  }
  const teacherSame = r.pretrain.find((p) => p.setting === 'same-labels' && p.name === 'teacher');
  const recipe = [
    `Data: Fashion-MNIST IDX from ${r.config.dataset}; no augmentation; inputs normalized with the training images' mean/std. Every evaluation: ${r.config.evaluation}.`,
    `Teacher: ViT depth ${P.teacher.depth}, dim ${P.teacher.dim}, ${P.teacher.heads} heads, patch ${P.teacher.patchSize} (16 tokens), mean pooling; ${teacherSame?.trainImages.toLocaleString('en-US')} training images (${P.teacher.limit ? 'a class-balanced subset' : 'the full split'}), ${P.teacher.epochs} epochs, AdamW lr ${P.teacher.lr}, wd 0.05, batch ${P.batchSize}, ${P.teacher.warmupEpochs}-epoch warm-up then cosine; clip 1.0.`,
    `Aux-Nets: SWS stages ${P.aux.stages.join(',')} (${P.aux.stages.length} shared blocks) and TLEG with ${P.aux.stages.reduce((a, b) => a + b, 0)} layers (θA, θB), both from the teacher with pure soft KD (α=${P.aux.alpha}, τ=${P.aux.tau}) on the teacher's training images, ${P.aux.epochs} epochs, lr ${P.aux.lr}, ${P.aux.warmupEpochs}-epoch warm-up, cosine; the same budget for both.`,
    `Descendants: depths ${P.depths.join(', ')}, fine-tuned ${P.finetune.epochs} epochs on a class-balanced ${P.finetune.limit.toLocaleString('en-US')}-image subset of the training split (transfer: ${P.transfer.limit.toLocaleString('en-US')} images of classes ${P.transfer.targetClasses.join(',')}), batch ${P.batchSize}, cosine with a ${P.finetune.warmupEpochs}-epoch warm-up. SWS, TLEG and teacher-copy: lr ${P.finetune.lr} (transfer: ${P.transfer.finetune?.lr ?? P.finetune.lr}, as a fresh head needs). Scratch: the best of lr ${P.scratchLrs.join(' and ')} (by final top-1), same architecture, timm init. Teacher-copy: the teacher's first D blocks, its stem and final norm (and head when the labels match). SWS layer → stage mapping: the engine's default (depth < 4 picks evenly spaced stages).`,
    `Transfer: teacher (${P.transfer.teacherEpochs} epochs) and both Aux-Nets (${P.transfer.auxEpochs} epochs) trained on classes ${P.transfer.sourceClasses.join(',')} only${P.transfer.sourceLimit ? ` (${P.transfer.sourceLimit} images)` : ' (all their training images)'}; the learngenes keep no head; every descendant gets a fresh 5-class head.`,
    `Scratch to target: at depths ${P.target.depths.join(', ')} one scratch run of ${P.target.capEpochs} epochs on ${P.target.limit ? `a class-balanced ${P.target.limit.toLocaleString('en-US')}-image subset` : 'the full training split (as pre-training each size separately would use; the SWS descendants saw only their fine-tuning subset)'} (cosine over the whole run, the depth's best lr) evaluated every epoch; the first epoch reaching the SWS descendant's final top-1 is its cost (a lower bound when it never does).`,
    `Seeds: ${r.seeds.data} for data order and subsets, ${r.seeds.init} for initializations; one seed per configuration (no error bars: differences under ~0.5 points are within run-to-run noise).`,
  ];
  return { discussion, recipe, tried: TRIED };
}

/** Tuning runs done before settling on the committed recipe (not rerun by this command). */
const TRIED = [
  'Transfer fine-tuning lr (quick plan, depths 2–4, fresh 5-class head): at 5e-4 SWS / teacher-copy / TLEG reached 52–61 / 51–59 / 54–59% after 2 epochs against 70–73% for scratch (best of 1e-3, 2e-3); at 2e-3 they reached 72–74 / 72–73 / 73–74%, level with scratch. The full plan fine-tunes transfer descendants at 2e-3.',
  'Same-labels fine-tuning lr (`learngene demo`, 8k-image sample, teacher depth 8 dim 64, Aux-Net 2,2,2,2): fine-tuning at 5e-4 instead of 2e-3 did not move SWS closer to teacher-copy (it trailed by 0.65–1.65 points after 3 epochs either way); the reference recipe of the issue (5e-4) is kept, with a 0.3-epoch warm-up as the issue suggests.',
  'Not tried for lack of time on this machine: other stage layouts than 2,2,2,2, α < 1 (mixing in the hard labels during distillation), τ ≠ 1, longer Aux-Net distillation than the teacher\'s own epochs, several seeds.',
];

runMain(main);
