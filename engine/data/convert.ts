// Converting a normalized image batch from one model's input convention to another's:
// un-normalize with the source mean/std, convert gray ↔ RGB, resize (bilinear), and
// re-normalize, in the target layout. A teacher sees the student's batch this way, so a
// teacher trained at another size, channel count or normalization (an ONNX classifier, or
// one of our own models) still gets the images it expects. Pure typed-array code.

import type { Preprocess } from './types.js';

export type Layout = 'NCHW' | 'NHWC';

/** How a model wants its float input: size, channels, layout and per-channel normalization of [0,1] pixels. */
export interface PixelFormat {
  height: number;
  width: number;
  channels: number;
  layout: Layout;
  mean: number[];
  std: number[];
}

/** Teacher input normalization: ImageNet statistics, none (raw [0,1] pixels), or explicit values. */
export type NormalizationSpec = 'imagenet' | 'none' | { mean: number[]; std: number[] };

export const IMAGENET_NORMALIZATION = { mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225] } as const;

/** The NCHW pixel format of one of our models' preprocess. */
export function pixelFormatOf(preprocess: Preprocess): PixelFormat {
  return {
    height: preprocess.imageSize,
    width: preprocess.imageSize,
    channels: preprocess.channels,
    layout: 'NCHW',
    mean: [...preprocess.mean],
    std: [...preprocess.std],
  };
}

/** Mean/std per channel for a spec; a single value is repeated over the channels. */
export function resolveNormalization(spec: NormalizationSpec, channels: number): { mean: number[]; std: number[] } {
  if (spec === 'none') return { mean: new Array(channels).fill(0), std: new Array(channels).fill(1) };
  if (spec === 'imagenet') {
    if (channels === 3) return { mean: [...IMAGENET_NORMALIZATION.mean], std: [...IMAGENET_NORMALIZATION.std] };
    // ImageNet statistics of the luma channel, for a grayscale model trained on ImageNet.
    const luma = (v: readonly number[]) => 0.299 * v[0]! + 0.587 * v[1]! + 0.114 * v[2]!;
    return { mean: new Array(channels).fill(luma(IMAGENET_NORMALIZATION.mean)), std: new Array(channels).fill(luma(IMAGENET_NORMALIZATION.std)) };
  }
  const expand = (values: number[], what: string): number[] => {
    if (values.length === channels) return [...values];
    if (values.length === 1) return new Array(channels).fill(values[0]);
    throw new RangeError(`normalization ${what} has ${values.length} values; the model has ${channels} channels (give ${channels} or 1)`);
  };
  const std = expand(spec.std, 'std');
  if (std.some((s) => !(s > 0))) throw new RangeError(`normalization std must be positive, got [${std.join(', ')}]`);
  return { mean: expand(spec.mean, 'mean'), std };
}

function sameNumbers(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((v, i) => v === b[i]);
}

/** True when converting between the two formats changes nothing. */
export function isSameFormat(a: PixelFormat, b: PixelFormat): boolean {
  return a.height === b.height && a.width === b.width && a.channels === b.channels && a.layout === b.layout
    && sameNumbers(a.mean, b.mean) && sameNumbers(a.std, b.std);
}

/**
 * Antialiased bilinear resampling weights along one axis, the geometry of Pillow's
 * BILINEAR resize and torchvision `Resize(antialias=True)`: half-pixel centres, triangle
 * filter widened by the scale factor when shrinking, weights renormalized at the borders
 * (which equals edge clamping when enlarging). Float weights: the input is not uint8.
 */
function axisWeights(inSize: number, outSize: number): { start: Int32Array; count: Int32Array; weights: Float64Array; taps: number } {
  const scale = inSize / outSize;
  const filterScale = Math.max(scale, 1);
  const support = filterScale;
  const taps = Math.ceil(support) * 2 + 1;
  const start = new Int32Array(outSize);
  const count = new Int32Array(outSize);
  const weights = new Float64Array(outSize * taps);
  for (let i = 0; i < outSize; i++) {
    const center = (i + 0.5) * scale;
    const lo = Math.max(0, Math.trunc(center - support + 0.5));
    const hi = Math.min(inSize, Math.trunc(center + support + 0.5));
    let total = 0;
    for (let k = 0; k < hi - lo; k++) {
      const x = Math.abs((k + lo - center + 0.5) / filterScale);
      const w = x < 1 ? 1 - x : 0;
      weights[i * taps + k] = w;
      total += w;
    }
    if (total > 0) for (let k = 0; k < hi - lo; k++) weights[i * taps + k]! /= total;
    start[i] = lo;
    count[i] = hi - lo;
  }
  return { start, count, weights, taps };
}

