// Descendants side by side: for each depth, fine-tune an SWS-initialized Des-Net and the
// baselines (scratch, TLEG, teacher-copy) with the same data, epochs, batch and schedule,
// recording test top-1 after the first epoch and at the end. Scratch gets the best of
// several learning rates, so the comparison never rests on a tuned-down baseline.
// `learngene demo` runs the whole story: teacher → learngene(s) → this comparison.

import path from 'node:path';
import type { BaselineMethod, CompareMethod, CompareRequest, DemoRequest, DistillRequest, TrainRequest } from '../../shared/api.js';
import { ConfigError, DEFAULT_OPTIM, type OptimConfig, type ViTConfig } from '../../shared/config.js';
import type { Preprocess } from '../../engine/data/types.js';
import type { CompareResult, CompareRow, DemoResult } from '../../shared/results.js';

export type { CompareResult, CompareRow, DemoResult };
import { createViT, disposeParams, paramsFromTensors, tensorsFromParams, VisionTransformer, vitParamShapes, type Params } from '../../engine/model/vit.js';
import { teacherCopyTensors, learngeneParamCount, sameLabelSet } from '../../engine/sws/learngene.js';
import { descendantConfig } from '../../engine/sws/learngene.js';
import type { ModelMeta } from '../../engine/io/model-file.js';
import { saveModel } from '../model-store.js';
import { loadAnyModel } from '../import.js';
import { writeJsonAtomic, writeFileAtomic } from '../fs/atomic.js';
import { makeLoaders, prepareData } from './data.js';
import { runPhase, type JobContext } from './phase.js';
import { countNetworkParams, datasetInput, resetHead, runTrain } from './train-jobs.js';
import { growNetwork, loadLearngene, runDistill, type LoadedLearngene } from './sws-jobs.js';

/** Scratch learning rates when none are given: the request's lr and double it. */
export function defaultScratchLrs(optim: OptimConfig): number[] {
  return [optim.lr, optim.lr * 2];
}

function pct(x: number): string {
  return `${(x * 100).toFixed(2)}%`;
}

export function formatCompareTable(rows: CompareRow[], epochs: number): string {
  const header = ['depth', 'params', 'method', 'top-1 after 1 epoch', `top-1 after ${epochs}`];
  const body = rows.map((r) => [String(r.depth), r.params.toLocaleString('en-US'), r.method + (r.method === 'scratch' && r.lrsTried && r.lrsTried.length > 1 ? ` (best lr ${r.lr})` : ''), pct(r.top1_1ep), pct(r.top1_final)]);
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((row) => row[i]!.length)));
  const line = (cells: string[]) => `| ${cells.map((c, i) => c.padEnd(widths[i]!)).join(' | ')} |`;
  return [line(header), `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`, ...body.map(line)].join('\n');
}

export interface CompareInputs {
  sws: LoadedLearngene;
  tleg: LoadedLearngene | null;
  teacher: { config: ViTConfig; params: Params; classNames: string[] } | null;
  /** The class names of the data the descendants are fine-tuned on. */
  classNames: string[];
}

/** The initial network of a method at a depth. */
export function initialNetwork(method: CompareMethod, depth: number, numClasses: number, seed: number, inputs: CompareInputs): { network: VisionTransformer; layersSource?: number[]; head: 'inherited' | 'fresh' } {
  // A head is inherited only when its source has one for the same label set; otherwise
  // it starts fresh (the same seeded init as a grown descendant's fresh head).
  const withHead = (network: VisionTransformer, inherited: boolean, sourceClasses: readonly string[]) =>
    inherited && sameLabelSet(sourceClasses, inputs.classNames)
      ? { network, head: 'inherited' as const }
      : { network: inherited ? resetHead(network, numClasses, seed) : network, head: 'fresh' as const };
  switch (method) {
    case 'sws': {
      const { network, grown } = growNetwork(inputs.sws, depth, numClasses, seed);
      return { ...withHead(network, grown.headFrom === 'learngene', inputs.sws.meta.classNames), layersSource: grown.layersSource };
    }
    case 'tleg': {
      if (!inputs.tleg) throw new ConfigError([{ field: 'tlegLearngene', message: 'the tleg baseline needs a TLEG learngene' }]);
      const { network, grown } = growNetwork(inputs.tleg, depth, numClasses, seed);
      return withHead(network, grown.headFrom === 'learngene', inputs.tleg.meta.classNames);
    }
    case 'teacher-copy': {
      if (!inputs.teacher) throw new ConfigError([{ field: 'teacher', message: 'the teacher-copy baseline needs --teacher' }]);
      const teacherTensors = tensorsFromParams(inputs.teacher.params);
      const { config, tensors } = teacherCopyTensors(inputs.teacher.config, teacherTensors, depth, numClasses, seed);
      const network = new VisionTransformer(config, paramsFromTensors(tensors, vitParamShapes(config), 'teacher'));
      return withHead(network, inputs.teacher.config.numClasses === numClasses, inputs.teacher.classNames);
    }
    case 'scratch': {
      // Same architecture as the SWS descendant, timm initialization.
      return { network: createViT(descendantConfig(inputs.sws.learngene.config, depth, numClasses), seed), head: 'fresh' };
    }
  }
}

