// `predict`: a model's top-k classes for images. A model (ours, a foreign checkpoint, a
// learngene's Aux-Net) runs as the same inference graph its ONNX export writes, in
// onnxruntime, with its preprocess and class names in that graph's metadata; an ONNX file
// runs as it is. Image files are decoded with sharp exactly as folder datasets are read
// for training (EXIF rotation, stretched to the model's size, converted to its channels:
// a color image for a grayscale model and the reverse); dataset images by index come
// through the dataset's own reader. Then the model's normalization, softmax, top-k.
// Sessions are kept per model file (and its modification time), so a window asking again
// does not rebuild them.

import { promises as fs } from 'node:fs';
import path from 'node:path';
import type { DatasetImageRef, ImageRef, PredictRequest, PredictResult } from '../shared/api.js';
import { PREDICT_SCHEMA } from '../shared/api.js';
import { assertValid, ConfigError } from '../shared/config.js';
import { checkValue } from '../shared/schema.js';
import { convertImages, type PixelFormat } from '../engine/data/convert.js';
import { buildInferenceGraph } from '../engine/export/graph.js';
import { softmaxRow } from '../engine/train/evaluation.js';
import { decodeImageFile } from './data/folder.js';
import { openDataset } from './data/open.js';
import { readEvaluable } from './evaluable.js';
import { encodeOnnx } from './export/onnx.js';
import { OnnxClassifier, ONNX_METADATA_PREFIX } from './onnx-teacher.js';

export const DEFAULT_TOP = 5;
/** Models kept loaded at once (a studio compares a handful of descendants). */
const MAX_MODELS = 8;

/** How an image is named in results. */
export function imageName(image: ImageRef): string {
  return typeof image === 'string' ? image : `${image.dataset}#${image.split}/${image.index}`;
}

async function isOnnx(modelPath: string): Promise<string | null> {
  if (/\.onnx$/i.test(modelPath)) return modelPath;
  const inFolder = path.join(modelPath, 'model.onnx');
  return (await fs.stat(inFolder).catch(() => null))?.isFile() ? inFolder : null;
}

/** The classifier of a model path: an ONNX file as it is, anything else through our inference graph. */
async function loadClassifier(modelPath: string): Promise<OnnxClassifier> {
  const onnx = await isOnnx(modelPath);
  if (onnx) return OnnxClassifier.load(onnx);
  const source = await readEvaluable(modelPath);
  const { config, preprocess, classNames } = source.meta;
  const metadata = {
    [`${ONNX_METADATA_PREFIX}config`]: JSON.stringify(config),
    [`${ONNX_METADATA_PREFIX}preprocess`]: JSON.stringify(preprocess),
    [`${ONNX_METADATA_PREFIX}classNames`]: JSON.stringify(classNames),
  };
  const bytes = encodeOnnx(buildInferenceGraph(config, source.storage), { metadata });
  return OnnxClassifier.load({ bytes, path: source.file });
}

export interface PredictorOptions {
  /** Where dataset archives are extracted when an image is read from one. */
  cacheDir?: string;
}

export class Predictor {
  private readonly models = new Map<string, { stamp: string; classifier: Promise<OnnxClassifier> }>();

  constructor(private readonly options: PredictorOptions = {}) {}

  async predict(request: PredictRequest): Promise<PredictResult> {
    assertValid(checkValue(PREDICT_SCHEMA, request, '', 'request'));
    const classifier = await this.classifier(request.model);
    const top = Math.min(request.top ?? DEFAULT_TOP, classifier.numClasses);
    const { format } = classifier;
    const predictions = [];
    for (const image of request.images) {
      const pixels = await this.readImage(image, format);
      const logits = await classifier.run(pixels, 1);
      const probabilities = softmaxRow(logits);
      const order = Array.from(probabilities.keys()).sort((a, b) => probabilities[b]! - probabilities[a]! || a - b).slice(0, top);
      predictions.push({
        image: imageName(image),
        top: order.map((index) => ({ label: classifier.classNames[index] ?? String(index), index, probability: probabilities[index]! })),
      });
    }
    return { model: request.model, classNames: classifier.classNames, imageSize: format.height, channels: format.channels, predictions };
  }

  /** One image in the model's own pixel format (size, channels, layout, normalization). */
  private async readImage(image: ImageRef, format: PixelFormat): Promise<Float32Array> {
    const { height, width, channels } = format;
    const bytes = typeof image === 'string' ? await decodeImageFile(image, height, width, channels) : await this.readDatasetImage(image, height, width, channels);
    // [0,1] pixels, NHWC, then the model's layout and normalization.
    const raw = Float32Array.from(bytes, (v) => v / 255);
    const from: PixelFormat = { height, width, channels, layout: 'NHWC', mean: new Array(channels).fill(0), std: new Array(channels).fill(1) };
    return convertImages(raw, 1, from, format);
  }

  private async readDatasetImage(ref: DatasetImageRef, height: number, width: number, channels: number): Promise<Uint8Array> {
    const dataset = await openDataset(ref.dataset, this.options.cacheDir ? { cacheDir: this.options.cacheDir } : {});
    const source = ref.split === 'test' ? dataset.test : dataset.train;
    if (!source) throw new ConfigError([{ field: 'images', message: `${ref.dataset} has no test split` }]);
    if (ref.index >= source.labels.length) {
      throw new ConfigError([{ field: 'images', message: `${ref.dataset} has ${source.labels.length} ${ref.split} images; index ${ref.index} is past the end` }]);
    }
    return source.read([ref.index], height, width, channels);
  }

  private async classifier(modelPath: string): Promise<OnnxClassifier> {
    const stat = await fs.stat(modelPath).catch(() => null);
    if (!stat) throw new ConfigError([{ field: 'model', message: `${modelPath} does not exist` }]);
    const stamp = `${stat.mtimeMs}:${stat.size}`;
    const kept = this.models.get(modelPath);
    if (kept && kept.stamp === stamp) return kept.classifier;
    if (kept) void kept.classifier.then((c) => c.dispose(), () => undefined);
    const classifier = loadClassifier(modelPath);
    this.models.delete(modelPath);
    this.models.set(modelPath, { stamp, classifier });
    classifier.catch(() => this.models.get(modelPath)?.classifier === classifier && this.models.delete(modelPath));
    while (this.models.size > MAX_MODELS) {
      const [oldest, entry] = this.models.entries().next().value!;
      this.models.delete(oldest);
      void entry.classifier.then((c) => c.dispose(), () => undefined);
    }
    return classifier;
  }

  async dispose(): Promise<void> {
    const all = [...this.models.values()];
    this.models.clear();
    await Promise.all(all.map((m) => m.classifier.then((c) => c.dispose(), () => undefined)));
  }
}
