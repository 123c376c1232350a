#!/usr/bin/env node
// `npm run bench:compression`: smaller descendants (issue 16) in the demo's setting, in
// one process with the job functions of dist/:
//   1. `learngene demo` as it is (teacher, SWS learngene, descendants of depths 2, 3, 4, 6
//      fine-tuned 3 epochs on 6,000 Fashion-MNIST images);
//   2. per descendant: ONNX fp32, int8 static (QDQ, calibrated on 256 training images,
//      MinMax or percentile by accuracy), int8 dynamic; pruned to half its heads and MLP
//      units (weight-norm and Taylor importance), fine-tuned one epoch, exported fp32 and
//      int8; the unpruned descendant fine-tuned the same extra epoch, for reference;
//   3. every export: parameters, file size, test top-1 in onnxruntime on the full test
//      split (10,000 images), onnxruntime CPU latency at batch 1 and 64 (interleaved
//      rounds, median), onnx.checker on the int8 files;
//   4. bench/results/compression.{json,md}.
//
//   npm run bench:compression              full run (≈ 25 min on 2 cores)
//   npm run bench:compression -- --quick   the quick demo (≈ 3 min), results under tmp/
//   node bench/compression.mjs [--quick] [--data DIR] [--work DIR] [--out DIR] [--fresh] [--threads N]
//
// Latency runs on --threads N intra-op threads (default 1): on this shared 2-core machine,
// two threads ran 3–4× slower whenever other work held a core (onnxruntime's thread pool
// spins), and their timings swung from run to run; one thread gave steady numbers.
//
// Training phases live in --work (default tmp/bench-compression/): an interrupted run
// continues where it stopped when the same command is run again.

