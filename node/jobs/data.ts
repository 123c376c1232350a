// From a DataSpec to batch loaders: resolve the dataset (given path, system
// Fashion-MNIST, or the embedded sample), filter classes, take a class-balanced subset,
// split off validation, and normalize with the model's (or freshly measured) statistics.

import type { DataSpec } from '../../shared/api.js';
import { ConfigError } from '../../shared/config.js';
import type { ImageSource, Preprocess } from '../../engine/data/types.js';
import { BatchLoader, computeChannelStats, selectIndices, splitTrainVal, subsetSource } from '../../engine/data/pipeline.js';
import { openDataset, resolveDefaultDataset } from '../data/open.js';

export interface PreparedData {
  path: string;
  origin: 'given' | 'system' | 'sample';
  format: string;
  classNames: string[];
  train: ImageSource;
  trainIndices: Int32Array;
  valIndices: Int32Array;
  test: ImageSource | null;
  testIndices: Int32Array | null;
  /** The stored image size when uniform (IDX, CIFAR), else null. */
  storedSize: number | null;
  channels: number;
  /** For provenance: what was used, readably. */
  fingerprint: { path: string; format: string; detail: string };
}

function checkClasses(spec: DataSpec, available: number, root: string): void {
  if (!spec.classes) return;
  const bad = spec.classes.find((c) => c >= available);
  if (bad !== undefined) {
    throw new ConfigError([{ field: 'data.classes', message: `class ${bad} does not exist in ${root} (it has ${available} classes: 0..${available - 1})` }]);
  }
}

export async function prepareData(spec: DataSpec, seed: number): Promise<PreparedData> {
  const resolved = await resolveDefaultDataset(spec.path);
  const dataset = await openDataset(resolved.path);
  checkClasses(spec, dataset.train.classNames.length, dataset.root);
  const train = spec.classes ? subsetSource(dataset.train, spec.classes) : dataset.train;
  const test = dataset.test && spec.classes ? subsetSource(dataset.test, spec.classes) : dataset.test;
  if (train.classNames.length < 2) {
    throw new ConfigError([{ field: 'data', message: `${dataset.root} has ${train.classNames.length} class; a classifier needs at least 2` }]);
  }
  const chosen = selectIndices(train.labels, { limit: spec.limit, seed });
  // Validation is a stratified share of the chosen subset.
  let trainIndices = chosen;
  let valIndices = new Int32Array(0);
  if (spec.valFraction > 0) {
    const subsetSplit = splitTrainVal(Int32Array.from(chosen, (i) => train.labels[i]!), spec.valFraction, seed);
    trainIndices = Int32Array.from(subsetSplit.train, (j) => chosen[j]!);
    valIndices = Int32Array.from(subsetSplit.val, (j) => chosen[j]!);
  }
  const testIndices = test ? selectIndices(test.labels, { limit: spec.testLimit, seed }) : null;
  const storedSize = train.storedSize && train.storedSize.height === train.storedSize.width ? train.storedSize.height : null;
  const detail = [
    `${train.classNames.length} classes`,
    `train ${trainIndices.length}`,
    `val ${valIndices.length}`,
    test ? `test ${testIndices!.length}` : 'no test split',
    spec.classes ? `classes ${spec.classes.join(',')}` : null,
    spec.limit ? `limit ${spec.limit}` : null,
    `seed ${seed}`,
  ].filter(Boolean).join(', ');
  return {
    path: resolved.path,
    origin: resolved.origin,
    format: dataset.format,
    classNames: [...train.classNames],
    train,
    trainIndices,
    valIndices,
    test,
    testIndices,
    storedSize,
    channels: train.channels,
    fingerprint: { path: resolved.path, format: dataset.format, detail },
  };
}

/** Normalization measured on (up to 2000 of) the training images. */
export async function measurePreprocess(data: PreparedData, imageSize: number, channels: number): Promise<Preprocess> {
  const stats = await computeChannelStats(data.train, data.trainIndices, imageSize, channels);
  return { imageSize, channels, mean: stats.mean, std: stats.std.map((s) => (s > 1e-6 ? s : 1)) };
}

export interface Loaders {
  train: BatchLoader;
  val: BatchLoader | null;
  test: BatchLoader | null;
}

export function makeLoaders(data: PreparedData, preprocess: Preprocess, spec: DataSpec, batchSize: number, seed: number): Loaders {
  const evalBatch = Math.max(batchSize, 128);
  const effectiveBatch = Math.min(batchSize, data.trainIndices.length);
  return {
    train: new BatchLoader({ source: data.train, indices: data.trainIndices, preprocess, augment: spec.augment, batchSize: effectiveBatch, seed, shuffle: true, dropLast: true }),
    val: data.valIndices.length > 0
      ? new BatchLoader({ source: data.train, indices: data.valIndices, preprocess, batchSize: evalBatch, seed, shuffle: false, dropLast: false })
      : null,
    test: data.test && data.testIndices && data.testIndices.length > 0
      ? new BatchLoader({ source: data.test, indices: data.testIndices, preprocess, batchSize: evalBatch, seed, shuffle: false, dropLast: false })
      : null,
  };
}