/** Resizes one float plane [inH, inW] to [outH, outW] (separable: rows first, then columns). */
export function resizePlane(src: Float32Array, inH: number, inW: number, outH: number, outW: number): Float32Array {
  if (inH === outH && inW === outW) return src.slice();
  const h = axisWeights(inW, outW);
  const temp = new Float32Array(inH * outW);
  for (let y = 0; y < inH; y++) {
    for (let x = 0; x < outW; x++) {
      let sum = 0;
      const base = x * h.taps;
      for (let k = 0; k < h.count[x]!; k++) sum += h.weights[base + k]! * src[y * inW + h.start[x]! + k]!;
      temp[y * outW + x] = sum;
    }
  }
  const v = axisWeights(inH, outH);
  const out = new Float32Array(outH * outW);
  for (let y = 0; y < outH; y++) {
    const base = y * v.taps;
    for (let x = 0; x < outW; x++) {
      let sum = 0;
      for (let k = 0; k < v.count[y]!; k++) sum += v.weights[base + k]! * temp[(v.start[y]! + k) * outW + x]!;
      out[y * outW + x] = sum;
    }
  }
  return out;
}

/** Reads image `n` as [0,1] planes (one Float32Array per channel). */
function readPlanes(images: Float32Array, n: number, f: PixelFormat): Float32Array[] {
  const pixels = f.height * f.width;
  const offset = n * pixels * f.channels;
  const planes: Float32Array[] = [];
  for (let c = 0; c < f.channels; c++) {
    const plane = new Float32Array(pixels);
    const mean = f.mean[c]!;
    const std = f.std[c]!;
    if (f.layout === 'NCHW') {
      const base = offset + c * pixels;
      for (let i = 0; i < pixels; i++) plane[i] = images[base + i]! * std + mean;
    } else {
      for (let i = 0; i < pixels; i++) plane[i] = images[offset + i * f.channels + c]! * std + mean;
    }
    planes.push(plane);
  }
  return planes;
}

/** Gray → RGB replicates; RGB → gray takes ITU-R 601 luma (as Pillow's convert('L')). */
function convertPlanes(planes: Float32Array[], to: number): Float32Array[] {
  const from = planes.length;
  if (from === to) return planes;
  if (from === 1) return Array.from({ length: to }, () => planes[0]!);
  if (from === 3 && to === 1) {
    const [r, g, b] = planes as [Float32Array, Float32Array, Float32Array];
    const gray = new Float32Array(r.length);
    for (let i = 0; i < gray.length; i++) gray[i] = 0.299 * r[i]! + 0.587 * g[i]! + 0.114 * b[i]!;
    return [gray];
  }
  throw new RangeError(`cannot convert ${from}-channel images to ${to} channels (only 1 ↔ 3)`);
}

function writePlanes(planes: Float32Array[], out: Float32Array, n: number, f: PixelFormat): void {
  const pixels = f.height * f.width;
  const offset = n * pixels * f.channels;
  for (let c = 0; c < f.channels; c++) {
    const plane = planes[c]!;
    const mean = f.mean[c]!;
    const inv = 1 / f.std[c]!;
    if (f.layout === 'NCHW') {
      const base = offset + c * pixels;
      for (let i = 0; i < pixels; i++) out[base + i] = (plane[i]! - mean) * inv;
    } else {
      for (let i = 0; i < pixels; i++) out[offset + i * f.channels + c] = (plane[i]! - mean) * inv;
    }
  }
}

/**
 * Converts `count` images from one pixel format to another. Returns `images` itself when
 * the formats are the same (callers must not modify the result in place).
 */
export function convertImages(images: Float32Array, count: number, from: PixelFormat, to: PixelFormat): Float32Array {
  const expected = count * from.height * from.width * from.channels;
  if (images.length !== expected) {
    throw new RangeError(`convertImages: ${images.length} values for ${count} images of ${from.channels}×${from.height}×${from.width} (expected ${expected})`);
  }
  if (isSameFormat(from, to)) return images;
  const out = new Float32Array(count * to.height * to.width * to.channels);
  for (let n = 0; n < count; n++) {
    // Channel conversion and resizing are both linear per pixel, so their order does not
    // matter; converting first resizes the fewest planes when going RGB → gray.
    const converted = convertPlanes(readPlanes(images, n, from), to.channels);
    const resized = converted.map((plane) => resizePlane(plane, from.height, from.width, to.height, to.width));
    writePlanes(resized, out, n, to);
  }
  return out;
}
