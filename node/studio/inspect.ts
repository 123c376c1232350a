// `inspect`, once for every front end: what a path is (our model, a foreign checkpoint,
// an export, a learngene or a dataset) in the one shape of shared/api.ts InspectResult.
// The CLI prints it (cli/inspect.ts formats the text), the window shows it.

import { promises as fs } from 'node:fs';
import path from 'node:path';
import sharp from 'sharp';
import type { DatasetImage, DatasetImagesRequest, InspectOptions, InspectResult, LearngeneInspection, ModelInspection, SampleImage } from '../../shared/api.js';
import { DATASET_IMAGES_SCHEMA } from '../../shared/api.js';
import { assertValid, ConfigError } from '../../shared/config.js';
import { checkValue } from '../../shared/schema.js';
import type { ImageSource } from '../../engine/data/types.js';
import { vitParamCount } from '../../shared/param-count.js';
import { decodeLearngene } from '../../engine/io/learngene-file.js';
import { learngeneParamCount } from '../../engine/sws/learngene.js';
import { inspectDataset } from '../data/inspect.js';
import { openDataset } from '../data/open.js';
import { describeModelForInspect } from '../export/index.js';
import { sha256 } from '../model-store.js';
import { LEARNGENE_FILE, learngeneBehind } from '../jobs/sws-jobs.js';

const MODEL_MARKERS = ['model.safetensors', 'model.onnx', 'model.json', 'model.safetensors.index.json', LEARNGENE_FILE];
const MODEL_EXTENSIONS = /\.(safetensors|onnx|json)$/i;
/** "sample:fashion-mnist" names the embedded sample (node/data/open.ts). */
const SAMPLE_PREFIX = /^sample:/;

export interface InspectContext {
  /** Where archives are extracted for inspection. */
  cacheDir?: string;
  /** Thumbnails per class in a dataset report. */
  samplesPerClass?: number;
}

async function statOrNull(p: string) {
  return fs.stat(p).catch(() => null);
}

/** Whether `target` looks like a model (folder with a model file, or a model-like file) rather than a dataset. */
export async function looksLikeModel(target: string): Promise<boolean> {
  const stat = await statOrNull(target);
  if (!stat) throw new Error(`${target}: no such file or folder`);
  if (stat.isFile()) return MODEL_EXTENSIONS.test(target);
  for (const marker of MODEL_MARKERS) if (await statOrNull(path.join(target, marker))) return true;
  return false;
}

function inspectLearngene(file: string, bytes: Uint8Array): LearngeneInspection {
  const { learngene, meta } = decodeLearngene(bytes, file);
  return {
    kind: 'learngene',
    path: file,
    sha256: sha256(bytes),
    learngeneKind: learngene.kind,
    stages: learngene.stages,
    config: learngene.config,
    params: learngeneParamCount(learngene),
    hasHead: learngene.tensors.has('head.weight'),
    preprocess: meta.preprocess,
    classNames: meta.classNames,
    provenance: meta.provenance,
    ...(meta.metrics ? { metrics: meta.metrics } : {}),
  };
}

async function inspectModel(target: string): Promise<ModelInspection> {
  const d = await describeModelForInspect(target);
  return {
    kind: 'model',
    path: d.path,
    artifact: d.kind,
    format: d.format,
    sha256: d.sha256,
    ...(d.config ? { config: d.config, params: vitParamCount(d.config) } : {}),
    ...(d.preprocess ? { preprocess: d.preprocess } : {}),
    ...(d.classNames ? { classNames: d.classNames } : {}),
    ...(d.provenance ? { provenance: d.provenance } : {}),
    ...(d.metrics ? { metrics: d.metrics } : {}),
    notes: d.notes,
    ...(d.onnx
      ? { onnx: { opsets: d.onnx.opsets, producer: d.onnx.producer, inputs: d.onnx.inputs, outputs: d.onnx.outputs, numClasses: d.onnx.numClasses } }
      : {}),
    ...(d.tfjs ? { tfjs: { weights: d.tfjs.weights, shards: d.tfjs.shards } } : {}),
  };
}

