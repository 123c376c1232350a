// Calibration of a static int8 export: run the float model in onnxruntime on N training
// images, read every quantized MatMul's input, and turn what it saw into a range per
// tensor, by MinMax (the extremes) or by percentile (both tails clipped at 1 − p, so a
// few outliers do not widen the uint8 steps for every other value). With method 'auto'
// both are built and the one with the higher top-1 on held-out images of the same
// dataset is kept (ties: MinMax).

import * as ort from 'onnxruntime-node';
import onnxProto from 'onnx-proto';
import type { DataSpec } from '../../shared/api.js';
import { ConfigError } from '../../shared/config.js';
import type { QuantizationSummary } from '../../shared/results.js';
import { BatchLoader } from '../../engine/data/pipeline.js';
import type { Batch, Preprocess } from '../../engine/data/types.js';
import { Rng } from '../../engine/rng.js';
import { prepareData } from '../jobs/data.js';
import { encodeModelProto } from './onnx.js';
import { evaluateLogits } from './onnx-eval.js';
import { quantizableMatMuls, quantizeModel, withExtraOutputs, type Range } from './quantize.js';

type IModelProto = onnxProto.onnx.IModelProto;
export type RangeMethod = 'minmax' | 'percentile';

export const DEFAULT_CALIBRATION_IMAGES = 256;
/** Images the calibration methods are compared on (taken after the calibration images). */
export const SELECTION_IMAGES = 512;
/** Percentile calibration keeps this share of each tensor's values inside the range. */
export const PERCENTILE = 0.9999;
const HISTOGRAM_BINS = 4096;
const BATCH = 64;

export interface CalibrationImages {
  calibration: BatchLoader;
  /** Held-out images of the same dataset (the calibration images when none are left). */
  selection: BatchLoader;
  heldOut: boolean;
  dataset: string;
}

/** N calibration images and up to SELECTION_IMAGES others, drawn (seeded) from the training split, preprocessed as the model expects. */
export async function calibrationImages(spec: DataSpec, preprocess: Preprocess, numClasses: number, count: number, seed: number): Promise<CalibrationImages> {
  const data = await prepareData({ ...spec, valFraction: 0 }, seed);
  if (data.classNames.length !== numClasses) {
    throw new ConfigError([{ field: 'calibration.data', message: `${data.path} has ${data.classNames.length} classes but the model predicts ${numClasses}; calibrate on the data the model was trained for` }]);
  }
  const order = Rng.derive(seed, 'calibration').permutation(data.trainIndices.length);
  const pick = (from: number, to: number) => Int32Array.from(order.subarray(from, to), (i) => data.trainIndices[i]!);
  const n = Math.min(count, data.trainIndices.length);
  const rest = pick(n, n + SELECTION_IMAGES);
  const loader = (indices: Int32Array) => new BatchLoader({ source: data.train, indices, preprocess, batchSize: BATCH, seed, shuffle: false, dropLast: false });
  const calibration = loader(pick(0, n));
  return { calibration, selection: rest.length > 0 ? loader(rest) : calibration, heldOut: rest.length > 0, dataset: data.path };
}

async function* batchesOf(loader: BatchLoader): AsyncGenerator<Batch> {
  for (let step = 0; step < loader.stepsPerEpoch; step++) yield loader.batch(0, step);
}

function feed(batch: Batch, preprocess: Preprocess): Record<string, ort.Tensor> {
  return { pixel_values: new ort.Tensor('float32', batch.images, [batch.size, preprocess.channels, preprocess.imageSize, preprocess.imageSize]) };
}

/** Runs `session` on every batch, handing each output tensor's values to `visit`. */
async function forEachOutput(session: ort.InferenceSession, loader: BatchLoader, preprocess: Preprocess, visit: (name: string, values: Float32Array) => void): Promise<void> {
  for await (const batch of batchesOf(loader)) {
    const outputs = await session.run(feed(batch, preprocess));
    for (const [name, value] of Object.entries(outputs)) {
      visit(name, value.data as Float32Array);
      value.dispose?.();
    }
  }
}

/** The value at quantile q of a histogram over [min, max] (bin centres). */
function quantileOf(counts: Float64Array, total: number, min: number, max: number, q: number): number {
  const target = q * total;
  let seen = 0;
  const width = (max - min) / counts.length;
  for (let i = 0; i < counts.length; i++) {
    seen += counts[i]!;
    if (seen >= target) return min + (i + 0.5) * width;
  }
  return max;
}

