// `learngene prune`: structured pruning of a model or a learngene (engine/model/prune.ts).
// A pruned model is an ordinary, smaller ViT: `finetune` heals it and every export path
// takes it. A pruned learngene passes its smaller blocks to every descendant grown from it.

import { DEFAULT_DATA, type PruneRequest } from '../../shared/api.js';
import { ConfigError, mlpHidden, type ViTConfig } from '../../shared/config.js';
import type { PruneResult } from '../../shared/results.js';
import type { Batch } from '../../engine/data/types.js';
import type { ModelMeta, Provenance } from '../../engine/io/model-file.js';
import type { TensorMap } from '../../engine/io/safetensors.js';
import { keptCount, pruneBlocks, taylorScores, vitBlockGroups, weightNormScores, type GroupScores } from '../../engine/model/prune.js';
import { disposeParams, paramsFromTensors, tensorsFromParams, VisionTransformer, vitParamShapes, type Network } from '../../engine/model/vit.js';
import { AuxNet, auxParamShapes, stagePrefix, TLEG_A, TLEG_B } from '../../engine/sws/auxnet.js';
import { learngeneParamCount } from '../../engine/sws/learngene.js';
import { countParams } from '../../engine/model/params.js';
import { loadAnyModel } from '../import.js';
import { saveModel } from '../model-store.js';
import type { JobContext } from './phase.js';
import { loadLearngene, saveLearngene } from './sws-jobs.js';
import { assertClassesMatch, dataForModel, datasetInput } from './train-jobs.js';
import type { Preprocess } from '../../engine/data/types.js';

export type { PruneResult };

const TAYLOR_BATCH = 64;
const DEFAULT_TAYLOR_BATCHES = 8;

/** Heads and units kept per block, checked against the model (one ConfigError naming the field). */
function keepCounts(request: PruneRequest, config: ViTConfig): { heads: number; units: number } {
  const owner = request.learngene !== undefined ? 'learngene' : 'model';
  return {
    heads: keptCount(request.headsKeep, config.heads, 'headsKeep', 'heads', owner),
    units: keptCount(request.mlpKeep, mlpHidden(config), 'mlpKeep', 'MLP units', owner),
  };
}

/** Taylor scores of `network` on training batches of the request's data (with the model's preprocessing). */
async function taylorOn(request: PruneRequest, network: Network, preprocess: Preprocess, groups: string[][], ctx: JobContext): Promise<{ scores: GroupScores[]; inputs: Provenance['inputs'] }> {
  const { data, loaders } = await dataForModel(request.data ?? DEFAULT_DATA, request.seed, preprocess, TAYLOR_BATCH);
  assertClassesMatch(network.config.numClasses, data, request.model ?? request.learngene ?? 'the model');
  const batches = Math.min(request.batches ?? DEFAULT_TAYLOR_BATCHES, loaders.train.stepsPerEpoch);
  ctx.emit({ type: 'log', level: 'info', message: `Taylor importance on ${batches} batch(es) of ${loaders.train.batchSize} images of ${data.path}` });
  async function* take(): AsyncGenerator<Batch> {
    for (let step = 0; step < batches; step++) yield loaders.train.batch(0, step);
  }
  return { scores: await taylorScores(network, groups, take()), inputs: datasetInput(data) };
}

function provenance(request: PruneRequest, keep: { heads: number; units: number }, kept: PruneResult['kept'], source: { path: string; sha256: string; format?: string }, parent: Provenance, extraInputs: Provenance['inputs']): Provenance {
  return {
    createdBy: 'prune',
    createdAt: new Date().toISOString(),
    inputs: { ...extraInputs, [request.learngene ? 'learngene' : 'model']: source },
    details: { importance: request.importance, headsKeep: request.headsKeep, mlpKeep: request.mlpKeep, heads: keep.heads, mlpUnits: keep.units, kept, seed: request.seed, parent },
  };
}

