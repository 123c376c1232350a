// Pixel operations on uint8 HWC images: resize and channel conversion. Pure typed-array
// code (no Node, no DOM) so a Node worker and a browser page produce identical bytes.
//
// The resize follows Pillow's `Image.resize(..., BILINEAR)` exactly (half-pixel centers,
// triangle filter widened by the scale factor when shrinking, i.e. antialiased, 22-bit
// fixed-point weights, horizontal pass first with a uint8 intermediate). torchvision's
// `Resize(antialias=True)` on PIL images is this same code.

/** Pillow's fixed-point precision for 8-bit resampling: 32 - 8 - 2 bits. */
const PRECISION_BITS = 22;
const HALF = 1 << (PRECISION_BITS - 1);

/** Resampling weights for one axis: output i reads `count[i]` input pixels from `start[i]`. */
interface AxisCoefficients {
  start: Int32Array;
  count: Int32Array;
  /** `taps` fixed-point weights per output pixel. */
  weights: Int32Array;
  taps: number;
}

const coefficientCache = new Map<string, AxisCoefficients>();

function triangle(x: number): number {
  const a = x < 0 ? -x : x;
  return a < 1 ? 1 - a : 0;
}

/** Pillow's precompute_coeffs + normalize_coeffs_8bpc for the bilinear filter. */
function axisCoefficients(inSize: number, outSize: number): AxisCoefficients {
  const key = `${inSize}:${outSize}`;
  const cached = coefficientCache.get(key);
  if (cached) return cached;
  const scale = inSize / outSize;
  const filterScale = Math.max(scale, 1);
  const support = filterScale; // bilinear support (1) times the filter scale
  const taps = Math.ceil(support) * 2 + 1;
  const start = new Int32Array(outSize);
  const count = new Int32Array(outSize);
  const weights = new Int32Array(outSize * taps);
  const row = new Float64Array(taps);
  for (let i = 0; i < outSize; i++) {
    const center = (i + 0.5) * scale;
    const lo = Math.max(0, Math.trunc(center - support + 0.5));
    const hi = Math.min(inSize, Math.trunc(center + support + 0.5));
    const n = hi - lo;
    let total = 0;
    for (let k = 0; k < n; k++) {
      row[k] = triangle((k + lo - center + 0.5) / filterScale);
      total += row[k]!;
    }
    for (let k = 0; k < n; k++) {
      const w = total !== 0 ? row[k]! / total : row[k]!;
      weights[i * taps + k] = w < 0 ? Math.trunc(-0.5 + w * (1 << PRECISION_BITS)) : Math.trunc(0.5 + w * (1 << PRECISION_BITS));
    }
    start[i] = lo;
    count[i] = n;
  }
  const result = { start, count, weights, taps };
  // Datasets use a handful of sizes; the bound only guards against pathological callers.
  if (coefficientCache.size > 256) coefficientCache.clear();
  coefficientCache.set(key, result);
  return result;
}

function clip8(sum: number): number {
  if (sum <= 0) return 0;
  const v = sum >> PRECISION_BITS;
  return v > 255 ? 255 : v;
}

function resizeHorizontal(
  src: Uint8Array, srcOffset: number, height: number, srcWidth: number, channels: number,
  dstWidth: number, dst: Uint8Array, dstOffset: number,
): void {
  const { start, count, weights, taps } = axisCoefficients(srcWidth, dstWidth);
  for (let y = 0; y < height; y++) {
    const rowIn = srcOffset + y * srcWidth * channels;
    const rowOut = dstOffset + y * dstWidth * channels;
    for (let x = 0; x < dstWidth; x++) {
      const first = start[x]!;
      const n = count[x]!;
      const w0 = x * taps;
      for (let c = 0; c < channels; c++) {
        let sum = HALF;
        for (let k = 0; k < n; k++) sum += src[rowIn + (first + k) * channels + c]! * weights[w0 + k]!;
        dst[rowOut + x * channels + c] = clip8(sum);
      }
    }
  }
}

function resizeVertical(
  src: Uint8Array, srcOffset: number, srcHeight: number, width: number, channels: number,
  dstHeight: number, dst: Uint8Array, dstOffset: number,
): void {
  const { start, count, weights, taps } = axisCoefficients(srcHeight, dstHeight);
  const stride = width * channels;
  for (let y = 0; y < dstHeight; y++) {
    const first = start[y]!;
    const n = count[y]!;
    const w0 = y * taps;
    const rowOut = dstOffset + y * stride;
    for (let i = 0; i < stride; i++) {
      let sum = HALF;
      for (let k = 0; k < n; k++) sum += src[srcOffset + (first + k) * stride + i]! * weights[w0 + k]!;
      dst[rowOut + i] = clip8(sum);
    }
  }
}

/**
 * Bilinear resize of one uint8 HWC image (Pillow BILINEAR semantics, antialiased when
 * shrinking). An axis whose size does not change is copied untouched, so equal sizes
 * return the input bytes exactly. Writes into `out` at `outOffset` when given.
 */