/** MinMax and percentile ranges of every tensor in `names`, from one calibration set (two passes). */
export async function calibrateRanges(model: IModelProto, names: string[], loader: BatchLoader, preprocess: Preprocess): Promise<Record<RangeMethod, Map<string, Range>>> {
  const session = await ort.InferenceSession.create(encodeModelProto(withExtraOutputs(model, names)), { graphOptimizationLevel: 'basic' });
  try {
    const wanted = new Set(names);
    const minmax = new Map<string, Range>();
    await forEachOutput(session, loader, preprocess, (name, values) => {
      if (!wanted.has(name)) return;
      const r = minmax.get(name) ?? { min: Infinity, max: -Infinity };
      for (let i = 0; i < values.length; i++) {
        const v = values[i]!;
        if (v < r.min) r.min = v;
        if (v > r.max) r.max = v;
      }
      minmax.set(name, r);
    });
    const histograms = new Map(names.map((n) => [n, { counts: new Float64Array(HISTOGRAM_BINS), total: 0 }]));
    await forEachOutput(session, loader, preprocess, (name, values) => {
      const h = histograms.get(name);
      if (!h) return;
      const { min, max } = minmax.get(name)!;
      const scale = max > min ? HISTOGRAM_BINS / (max - min) : 0;
      for (let i = 0; i < values.length; i++) h.counts[Math.min(HISTOGRAM_BINS - 1, Math.floor((values[i]! - min) * scale))]! += 1;
      h.total += values.length;
    });
    const percentile = new Map<string, Range>();
    for (const [name, h] of histograms) {
      const { min, max } = minmax.get(name)!;
      percentile.set(name, max > min
        ? { min: quantileOf(h.counts, h.total, min, max, 1 - PERCENTILE), max: quantileOf(h.counts, h.total, min, max, PERCENTILE) }
        : { min, max });
    }
    return { minmax, percentile };
  } finally {
    await session.release();
  }
}

/** Top-1 of an ONNX model (bytes) on every image of `loader`. */
export async function onnxTop1(bytes: Uint8Array, loader: BatchLoader, preprocess: Preprocess, numClasses: number): Promise<{ top1: number; n: number }> {
  const session = await ort.InferenceSession.create(bytes, { graphOptimizationLevel: 'all' });
  try {
    const { top1, n } = await evaluateLogits(loader, numClasses, async (batch) => {
      const { logits } = await session.run(feed(batch, preprocess));
      const values = (logits!.data as Float32Array).slice();
      logits!.dispose?.();
      return values;
    });
    return { top1, n };
  } finally {
    await session.release();
  }
}

export interface StaticQuantization {
  model: IModelProto;
  summary: QuantizationSummary;
}

/**
 * Static int8 (QDQ) of a float model: activation ranges calibrated on `images`, by the
 * method asked for or, for 'auto', by whichever of MinMax and percentile is more accurate
 * on the held-out images.
 */
export async function quantizeStatic(
  model: IModelProto,
  activationRanks: Map<string, number>,
  images: CalibrationImages,
  preprocess: Preprocess,
  numClasses: number,
  method: RangeMethod | 'auto',
): Promise<StaticQuantization> {
  const activations = [...new Set(quantizableMatMuls(model).map((m) => m.activation))];
  const ranges = await calibrateRanges(model, activations, images.calibration, preprocess);
  const methods: RangeMethod[] = method === 'auto' ? ['minmax', 'percentile'] : [method];
  const floatTop1 = await onnxTop1(encodeModelProto(model), images.selection, preprocess, numClasses);
  let best: { method: RangeMethod; model: IModelProto; top1: number; matmuls: number } | null = null;
  const tried: NonNullable<QuantizationSummary['tried']> = [];
  for (const m of methods) {
    const quantized = quantizeModel(model, { mode: 'static', ranges: ranges[m], activationRanks });
    const { top1, n } = await onnxTop1(encodeModelProto(quantized.model), images.selection, preprocess, numClasses);
    tried.push({ method: m, top1, n });
    if (!best || top1 > best.top1) best = { method: m, model: quantized.model, top1, matmuls: quantized.matmuls.length };
  }
  return {
    model: best!.model,
    summary: {
      mode: 'static',
      matmuls: best!.matmuls,
      method: best!.method,
      calibrationImages: images.calibration.indices.length,
      tried,
      comparedOn: images.heldOut ? 'held-out images' : 'the calibration images',
      floatTop1: floatTop1.top1,
    },
  };
}