async function pruneModel(request: PruneRequest, ctx: JobContext): Promise<PruneResult> {
  const source = await loadAnyModel(request.model!);
  let pruned: VisionTransformer | null = null;
  try {
    const { config } = source.network;
    const keep = keepCounts(request, config);
    const groups = vitBlockGroups(config);
    const before = tensorsFromParams(source.network.params);
    const taylor = request.importance === 'taylor' ? await taylorOn(request, source.network, source.meta.preprocess, groups, ctx) : null;
    const scores = taylor?.scores ?? weightNormScores(config, before, groups);
    const result = pruneBlocks(config, before, groups, scores, keep);
    pruned = new VisionTransformer(result.config, paramsFromTensors(result.tensors, vitParamShapes(result.config), source.file));
    const meta: ModelMeta = {
      config: result.config,
      preprocess: source.meta.preprocess,
      classNames: source.meta.classNames,
      // The source's metrics describe the unpruned model: none are carried over.
      provenance: provenance(request, keep, result.kept, { path: source.file, sha256: source.sha256 }, source.meta.provenance, taylor?.inputs),
    };
    const file = await saveModel(request.out, pruned, meta);
    return summary(request, 'model', file, config, result.config, keep, result.kept, countParams(before.values()), countParams(result.tensors.values()));
  } finally {
    disposeParams(source.network.params);
    if (pruned) disposeParams(pruned.params);
  }
}

/** The Aux-Net a learngene came from, as far as Taylor needs it (stem, blocks, final norm, head). */
function auxNetFor(learngene: Awaited<ReturnType<typeof loadLearngene>>['learngene'], file: string): AuxNet {
  const { config, tensors } = learngene;
  if (!tensors.has('head.weight')) {
    throw new ConfigError([{ field: 'importance', message: `${file} was distilled without its head (--no-head), so there is no loss to take a Taylor score of; use --importance weight` }]);
  }
  const renamed: TensorMap = new Map(tensors);
  if (config.pooling === 'avg') {
    // The learngene stores the final norm as `norm.*` whatever the pooling.
    renamed.set('fc_norm.weight', tensors.get('norm.weight')!);
    renamed.set('fc_norm.bias', tensors.get('norm.bias')!);
    renamed.delete('norm.weight');
    renamed.delete('norm.bias');
  }
  const aux = { kind: learngene.kind, vit: config, stages: learngene.stages };
  return new AuxNet(aux, paramsFromTensors(renamed, auxParamShapes(aux), file));
}

async function pruneLearngene(request: PruneRequest, ctx: JobContext): Promise<PruneResult> {
  const loaded = await loadLearngene(request.learngene!);
  const { learngene } = loaded;
  const keep = keepCounts(request, learngene.config);
  const groups = learngene.kind === 'sws' ? learngene.stages.map((_, s) => [stagePrefix(s)]) : [[TLEG_A, TLEG_B]];
  let scores: GroupScores[];
  let inputs: Provenance['inputs'];
  if (request.importance === 'taylor') {
    const net = auxNetFor(learngene, loaded.file);
    try {
      ({ scores, inputs } = await taylorOn(request, net, loaded.meta.preprocess, groups, ctx));
    } finally {
      disposeParams(net.params);
    }
  } else {
    scores = weightNormScores(learngene.config, learngene.tensors, groups);
  }
  const result = pruneBlocks(learngene.config, learngene.tensors, groups, scores, keep);
  const prunedLearngene = { ...learngene, config: result.config, tensors: result.tensors };
  const meta = {
    preprocess: loaded.meta.preprocess,
    classNames: loaded.meta.classNames,
    provenance: provenance(request, keep, result.kept, { path: loaded.file, sha256: loaded.sha256, format: `learngene-${learngene.kind}` }, loaded.meta.provenance, inputs),
  };
  const file = await saveLearngene(request.out, prunedLearngene, meta);
  return summary(request, 'learngene', file, learngene.config, result.config, keep, result.kept, learngeneParamCount(learngene), learngeneParamCount(prunedLearngene));
}

function summary(request: PruneRequest, pruned: PruneResult['pruned'], file: string, before: ViTConfig, after: ViTConfig, keep: { heads: number; units: number }, kept: PruneResult['kept'], paramsBefore: number, paramsAfter: number): PruneResult {
  return {
    kind: 'prune',
    out: request.out,
    file,
    pruned,
    config: after,
    importance: request.importance,
    heads: { before: before.heads, after: keep.heads },
    mlpUnits: { before: mlpHidden(before), after: keep.units },
    params: { before: paramsBefore, after: paramsAfter },
    kept,
  };
}

export async function runPrune(request: PruneRequest, ctx: JobContext): Promise<PruneResult> {
  return request.learngene !== undefined ? pruneLearngene(request, ctx) : pruneModel(request, ctx);
}