/** One image of a source as a PNG data URL of size × size, in its own channels. */
async function thumbnail(source: ImageSource, index: number, size: number): Promise<string> {
  const channels = source.channels === 3 ? 3 : 1;
  const pixels = await source.read([index], size, size, channels);
  const png = await sharp(Buffer.from(pixels.buffer, pixels.byteOffset, pixels.byteLength), { raw: { width: size, height: size, channels } }).png().toBuffer();
  return `data:image/png;base64,${png.toString('base64')}`;
}

/** Thumbnails of a dataset's images by index, with their labels (a confusion cell's images). */
export async function datasetImages(request: DatasetImagesRequest, options: { cacheDir?: string } = {}): Promise<DatasetImage[]> {
  assertValid(checkValue(DATASET_IMAGES_SCHEMA, request, '', 'request'));
  const dataset = await openDataset(request.dataset, options.cacheDir ? { cacheDir: options.cacheDir } : {});
  const source = request.split === 'test' ? dataset.test : dataset.train;
  if (!source) throw new ConfigError([{ field: 'split', message: `${request.dataset} has no test split` }]);
  const bad = request.indices.find((i) => i >= source.labels.length);
  if (bad !== undefined) throw new ConfigError([{ field: 'indices', message: `${request.dataset} has ${source.labels.length} ${request.split} images; index ${bad} is past the end` }]);
  const size = request.size ?? 64;
  const images: DatasetImage[] = [];
  for (const index of request.indices) {
    images.push({ index, label: source.classNames[source.labels[index]!] ?? String(source.labels[index]), dataUrl: await thumbnail(source, index, size) });
  }
  return images;
}

/** A few PNG thumbnails per class (data URLs), read through the dataset's own reader. */
export async function sampleThumbnails(target: string, perClass: number, options: { cacheDir?: string; size?: number } = {}): Promise<SampleImage[]> {
  const size = options.size ?? 48;
  const dataset = await openDataset(target, options.cacheDir ? { cacheDir: options.cacheDir } : {});
  const { train } = dataset;
  const picked: number[] = [];
  const taken = new Map<number, number>();
  for (let i = 0; i < train.labels.length && picked.length < perClass * train.classNames.length; i++) {
    const c = train.labels[i]!;
    if ((taken.get(c) ?? 0) >= perClass) continue;
    taken.set(c, (taken.get(c) ?? 0) + 1);
    picked.push(i);
  }
  const samples: SampleImage[] = [];
  // One image at a time: a corrupt file costs its own thumbnail, not the others'.
  for (const index of picked) {
    try {
      samples.push({ className: train.classNames[train.labels[index]!]!, dataUrl: await thumbnail(train, index, size) });
    } catch {
      // The report lists the file's problem.
    }
  }
  return samples;
}

async function inspectAnyDataset(target: string, context: InspectContext, withSamples: boolean): Promise<InspectResult> {
  const cache = context.cacheDir ? { cacheDir: context.cacheDir } : {};
  const report = await inspectDataset(target, cache);
  let samples: SampleImage[] = [];
  if (withSamples && report.splits.train > 0) {
    samples = await sampleThumbnails(target, context.samplesPerClass ?? 4, cache).catch(() => []);
  }
  return { kind: 'dataset', path: target, report, samples };
}

/** Describes `target` (an absolute path, or "sample:…" for the embedded dataset). */
export async function inspectPath(target: string, options: InspectOptions = {}, context: InspectContext = {}): Promise<InspectResult> {
  const withSamples = options.samples ?? true;
  if (SAMPLE_PREFIX.test(target)) return inspectAnyDataset(target, context, withSamples);
  if (!(await looksLikeModel(target))) return inspectAnyDataset(target, context, withSamples);
  const learngene = await learngeneBehind(target);
  return learngene ? inspectLearngene(learngene.file, learngene.bytes) : inspectModel(target);
}