export interface CompareRunOptions {
  /** Label of the rows (e.g. "same-labels" or "transfer"). */
  setting?: string;
  /** Phase-name prefix, so several comparisons can share one run folder. */
  phasePrefix?: string;
  /** Save each fine-tuned descendant under <out>/descendants/<method>-d<depth>/. */
  saveModels?: boolean;
}

export async function runCompare(request: CompareRequest, ctx: JobContext, options: CompareRunOptions = {}): Promise<CompareResult> {
  const sws = await loadLearngene(request.learngene);
  if (sws.learngene.kind !== 'sws') throw new ConfigError([{ field: 'learngene', message: `${sws.file} is a ${sws.learngene.kind.toUpperCase()} learngene; compare starts from an SWS one (pass TLEG with --tleg-learngene)` }]);
  const tleg = request.baselines.includes('tleg') && request.tlegLearngene ? await loadLearngene(request.tlegLearngene) : null;
  if (request.baselines.includes('tleg') && !tleg) {
    throw new ConfigError([{ field: 'tlegLearngene', message: 'the tleg baseline needs --tleg-learngene (distil one with: learngene distill --aux tleg --stages 12 ...)' }]);
  }
  const teacherModel = request.baselines.includes('teacher-copy') && request.teacher ? await loadAnyModel(request.teacher) : null;
  const preprocess: Preprocess = sws.meta.preprocess;
  const data = await prepareData(request.data, request.seed);
  const loaders = makeLoaders(data, preprocess, request.data, request.optim.batchSize, request.seed);
  const evalLoader = loaders.test ?? loaders.val;
  if (!evalLoader) throw new ConfigError([{ field: 'data', message: `${data.path} has no test split and --val-fraction is 0: nothing to evaluate on` }]);
  if (teacherModel) {
    const t = teacherModel.network.config;
    const s = sws.learngene.config;
    if (t.dim !== s.dim || t.patchSize !== s.patchSize || t.imageSize !== s.imageSize || t.channels !== s.channels || t.pooling !== s.pooling) {
      throw new ConfigError([{ field: 'teacher', message: `teacher-copy needs the teacher's width, patch, image size and pooling to match the learngene's (teacher dim ${t.dim} patch ${t.patchSize} ${t.pooling}; learngene dim ${s.dim} patch ${s.patchSize} ${s.pooling})` }]);
    }
  }
  const inputs: CompareInputs = {
    sws,
    tleg,
    teacher: teacherModel ? { config: teacherModel.network.config, params: teacherModel.network.params, classNames: teacherModel.meta.classNames } : null,
    classNames: data.classNames,
  };
  const numClasses = data.classNames.length;
  const methods: CompareMethod[] = ['sws', ...request.baselines.filter((b, i, all) => all.indexOf(b) === i)];
  const rows: CompareRow[] = [];
  const prefix = options.phasePrefix ?? '';
  try {
    for (const depth of request.depths) {
      for (const method of methods) {
        const lrs = method === 'scratch' ? request.scratchLrs ?? defaultScratchLrs(request.optim) : [request.optim.lr];
        const tried: { lr: number; top1_1ep: number; top1_final: number; top5_final: number; top1ByEpoch: number[]; head: 'inherited' | 'fresh'; seconds: number; layersSource?: number[]; params: number; network: VisionTransformer }[] = [];
        for (const lr of lrs) {
          const { network, layersSource, head } = initialNetwork(method, depth, numClasses, request.seed, inputs);
          const phaseName = `${prefix}${method}-d${depth}${lrs.length > 1 ? `-lr${lr}` : ''}`;
          const phase = await runPhase(ctx, phaseName, { network, train: loaders.train, val: evalLoader, optim: { ...request.optim, lr }, seed: request.seed });
          const first = phase.history[0]?.val;
          const last = phase.history.at(-1)?.val;
          if (!first || !last) throw new Error(`${phaseName}: no evaluation recorded`);
          const top1ByEpoch = phase.history.map((record) => record.val?.top1 ?? NaN);
          tried.push({ lr, top1_1ep: first.top1, top1_final: last.top1, top5_final: last.top5, top1ByEpoch, head, seconds: phase.history.reduce((a, r) => a + r.seconds, 0), layersSource, params: countNetworkParams(network), network });
          ctx.emit({ type: 'metric', phase: phaseName, name: 'top1', value: last.top1 });
        }
        const best = tried.reduce((a, b) => (b.top1_final > a.top1_final ? b : a));
        rows.push({
          setting: options.setting ?? 'same-labels',
          depth,
          method,
          params: best.params,
          top1_1ep: best.top1_1ep,
          top1_final: best.top1_final,
          top5_final: best.top5_final,
          top1ByEpoch: best.top1ByEpoch,
          head: best.head,
          lr: best.lr,
          epochs: request.optim.epochs,
          ...(tried.length > 1 ? { lrsTried: tried.map(({ lr, top1_1ep, top1_final }) => ({ lr, top1_1ep, top1_final })) } : {}),
          ...(best.layersSource ? { layersSource: best.layersSource } : {}),
          seconds: tried.reduce((a, t) => a + t.seconds, 0),
          imagesSeen: loaders.train.imagesPerEpoch * request.optim.epochs * tried.length,
        });
        if (options.saveModels && request.out) {
          const meta: ModelMeta = {
            config: best.network.config,
            preprocess,
            classNames: data.classNames,
            provenance: {
              createdBy: `compare:${method}`,
              createdAt: new Date().toISOString(),
              inputs: { ...datasetInput(data), learngene: { path: sws.file, sha256: sws.sha256 } },
              details: { depth, method, lr: best.lr, epochs: request.optim.epochs, layersSource: best.layersSource },
            },
            metrics: { top1_1ep: best.top1_1ep, top1_final: best.top1_final },
          };
          await saveModel(path.join(request.out, 'descendants', `${method}-d${depth}`), best.network, meta);
        }
        for (const t of tried) disposeParams(t.network.params);
      }
    }
  } finally {
    if (teacherModel) disposeParams(teacherModel.network.params);
  }
  const learngeneParams = learngeneParamCount(sws.learngene);
  const separateParams = rows.filter((r) => r.method === 'sws').reduce((a, r) => a + r.params, 0);
  const result: CompareResult = {
    kind: 'compare',
    rows,
    evaluatedOn: loaders.test ? 'test' : 'val',
    evalImages: evalLoader.indices.length,
    learngeneParams,
    separateParams,
    storedParamsRatio: separateParams / learngeneParams,
    table: formatCompareTable(rows, request.optim.epochs),
    ...(request.out ? { out: request.out } : {}),
  };
  if (request.out) await writeJsonAtomic(path.join(request.out, 'compare.json'), result);
  return result;
}

