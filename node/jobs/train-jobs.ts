// Jobs that train one ordinary ViT: train (from scratch) and finetune (evaluate: evaluate-job.ts).

import { ConfigError, defaultViTConfig, type ViTConfig, assertValid, validateViTConfig } from '../../shared/config.js';
import type { DataSpec, FinetuneRequest, TrainRequest } from '../../shared/api.js';
import type { EvalMetrics } from '../../shared/events.js';
import type { FinetuneResult, TrainResult } from '../../shared/results.js';

export type { FinetuneResult, TrainResult };
import type { Preprocess } from '../../engine/data/types.js';
import { sameLabelSet } from '../../engine/sws/learngene.js';
import { createViT, disposeParams, type Network, initialValue, stemParamShapes, VisionTransformer } from '../../engine/model/vit.js';
import { evaluate } from '../../engine/train/loop.js';
import type { ModelMeta, Provenance } from '../../engine/io/model-file.js';
import * as tf from '@tensorflow/tfjs-core';
import { saveModel } from '../model-store.js';
import { loadAnyModel } from '../import.js';
import { makeLoaders, measurePreprocess, prepareData, type PreparedData } from './data.js';
import { runPhase, type JobContext } from './phase.js';

export function countNetworkParams(network: Network): number {
  let total = 0;
  for (const v of network.params.values()) total += v.size;
  return total;
}

/** The ViT config of a new model: explicit fields, then the data's image size/channels/classes, then defaults. */
export function resolveModelConfig(partial: Partial<ViTConfig>, data: PreparedData): ViTConfig {
  const config = defaultViTConfig({
    imageSize: data.storedSize ?? 32,
    channels: data.channels,
    ...partial,
    numClasses: data.classNames.length,
  });
  assertValid(validateViTConfig(config, 'model.'));
  return config;
}

export function datasetInput(data: PreparedData): Provenance['inputs'] {
  return { dataset: { path: data.fingerprint.path, format: data.fingerprint.format, detail: data.fingerprint.detail } };
}

/** A few class names for a message. */
function preview(names: readonly string[]): string {
  return names.length <= 6 ? names.join(', ') : `${names.slice(0, 5).join(', ')} … (${names.length})`;
}

/** Checks that a model's label set matches the data's. */
export function assertClassesMatch(modelClasses: number, data: PreparedData, what: string): void {
  if (modelClasses !== data.classNames.length) {
    throw new ConfigError([{
      field: 'data',
      message: `${what} predicts ${modelClasses} classes but ${data.path} has ${data.classNames.length}${data.classNames.length <= 12 ? ` (${data.classNames.join(', ')})` : ''}`,
    }]);
  }
}

async function finalMetrics(network: Network, loaders: ReturnType<typeof makeLoaders>): Promise<{ val: EvalMetrics | null; test: EvalMetrics | null }> {
  return {
    val: loaders.val ? await evaluate(network, loaders.val) : null,
    test: loaders.test ? await evaluate(network, loaders.test) : null,
  };
}

function summarize(metrics: { val: EvalMetrics | null; test: EvalMetrics | null }): Record<string, unknown> {
  return { val: metrics.val, test: metrics.test };
}

export async function runTrain(request: TrainRequest, ctx: JobContext): Promise<TrainResult> {
  const data = await prepareData(request.data, request.seed);
  const config = resolveModelConfig(request.model, data);
  const preprocess = await measurePreprocess(data, config.imageSize, config.channels);
  const loaders = makeLoaders(data, preprocess, request.data, request.optim.batchSize, request.seed);
  const network = createViT(config, request.seed);
  try {
    ctx.emit({ type: 'log', level: 'info', message: `training a ViT (depth ${config.depth}, dim ${config.dim}, ${countNetworkParams(network).toLocaleString('en-US')} parameters) on ${data.fingerprint.detail}` });
    const phase = await runPhase(ctx, 'train', { network, train: loaders.train, val: loaders.val, optim: request.optim, seed: request.seed });
    const metrics = await finalMetrics(network, loaders);
    const meta: ModelMeta = {
      config,
      preprocess,
      classNames: data.classNames,
      provenance: {
        createdBy: 'train',
        createdAt: new Date().toISOString(),
        inputs: datasetInput(data),
        details: { seed: request.seed, optim: request.optim, augment: request.data.augment },
      },
      metrics: summarize(metrics),
    };
    const file = await saveModel(request.out, network, meta);
    return { kind: 'train', out: request.out, file, config, params: countNetworkParams(network), history: phase.history, ...metrics };
  } finally {
    disposeParams(network.params);
  }
}

/** Replaces the head with a fresh one for a new label set (seeded, timm init). */
export function resetHead(network: Network, numClasses: number, seed: number): VisionTransformer {
  const config = { ...network.config, numClasses };
  const shapes = stemParamShapes(config);
  const patchFanIn = config.channels * config.patchSize * config.patchSize;
  for (const name of ['head.weight', 'head.bias']) {
    network.params.get(name)?.dispose();
    network.params.set(name, tf.variable(tf.tensor(initialValue(name, shapes.get(name)!, seed, patchFanIn), shapes.get(name)!), true));
  }
  return new VisionTransformer(config, network.params);
}

/** Data prepared with a model's own preprocessing (size, channels, normalization). */
export async function dataForModel(spec: DataSpec, seed: number, preprocess: Preprocess, batchSize: number) {
  const data = await prepareData(spec, seed);
  return { data, loaders: makeLoaders(data, preprocess, spec, batchSize, seed) };
}

export async function runFinetune(request: FinetuneRequest, ctx: JobContext): Promise<FinetuneResult> {
  const source = await loadAnyModel(request.model);
  let network: Network = source.network;
  try {
    const { data, loaders } = await dataForModel(request.data, request.seed, source.meta.preprocess, request.optim.batchSize);
    // The head is kept only for the same label set: the same names in the same order (not just the same count).
    const headReset = !sameLabelSet(source.meta.classNames, data.classNames);
    if (headReset) {
      network = resetHead(network, data.classNames.length, request.seed);
      ctx.emit({ type: 'log', level: 'info', message: `new label set (${data.classNames.length} classes: ${preview(data.classNames)}, the model had ${preview(source.meta.classNames)}): the head starts fresh` });
    }
    const phase = await runPhase(ctx, 'finetune', { network, train: loaders.train, val: loaders.val, optim: request.optim, seed: request.seed });
    const metrics = await finalMetrics(network, loaders);
    const meta: ModelMeta = {
      config: network.config,
      preprocess: source.meta.preprocess,
      classNames: data.classNames,
      provenance: {
        createdBy: 'finetune',
        createdAt: new Date().toISOString(),
        inputs: { ...datasetInput(data), model: { path: source.file, sha256: source.sha256 } },
        details: { seed: request.seed, optim: request.optim, headReset, parent: source.meta.provenance },
      },
      metrics: summarize(metrics),
    };
    const file = await saveModel(request.out, network, meta);
    return { kind: 'finetune', out: request.out, file, config: network.config, params: countNetworkParams(network), history: phase.history, headReset, ...metrics };
  } finally {
    disposeParams(network.params);
  }
}
