// Converting a batch between models' pixel formats (un-normalize, channels, resize,
// re-normalize, layout), as teachers see a student's batch.

import { describe, expect, it } from 'vitest';
import { convertImages, isSameFormat, pixelFormatOf, resizePlane, resolveNormalization, type PixelFormat } from '../../../engine/data/convert.js';
import { resizeBilinear } from '../../../engine/data/image.js';
import { maxAbsDiff } from '../../helpers/fixtures.js';

function pseudoRandom(n: number, seed = 1): Float32Array {
  let s = seed;
  return Float32Array.from({ length: n }, () => {
    s = (s * 1103515245 + 12345) % 2147483648;
    return s / 2147483648;
  });
}

const rgb = (size: number, mean = [0.485, 0.456, 0.406], std = [0.229, 0.224, 0.225]): PixelFormat => ({ height: size, width: size, channels: 3, layout: 'NCHW', mean, std });

describe('convertImages', () => {
  it('returns the same array when formats agree', () => {
    const images = pseudoRandom(2 * 3 * 4 * 4);
    expect(convertImages(images, 2, rgb(4), rgb(4))).toBe(images);
    expect(isSameFormat(pixelFormatOf({ imageSize: 4, channels: 3, mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225] }), rgb(4))).toBe(true);
  });

  it('re-normalizes: (x·σ₁ + μ₁ − μ₂) / σ₂ per channel', () => {
    const images = pseudoRandom(3 * 2 * 2);
    const out = convertImages(images, 1, rgb(2), rgb(2, [0.5, 0.5, 0.5], [0.5, 0.5, 0.5]));
    const expected = images.map((v, i) => {
      const c = Math.floor(i / 4);
      return (v * [0.229, 0.224, 0.225][c]! + [0.485, 0.456, 0.406][c]! - 0.5) / 0.5;
    });
    expect(maxAbsDiff(out, expected)).toBeLessThan(1e-6);
  });

  it('writes NHWC and reads it back', () => {
    const images = pseudoRandom(2 * 3 * 5 * 5);
    const nhwc = { ...rgb(5), layout: 'NHWC' as const };
    const there = convertImages(images, 2, rgb(5), nhwc);
    // pixel (n=1, c=2, y=3, x=4) in NCHW sits at ((1·5 + 3)·5 + 4)·3 + 2 in NHWC
    expect(there[((1 * 5 + 3) * 5 + 4) * 3 + 2]).toBeCloseTo(images[((1 * 3 + 2) * 5 + 3) * 5 + 4]!, 6);
    expect(maxAbsDiff(convertImages(there, 2, nhwc, rgb(5)), images)).toBeLessThan(1e-6);
  });

  it('replicates gray into RGB and takes ITU-R 601 luma back', () => {
    const gray: PixelFormat = { height: 2, width: 2, channels: 1, layout: 'NCHW', mean: [0], std: [1] };
    const raw: PixelFormat = { height: 2, width: 2, channels: 3, layout: 'NCHW', mean: [0, 0, 0], std: [1, 1, 1] };
    const g = Float32Array.of(0, 0.25, 0.5, 1);
    expect([...convertImages(g, 1, gray, raw)]).toEqual([...g, ...g, ...g]);
    const colour = Float32Array.of(1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0); // pure red
    expect(maxAbsDiff(convertImages(colour, 1, raw, gray), [0.299, 0.299, 0.299, 0.299])).toBeLessThan(1e-6);
  });

  it('resizes with the geometry of Pillow bilinear (within uint8 rounding), shrinking and enlarging', () => {
    const size = 12;
    const bytes = Uint8Array.from(pseudoRandom(size * size, 7), (v) => Math.round(v * 255));
    for (const target of [5, 8, 24, 31]) {
      const pillow = resizeBilinear(bytes, size, size, 1, target, target);
      const ours = resizePlane(Float32Array.from(bytes), size, size, target, target);
      // Pillow rounds the horizontal pass to uint8 and uses 22-bit fixed-point weights.
      expect(maxAbsDiff(ours, pillow)).toBeLessThanOrEqual(1.01);
    }
  });

  it('keeps a constant image constant under resizing and checks the input length', () => {
    const from: PixelFormat = { height: 7, width: 7, channels: 1, layout: 'NCHW', mean: [0], std: [1] };
    const out = convertImages(new Float32Array(49).fill(0.3), 1, from, { ...from, height: 16, width: 10 });
    expect(out.length).toBe(160);
    expect(maxAbsDiff(out, new Float32Array(160).fill(0.3))).toBeLessThan(1e-6);
    expect(() => convertImages(new Float32Array(10), 1, from, from)).toThrow(/10 values for 1 images of 1×7×7 \(expected 49\)/);
  });
});

describe('resolveNormalization', () => {
  it('gives ImageNet statistics, none, or explicit values expanded to the channels', () => {
    expect(resolveNormalization('imagenet', 3)).toEqual({ mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225] });
    expect(resolveNormalization('none', 1)).toEqual({ mean: [0], std: [1] });
    expect(resolveNormalization({ mean: [0.5], std: [0.25] }, 3)).toEqual({ mean: [0.5, 0.5, 0.5], std: [0.25, 0.25, 0.25] });
    expect(() => resolveNormalization({ mean: [0.5, 0.5], std: [1] }, 3)).toThrow(/mean has 2 values; the model has 3 channels/);
    expect(() => resolveNormalization({ mean: [0], std: [0] }, 1)).toThrow(/std must be positive/);
  });
});
