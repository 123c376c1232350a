import { describe, expect, it } from 'vitest';

import { convertChannels, grayToRgb, resizeAndConvert, resizeBilinear, rgbToGray } from '../../../engine/data/image.js';

const u8 = (values: number[]) => Uint8Array.from(values);

describe('resizeBilinear', () => {
  it('upscales with half-pixel centers: [0, 100] → [0, 25, 75, 100]', () => {
    // Output x maps to source (x + 0.5) / 2 - 0.5 = -0.25, 0.25, 0.75, 1.25 (edges clamp).
    expect([...resizeBilinear(u8([0, 100]), 1, 2, 1, 1, 4)]).toEqual([0, 25, 75, 100]);
  });

  it('shrinks with an antialiasing triangle twice as wide, like Pillow', () => {
    // Output 0 is centred at source 1.0 with support 2: weights 0.75, 0.75, 0.25 over
    // pixels 0..2 → (0·0.75 + 100·0.75 + 200·0.25) / 1.75 = 71.4 → 71. Output 1 by
    // the same rule: (100·0.25 + 200·0.75 + 255·0.75) / 1.75 = 209.3 → 209.
    expect([...resizeBilinear(u8([0, 100, 200, 255]), 1, 4, 1, 1, 2)]).toEqual([71, 209]);
  });

  it('matches Pillow Image.resize(BILINEAR) on a 3x3 → 4x5 gray image', () => {
    const src = u8([10, 20, 30, 40, 50, 60, 70, 80, 90]);
    // Reference: numpy.asarray(Image.fromarray(src).resize((5, 4), Image.BILINEAR)), Pillow 9.4.
    expect([...resizeBilinear(src, 3, 3, 1, 4, 5)]).toEqual([
      10, 14, 20, 26, 30, 29, 33, 39, 45, 49, 51, 55, 61, 67, 71, 70, 74, 80, 86, 90,
    ]);
  });

  it('matches Pillow on a 5x6 RGB → 3x4 shrink (both axes, interleaved channels)', () => {
    const src = new Uint8Array(5 * 6 * 3);
    for (let i = 0; i < src.length; i++) src[i] = (i * 3) & 255;
    // Reference: Pillow 9.4, (np.arange(90, dtype=uint8).reshape(5, 6, 3) * 3) resized to (4, 3).
    expect([...resizeBilinear(src, 5, 6, 3, 3, 4)]).toEqual([
      26, 29, 32, 39, 42, 45, 52, 55, 58, 65, 68, 71, 111, 114, 117, 124, 127, 130, 137, 140, 143, 150, 153, 156,
      196, 199, 202, 209, 212, 215, 222, 225, 179, 143, 146, 95,
    ]);
  });

  it('returns the input bytes exactly when the size is unchanged', () => {
    const src = u8([3, 1, 4, 1, 5, 9, 2, 6, 5, 3, 5, 8]);
    const out = resizeBilinear(src, 2, 2, 3, 2, 2);
    expect([...out]).toEqual([...src]);
    expect(out).not.toBe(src);
  });

  it('keeps a constant image constant at any size', () => {
    const src = new Uint8Array(7 * 5).fill(137);
    expect(resizeBilinear(src, 7, 5, 1, 3, 11).every((v) => v === 137)).toBe(true);
    expect(resizeBilinear(src, 7, 5, 1, 40, 2).every((v) => v === 137)).toBe(true);
  });

  it('writes at an offset into a shared output and rejects a short source', () => {
    const out = new Uint8Array(6).fill(9);
    resizeBilinear(u8([0, 100]), 1, 2, 1, 1, 4, out, 2);
    expect([...out]).toEqual([9, 9, 0, 25, 75, 100]);
    expect(() => resizeBilinear(u8([1, 2, 3]), 2, 2, 1, 4, 4)).toThrow(/source holds 3 bytes, 2x2x1 needs 4/);
  });
});

describe('channel conversion', () => {
  it('replicates gray into RGB', () => {
    expect([...grayToRgb(u8([0, 128, 255]), 3)]).toEqual([0, 0, 0, 128, 128, 128, 255, 255, 255]);
  });

  it('converts RGB to gray with 0.299/0.587/0.114, rounded', () => {
    // 0.299·255 = 76.2, 0.587·255 = 149.7, 0.114·255 = 29.1, 2.99 + 11.74 + 3.42 = 18.15
    const rgb = u8([255, 0, 0, 0, 255, 0, 0, 0, 255, 10, 20, 30, 255, 255, 255, 7, 7, 7]);
    expect([...rgbToGray(rgb, 6)]).toEqual([76, 150, 29, 18, 255, 7]);
  });

  it('copies when channels match and rejects unsupported counts', () => {
    expect([...convertChannels(u8([1, 2, 3]), 1, 3, 3)]).toEqual([1, 2, 3]);
    expect(() => convertChannels(u8([1, 2, 3, 4]), 1, 4, 3)).toThrow(/cannot convert 4 to 3 channels/);
  });

  it('resizes then converts in one call', () => {
    const out = new Uint8Array(12);
    resizeAndConvert(u8([0, 100]), 0, 1, 2, 1, 1, 4, 3, out, 0);
    expect([...out]).toEqual([0, 0, 0, 25, 25, 25, 75, 75, 75, 100, 100, 100]);
  });
});