/** Sizes of the demo; `quick` fits the test suite and a first look (≤ 3 minutes). */
export function demoPlan(quick: boolean) {
  return quick
    ? {
        limit: 2000, testLimit: 500,
        teacher: { depth: 4, dim: 64, heads: 4, patchSize: 7, epochs: 2 },
        stages: [1, 1, 1, 1], auxEpochs: 2,
        depths: [2, 4], descendantEpochs: 1,
        baselines: ['scratch'] as BaselineMethod[],
      }
    : {
        limit: 6000, testLimit: 2000,
        teacher: { depth: 6, dim: 64, heads: 4, patchSize: 7, epochs: 6 },
        stages: [2, 2, 2, 2], auxEpochs: 4,
        depths: [2, 3, 4, 6], descendantEpochs: 3,
        baselines: ['scratch', 'teacher-copy'] as BaselineMethod[],
      };
}

export async function runDemo(request: DemoRequest, ctx: JobContext): Promise<DemoResult> {
  const started = Date.now();
  const plan = demoPlan(request.quick);
  const data = { ...request.data, limit: request.data.limit ?? plan.limit, testLimit: request.data.testLimit ?? plan.testLimit };
  const out = request.out;
  const log = (message: string) => ctx.emit({ type: 'log', level: 'info', message });

  log(`demo 1/3: training a teacher ViT (depth ${plan.teacher.depth}, dim ${plan.teacher.dim}) for ${plan.teacher.epochs} epochs`);
  const trainRequest: TrainRequest = {
    kind: 'train', data, out: path.join(out, 'teacher'), seed: request.seed,
    model: { depth: plan.teacher.depth, dim: plan.teacher.dim, heads: plan.teacher.heads, patchSize: plan.teacher.patchSize },
    optim: { ...DEFAULT_OPTIM, epochs: plan.teacher.epochs, batchSize: 32, lr: 2e-3, warmupEpochs: 0.3 },
  };
  const teacher = await runTrain(trainRequest, ctx);

  log(`demo 2/3: distilling an SWS learngene (Aux-Net stages ${plan.stages.join(',')}) from the teacher`);
  const distillRequest: DistillRequest = {
    kind: 'distill', teacher: teacher.out, data, out: path.join(out, 'learngene'), auxKind: 'sws', stages: plan.stages,
    aux: {}, distill: { alpha: 1, tau: 1 }, optim: { ...DEFAULT_OPTIM, epochs: plan.auxEpochs, batchSize: 32, lr: 2e-3, warmupEpochs: 0.3 },
    seed: request.seed, keepHead: true,
  };
  const distilled = await runDistill(distillRequest, ctx);

  log(`demo 3/3: fine-tuning descendants of depth ${plan.depths.join(', ')} (SWS vs ${plan.baselines.join(', ')}) for ${plan.descendantEpochs} epoch(s) each`);
  const compareRequest: CompareRequest = {
    kind: 'compare', learngene: distilled.out, teacher: teacher.out, data, depths: plan.depths, baselines: plan.baselines,
    optim: { ...DEFAULT_OPTIM, epochs: plan.descendantEpochs, batchSize: 32, lr: 1e-3, warmupEpochs: 0.2 },
    scratchLrs: [1e-3, 2e-3], seed: request.seed, out,
  };
  const compared = await runCompare(compareRequest, ctx, { saveModels: true });
  const storedParams = { learngene: compared.learngeneParams, separate: compared.separateParams, ratio: compared.storedParamsRatio, sizes: plan.depths.length };
  const report = [
    `Teacher: ${teacher.params.toLocaleString('en-US')} parameters, test top-1 ${teacher.test ? pct(teacher.test.top1) : '—'}`,
    `SWS learngene: ${distilled.learngeneParams.toLocaleString('en-US')} parameters (stages ${distilled.stages.join(',')}), Aux-Net test top-1 ${distilled.test ? pct(distilled.test.top1) : '—'}`,
    '',
    compared.table,
    '',
    `Stored parameters: one learngene ${storedParams.learngene.toLocaleString('en-US')} vs ${storedParams.sizes} descendants stored separately ${storedParams.separate.toLocaleString('en-US')} (${storedParams.ratio.toFixed(1)}×)`,
    `Evaluated on ${compared.evalImages} ${compared.evaluatedOn} images; outputs in ${out}`,
  ].join('\n');
  const result: DemoResult = {
    kind: 'demo',
    out,
    teacher: { file: teacher.file, test: teacher.test?.top1 ?? null, params: teacher.params },
    learngene: { file: distilled.file, params: distilled.learngeneParams, auxTest: distilled.test?.top1 ?? null, stages: distilled.stages },
    compare: compared,
    storedParams,
    report,
    seconds: (Date.now() - started) / 1000,
  };
  await writeJsonAtomic(path.join(out, 'demo.json'), result);
  await writeFileAtomic(path.join(out, 'demo.md'), `# learngene demo\n\n${report}\n`);
  return result;
}