export function resizeBilinear(
  src: Uint8Array, srcHeight: number, srcWidth: number, channels: number,
  dstHeight: number, dstWidth: number,
  out?: Uint8Array, outOffset = 0, srcOffset = 0,
): Uint8Array {
  for (const [name, v] of [['srcHeight', srcHeight], ['srcWidth', srcWidth], ['dstHeight', dstHeight], ['dstWidth', dstWidth], ['channels', channels]] as const) {
    if (!Number.isInteger(v) || v <= 0) throw new RangeError(`resizeBilinear: ${name} must be a positive integer, got ${v}`);
  }
  const inBytes = srcHeight * srcWidth * channels;
  if (srcOffset + inBytes > src.length) {
    throw new RangeError(`resizeBilinear: source holds ${src.length - srcOffset} bytes, ${srcHeight}x${srcWidth}x${channels} needs ${inBytes}`);
  }
  const outBytes = dstHeight * dstWidth * channels;
  const target = out ?? new Uint8Array(outBytes);
  if (outOffset + outBytes > target.length) {
    throw new RangeError(`resizeBilinear: output holds ${target.length - outOffset} bytes, needs ${outBytes}`);
  }
  const horizontal = dstWidth !== srcWidth;
  const vertical = dstHeight !== srcHeight;
  if (!horizontal && !vertical) {
    target.set(src.subarray(srcOffset, srcOffset + inBytes), outOffset);
  } else if (horizontal && !vertical) {
    resizeHorizontal(src, srcOffset, srcHeight, srcWidth, channels, dstWidth, target, outOffset);
  } else if (!horizontal && vertical) {
    resizeVertical(src, srcOffset, srcHeight, srcWidth, channels, dstHeight, target, outOffset);
  } else {
    const temp = new Uint8Array(srcHeight * dstWidth * channels);
    resizeHorizontal(src, srcOffset, srcHeight, srcWidth, channels, dstWidth, temp, 0);
    resizeVertical(temp, 0, srcHeight, dstWidth, channels, dstHeight, target, outOffset);
  }
  return target;
}

/** Grayscale → RGB by replicating the value (Pillow `convert('RGB')`). */
export function grayToRgb(src: Uint8Array, pixels: number, out?: Uint8Array, outOffset = 0, srcOffset = 0): Uint8Array {
  const target = out ?? new Uint8Array(pixels * 3);
  for (let i = 0; i < pixels; i++) {
    const v = src[srcOffset + i]!;
    const o = outOffset + i * 3;
    target[o] = v;
    target[o + 1] = v;
    target[o + 2] = v;
  }
  return target;
}

/**
 * RGB → grayscale with ITU-R 601 luma 0.299 R + 0.587 G + 0.114 B, rounded
 * (Pillow's `convert('L')` fixed-point formula: weights sum to 65536).
 */
export function rgbToGray(src: Uint8Array, pixels: number, out?: Uint8Array, outOffset = 0, srcOffset = 0): Uint8Array {
  const target = out ?? new Uint8Array(pixels);
  for (let i = 0; i < pixels; i++) {
    const s = srcOffset + i * 3;
    target[outOffset + i] = (src[s]! * 19595 + src[s + 1]! * 38470 + src[s + 2]! * 7471 + 0x8000) >>> 16;
  }
  return target;
}

/** Converts between 1 and 3 channels (or copies when equal). */
export function convertChannels(
  src: Uint8Array, pixels: number, fromChannels: number, toChannels: number,
  out?: Uint8Array, outOffset = 0, srcOffset = 0,
): Uint8Array {
  if (fromChannels === toChannels) {
    const target = out ?? new Uint8Array(pixels * toChannels);
    target.set(src.subarray(srcOffset, srcOffset + pixels * fromChannels), outOffset);
    return target;
  }
  if (fromChannels === 1 && toChannels === 3) return grayToRgb(src, pixels, out, outOffset, srcOffset);
  if (fromChannels === 3 && toChannels === 1) return rgbToGray(src, pixels, out, outOffset, srcOffset);
  throw new RangeError(`convertChannels: cannot convert ${fromChannels} to ${toChannels} channels (only 1 and 3 are supported)`);
}

/**
 * Resizes then converts channels, writing one image into `out` at `outOffset`. Channel
 * conversion happens after the resize, like loading with PIL then `convert`.
 */
export function resizeAndConvert(
  src: Uint8Array, srcOffset: number, srcHeight: number, srcWidth: number, srcChannels: number,
  dstHeight: number, dstWidth: number, dstChannels: number,
  out: Uint8Array, outOffset: number,
): void {
  const pixels = dstHeight * dstWidth;
  if (srcHeight === dstHeight && srcWidth === dstWidth) {
    convertChannels(src, pixels, srcChannels, dstChannels, out, outOffset, srcOffset);
  } else if (srcChannels === dstChannels) {
    resizeBilinear(src, srcHeight, srcWidth, srcChannels, dstHeight, dstWidth, out, outOffset, srcOffset);
  } else {
    const resized = resizeBilinear(src, srcHeight, srcWidth, srcChannels, dstHeight, dstWidth, undefined, 0, srcOffset);
    convertChannels(resized, pixels, srcChannels, dstChannels, out, outOffset, 0);
  }
}