import { spawnSync } from 'node:child_process';
import { existsSync, promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import * as ort from 'onnxruntime-node';
import { BENCH_OPTIONS, benchRun, fashionMnistDir, machineFacts, printHeaderHelp, root } from './common.mjs';

const { values: args } = parseArgs({
  options: { ...BENCH_OPTIONS, threads: { type: 'string', default: '1' } },
});
if (args.help) printHeaderHelp(import.meta.url, 25);

const MODE = args.quick ? 'quick' : 'full';
const WORK = path.resolve(args.work ?? path.join(root, 'tmp/bench-compression', MODE));
const OUT = path.resolve(args.out ?? (args.quick ? path.join(WORK, 'results') : path.join(root, 'bench/results')));
const argv = process.argv.slice(2);
const COMMAND = `npm run bench:compression${argv.length ? ` -- ${argv.join(' ')}` : ''}`;
const SEED = 0;
/** Pruning of the main table (both are measured; see the importance table). */
const IMPORTANCE = 'weight';
const KEEP = 0.5;
/** Latency: rounds of every model of a depth in turn; forward passes per round; intra-op threads. */
const LATENCY = { rounds: 30, runs: { 1: 20, 64: 2 }, threads: Number(args.threads) };
if (!(Number.isInteger(LATENCY.threads) && LATENCY.threads >= 1)) throw new Error(`--threads: expected a positive integer, got "${args.threads}"`);

const { started, loadStart, log, pct, contextFor, jobSeconds, timed, loadAverage, reused, runMain } = benchRun('compression', WORK);

/** A python3-onnx full check of a file: 'ok', the error's last line, or null without python3-onnx. */
function onnxChecker(file) {
  const script = 'import sys, onnx\nonnx.checker.check_model(onnx.load(sys.argv[1]), full_check=True)\nprint("ok")';
  const run = spawnSync('/usr/bin/python3', ['-c', script, file], { encoding: 'utf8' });
  if (run.error || /No module named 'onnx'/.test(run.stderr)) return null;
  return run.status === 0 ? 'ok' : (run.stderr.trim().split('\n').pop() ?? 'failed');
}

const median = (xs) => [...xs].sort((a, b) => a - b)[xs.length >> 1];

/**
 * Median ms per forward pass of every file at batch 1 and 64, in interleaved rounds, and
 * the median per-round ratio of each file's time to the first file's (the fp32 model).
 */
async function latencies(files, preprocess) {
  const sessions = [];
  for (const file of files) sessions.push(await ort.InferenceSession.create(file, { graphOptimizationLevel: 'all', intraOpNumThreads: LATENCY.threads, interOpNumThreads: 1 }));
  const out = files.map(() => ({}));
  try {
    for (const batch of [1, 64]) {
      const size = preprocess.channels * preprocess.imageSize * preprocess.imageSize;
      const pixels = new Float32Array(batch * size);
      for (let i = 0; i < pixels.length; i++) pixels[i] = Math.sin(i) * 1.5;
      const feed = { pixel_values: new ort.Tensor('float32', pixels, [batch, preprocess.channels, preprocess.imageSize, preprocess.imageSize]) };
      for (const s of sessions) for (let i = 0; i < 3; i++) await s.run(feed); // warm-up
      const samples = files.map(() => []);
      const runs = LATENCY.runs[batch];
      for (let round = 0; round < LATENCY.rounds; round++) {
        // Each round starts with another model, so no model always runs first (or after the same one).
        for (let k = 0; k < sessions.length; k++) {
          const i = (round + k) % sessions.length;
          const t0 = performance.now();
          for (let r = 0; r < runs; r++) await sessions[i].run(feed);
          samples[i].push((performance.now() - t0) / runs);
        }
      }
      samples.forEach((xs, i) => {
        out[i].latencyMs = { ...out[i].latencyMs, [`b${batch}`]: median(xs) };
        out[i].latencyVsFp32 = { ...out[i].latencyVsFp32, [`b${batch}`]: median(xs.map((x, round) => x / samples[0][round])) };
      });
    }
  } finally {
    for (const s of sessions) await s.release();
  }
  return out;
}

async function main() {
  if (!existsSync(path.join(root, 'dist/node/jobs/compare.js')) || !existsSync(path.join(root, 'dist/node/bench/compression-report.js'))) {
    throw new Error('dist/ is not built: run "npm run bench:compression" (it builds first) or "npm run build:all"');
  }
  const dataDir = fashionMnistDir(args.data);
  if (args.fresh) await fs.rm(WORK, { recursive: true, force: true });
  await fs.mkdir(WORK, { recursive: true });
  if (loadStart[0] > 1.0) log(`note: load average ${loadStart.map((l) => l.toFixed(2)).join(' ')} at start — other work on this machine will skew latencies and wall times`);

  const [{ initBackend }, { runDemo, demoPlan }, { runFinetune, runEvaluate }, { runPrune }, { exportModel }, { readAnyModel }, { countParams }, report, { DEFAULT_DATA, DEFAULT_OPTIM }] = await Promise.all([
    import('../dist/node/backends.js'),
    import('../dist/node/jobs/compare.js'),
    import('../dist/node/jobs/train-jobs.js'),
    import('../dist/node/jobs/prune-jobs.js'),
    import('../dist/node/export/index.js'),
    import('../dist/node/import.js'),
    import('../dist/engine/model/params.js'),
    import('../dist/node/bench/compression-report.js'),
    import('../dist/shared/api.js').then(async (api) => ({ ...api, ...(await import('../dist/shared/config.js')) })),
  ]);
  const backend = await initBackend();
  log(`backend: ${backend.name} (${backend.detail}); work folder ${WORK}; ${MODE} demo setting`);

  // 1. The demo, as `learngene demo` runs it (its own data subset and test limit).
  const plan = demoPlan(args.quick);
  const demoOut = path.join(WORK, 'demo');
  const demo = await timed('demo', () => runDemo({ kind: 'demo', data: { ...DEFAULT_DATA, path: dataDir }, quick: args.quick, out: demoOut, seed: SEED }, contextFor('demo')));
  process.stderr.write(`\n${demo.report}\n\n`);
  const trainData = { ...DEFAULT_DATA, path: dataDir, limit: plan.limit, testLimit: plan.testLimit };
  const heal = { ...DEFAULT_OPTIM, epochs: 1, batchSize: 32, lr: 1e-3, warmupEpochs: 0.2 };
  const fullTest = { ...DEFAULT_DATA, path: dataDir };
  const evaluate = async (model) => (await runEvaluate({ kind: 'evaluate', model, data: fullTest, split: 'test' })).top1;
  const paramsOf = async (model) => countParams((await readAnyModel(model)).storage.values());
  const exportsDir = path.join(WORK, 'exports');
  const calibration = { data: { ...DEFAULT_DATA, path: dataDir, limit: plan.limit }, images: 256, method: 'auto' };

  const rows = [];
  const latencyLoad = [];
  const importanceRows = [];
  const extraEpoch = [];
  for (const depth of plan.depths) {
    const model = path.join(demoOut, 'descendants', `sws-d${depth}`);
    const name = `d${depth}`;
    // 2. Prune (both importances), heal one epoch; the unpruned model gets the same epoch.
    const healed = {};
    for (const importance of ['weight', 'taylor']) {
      const pruned = path.join(WORK, `${name}-pruned-${importance}`);
      await timed(`${name}: prune (${importance})`, () => runPrune({ kind: 'prune', model, out: pruned, headsKeep: KEEP, mlpKeep: KEEP, importance, data: trainData, seed: SEED }, contextFor(`${name}-prune-${importance}`)));
      healed[importance] = path.join(WORK, `${name}-pruned-${importance}-ft`);
      await timed(`${name}: heal (${importance})`, () => runFinetune({ kind: 'finetune', model: pruned, data: trainData, out: healed[importance], optim: heal, seed: SEED }, contextFor(`${name}-heal-${importance}`)));
      importanceRows.push({ depth, importance, top1Pruned: await evaluate(pruned), top1Healed: await evaluate(healed[importance]) });
    }
    const extra = path.join(WORK, `${name}-plus1`);
    await timed(`${name}: one more epoch unpruned`, () => runFinetune({ kind: 'finetune', model, data: trainData, out: extra, optim: heal, seed: SEED }, contextFor(`${name}-plus1`)));
    extraEpoch.push({ depth, top1: await evaluate(extra) });

    // 3. Exports, accuracy, checker, latency.
    const variants = [
      { variant: 'fp32', source: model, options: {} },
      { variant: 'int8', source: model, options: { quantize: 'int8', calibration } },
      { variant: 'int8-dynamic', source: model, options: { quantize: 'int8' } },
      { variant: 'pruned', source: healed[IMPORTANCE], options: {} },
      { variant: 'pruned-int8', source: healed[IMPORTANCE], options: { quantize: 'int8', calibration } },
    ];
    const measured = [];
    for (const v of variants) {
      const file = path.join(exportsDir, `${name}-${v.variant}.onnx`);
      const exported = await timed(`${name}: export ${v.variant}`, () => exportModel(v.source, 'onnx', file, { ...v.options, seed: SEED }));
      const top1 = await evaluate(file);
      const engineTop1 = v.options.quantize ? undefined : await evaluate(v.source);
      log(`${name} ${v.variant}: test top-1 ${pct(top1)} in onnxruntime${engineTop1 !== undefined ? `, ${pct(engineTop1)} in the engine` : ''}`);
      measured.push({
        depth, variant: v.variant, params: await paramsOf(v.source), fileBytes: (await fs.stat(file)).size, top1,
        ...(engineTop1 !== undefined ? { engineTop1 } : {}),
        ...(exported.quantization ? { quantization: exported.quantization, checker: onnxChecker(file) } : {}),
        file,
      });
    }
    const preprocess = (await readAnyModel(model)).meta.preprocess;
    const load = os.loadavg()[0];
    const times = await timed(`${name}: latency`, () => latencies(measured.map((m) => m.file), preprocess));
    measured.forEach((m, i) => {
      const { file: _file, ...row } = m;
      const { latencyMs, latencyVsFp32 } = times[i];
      rows.push({ ...row, latencyMs, ...(i > 0 ? { latencyVsFp32 } : {}) });
      log(`${name} ${m.variant}: ${(m.fileBytes / 1024).toFixed(0)} KiB, b1 ${latencyMs.b1.toFixed(3)} ms, b64 ${latencyMs.b64.toFixed(2)} ms (${latencyVsFp32.b64.toFixed(2)}× fp32)`);
    });
    latencyLoad.push({ depth, load1: Math.round(load * 100) / 100 });
  }

  const result = {
    command: COMMAND,
    mode: MODE,
    date: new Date(started).toISOString(),
    importance: IMPORTANCE,
    rows,
    importanceRows,
    extraEpoch,
    acceptance: report.acceptance(rows),
    config: {
      dataset: dataDir, demoPlan: plan, seed: SEED, keep: { heads: KEEP, mlp: KEEP }, heal, calibration: { images: calibration.images, method: calibration.method },
      evaluation: 'the full Fashion-MNIST test split (10,000 images)', latency: { ...LATENCY, graphOptimizationLevel: 'all' },
    },
    machine: machineFacts(backend),
    loadAverage: { ...loadAverage(), atLatency: latencyLoad },
    timings: { totalSeconds: (Date.now() - started) / 1000, phases: jobSeconds, reusedPhases: reused },
    notes: [],
  };
  const shape = report.checkResultShape(result);
  if (shape.length > 0) throw new Error(`report shape: ${shape.join('; ')}`);
  await fs.mkdir(OUT, { recursive: true });
  const base = path.join(OUT, 'compression');
  const markdown = report.renderMarkdown(result, { recipe: recipe(plan, result), discussion: discussion(result) });
  await fs.writeFile(`${base}.json`, JSON.stringify(result, null, 2) + '\n');
  await fs.writeFile(`${base}.md`, markdown);
  process.stdout.write(markdown);
  log(`wrote ${base}.json and .md in ${((Date.now() - started) / 60000).toFixed(1)} min`);
}

function recipe(plan, r) {
  return [
    `The demo's setting (\`learngene demo${args.quick ? ' --quick' : ''}\`, run as it is): Fashion-MNIST from ${r.config.dataset}, a class-balanced ${plan.limit.toLocaleString('en-US')}-image training subset; a teacher ViT of depth ${plan.teacher.depth}, dim ${plan.teacher.dim}, ${plan.teacher.heads} heads, patch ${plan.teacher.patchSize}; an SWS learngene of stages ${plan.stages.join(',')}; descendants of depth ${plan.depths.join(', ')} fine-tuned ${plan.descendantEpochs} epoch(s) (batch 32, lr 1e-3).`,
    `int8 static: every weight MatMul (patch embedding, q, k, v, proj, fc1, fc2, head) as a QDQ Gemm with symmetric per-output-channel int8 weights and per-tensor uint8 activations calibrated on ${r.config.calibration.images} training images; MinMax and 99.99th-percentile ranges both built, the one with the higher top-1 on 512 other training images kept. onnxruntime fuses each into QGemm. int8 dynamic: the same weights, activations quantized per batch at run time (DynamicQuantizeMatMul).`,
    `Pruning: per block, the ${KEEP * 100}% of attention heads and of MLP hidden units with the highest importance kept (weight norms, or first-order Taylor scores on 8 training batches of 64), then one epoch of fine-tuning on the same subset (batch 32, lr 1e-3, 0.2-epoch warm-up, cosine).`,
    `Accuracy: ${r.config.evaluation}, in onnxruntime on the exported file (the engine's own evaluation of the fp32 and pruned models agrees; both are in the JSON). Latency: onnxruntime-node CPU EP, ${r.config.latency.threads} intra-op thread(s), graph optimization "all", median of ${LATENCY.rounds} interleaved rounds of ${LATENCY.runs[1]} (batch 1) or ${LATENCY.runs[64]} (batch 64) forward passes. One thread because the machine is shared: with two, onnxruntime's spinning thread pool ran 3–4× slower whenever other work held a core, and its timings swung from run to run.`,
  ];
}

function discussion(r) {
  const depths = [...new Set(r.rows.map((x) => x.depth))];
  const get = (d, v) => r.rows.find((x) => x.depth === d && x.variant === v);
  const range = (xs, f) => (f(Math.min(...xs)) === f(Math.max(...xs)) ? f(xs[0]) : `${f(Math.min(...xs))} … ${f(Math.max(...xs))}`);
  const pts = (x) => `${x >= 0 ? '+' : ''}${(x * 100).toFixed(2)}`;
  const ratio = (x) => `${x.toFixed(2)}×`;
  const share = (x) => `${(x * 100).toFixed(1)}%`;
  const speed = (v, b) => range(depths.map((d) => get(d, v).latencyVsFp32[b]), ratio);
  const lines = [
    `int8 static: ${range(depths.map((d) => get(d, 'int8').fileBytes / get(d, 'fp32').fileBytes), share)} of the fp32 file, top-1 ${range(depths.map((d) => get(d, 'int8').top1 - get(d, 'fp32').top1), pts)} points, batch-64 latency ${speed('int8', 'b64')} of fp32's (batch 1: ${speed('int8', 'b1')}).`,
    `int8 dynamic: top-1 ${range(depths.map((d) => get(d, 'int8-dynamic').top1 - get(d, 'fp32').top1), pts)} points, batch-64 latency ${speed('int8-dynamic', 'b64')} of fp32's (batch 1: ${speed('int8-dynamic', 'b1')}).`,
    `Pruned 50% + 1 epoch: ${range(depths.map((d) => get(d, 'pruned').params / get(d, 'fp32').params), share)} of the parameters, top-1 ${range(depths.map((d) => get(d, 'pruned').top1 - get(d, 'fp32').top1), pts)} points against the unpruned descendant (${range(depths.map((d) => get(d, 'pruned').top1 - r.extraEpoch.find((x) => x.depth === d).top1), pts)} against the unpruned one given the same extra epoch), batch-64 latency ${speed('pruned', 'b64')} of fp32's; with int8 on top ${range(depths.map((d) => get(d, 'pruned-int8').fileBytes / get(d, 'fp32').fileBytes), share)} of the fp32 file at ${speed('pruned-int8', 'b64')} of its batch-64 latency.`,
  ];
  const byImportance = (importance, key) => depths.map((d) => r.importanceRows.find((x) => x.depth === d && x.importance === importance)[key]);
  const mean = (xs) => xs.reduce((a, b) => a + b, 0) / xs.length;
  const ahead = (a, b) => a.filter((x, i) => x > b[i]).length;
  const [w, t] = [byImportance('weight', 'top1Healed'), byImportance('taylor', 'top1Healed')];
  lines.push(`Weight norms vs Taylor scores after the healing epoch: weight-norm ahead at ${ahead(w, t)} of ${depths.length} depths, mean ${pts(mean(w) - mean(t))} points; right after the cut, Taylor ahead at ${ahead(byImportance('taylor', 'top1Pruned'), byImportance('weight', 'top1Pruned'))} of ${depths.length}. The CLI's default is weight norms (no data needed).`);
  const agree = r.rows.filter((x) => x.engineTop1 !== undefined).map((x) => Math.abs(x.top1 - x.engineTop1));
  if (agree.length) lines.push(`onnxruntime and the training engine agree on the float models' top-1 to within ${(Math.max(...agree) * 100).toFixed(2)} points.`);
  const loads = r.loadAverage.atLatency.map((x) => x.load1);
  lines.push(`The machine was shared: 1-minute load average ${Math.min(...loads).toFixed(1)} … ${Math.max(...loads).toFixed(1)} on ${r.machine.cores} cores when the latencies were taken, so absolute milliseconds swing between depths (and runs); the paired per-round ratios are the numbers to read.`);
  return lines;
}

runMain(main);
