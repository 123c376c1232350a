import { describe, expect, it } from 'vitest';

import { MemoryImageSource } from '../../../engine/data/memory.js';
import {
  BatchLoader,
  augmentDraw,
  classCounts,
  computeChannelStats,
  normalizationTable,
  rangeIndices,
  remapLabels,
  selectIndices,
  splitTrainVal,
  subsetSource,
  writeNormalized,
} from '../../../engine/data/pipeline.js';
import type { ImageSource, Preprocess } from '../../../engine/data/types.js';

/** n gray size×size images; image i is filled with (i * 7 + pixel) % 256 so every image differs. */
function syntheticSource(n: number, numClasses: number, size = 4): MemoryImageSource {
  const pixels = new Uint8Array(n * size * size);
  for (let i = 0; i < n; i++) for (let p = 0; p < size * size; p++) pixels[i * size * size + p] = (i * 7 + p) % 256;
  const labels = new Int32Array(n);
  for (let i = 0; i < n; i++) labels[i] = i % numClasses;
  return new MemoryImageSource({
    name: 'synthetic',
    classNames: Array.from({ length: numClasses }, (_, c) => `class${c}`),
    labels,
    pixels,
    height: size,
    width: size,
    channels: 1,
  });
}

const gray4: Preprocess = { imageSize: 4, channels: 1, mean: [0.5], std: [0.25] };
/** value = (v / 255 - 0) / (1 / 255) = v: shows raw pixel values through the pipeline. */
const identity = (channels: number, imageSize: number): Preprocess => ({
  imageSize,
  channels,
  mean: new Array(channels).fill(0),
  std: new Array(channels).fill(1 / 255),
});

describe('splitTrainVal', () => {
  const labels = Int32Array.from([...new Array(10).fill(0), ...new Array(20).fill(1), ...new Array(5).fill(2)]);

  it('takes round(count × fraction) of every class for validation', () => {
    const { train, val } = splitTrainVal(labels, 0.2, 42);
    expect(classCounts(labels, 3, val)).toEqual([2, 4, 1]);
    expect(classCounts(labels, 3, train)).toEqual([8, 16, 4]);
    const all = [...train, ...val].sort((a, b) => a - b);
    expect(all).toEqual([...rangeIndices(labels.length)]);
  });

  it('is deterministic in the seed and changes with it', () => {
    const a = splitTrainVal(labels, 0.3, 1);
    const b = splitTrainVal(labels, 0.3, 1);
    const c = splitTrainVal(labels, 0.3, 2);
    expect([...a.val]).toEqual([...b.val]);
    expect([...a.val]).not.toEqual([...c.val]);
  });

  it('never moves the only image of a class to validation', () => {
    const { train, val } = splitTrainVal(Int32Array.from([0, 0, 0, 0, 1]), 0.5, 3);
    expect(classCounts(Int32Array.from([0, 0, 0, 0, 1]), 2, val)).toEqual([2, 0]);
    expect(train.length).toBe(3);
  });

  it('rejects a fraction outside [0, 1)', () => {
    expect(() => splitTrainVal(labels, 1, 0)).toThrow(/valFraction must be in \[0, 1\), got 1/);
  });
});

describe('selectIndices and class subsets', () => {
  const labels = Int32Array.from(Array.from({ length: 100 }, (_, i) => i % 4)); // 25 per class

  it('takes perClass images of every class, nested as perClass grows', () => {
    const three = selectIndices(labels, { perClass: 3, seed: 5 });
    const five = selectIndices(labels, { perClass: 5, seed: 5 });
    expect(classCounts(labels, 4, three)).toEqual([3, 3, 3, 3]);
    expect([...three].every((i) => five.includes(i))).toBe(true);
    expect([...three]).toEqual([...three].sort((a, b) => a - b));
  });

  it('spreads a limit evenly and filters classes', () => {
    expect(classCounts(labels, 4, selectIndices(labels, { limit: 10, seed: 1 }))).toEqual([3, 3, 2, 2]);
    const some = selectIndices(labels, { classes: [1, 3], seed: 1 });
    expect(some.length).toBe(50);
    expect([...some].every((i) => labels[i] === 1 || labels[i] === 3)).toBe(true);
    expect(classCounts(labels, 4, selectIndices(labels, { classes: [2], perClass: 100, seed: 1 }))).toEqual([0, 0, 25, 0]);
  });

  it('selects from a given index list only', () => {
    const from = Int32Array.from([0, 1, 2, 3, 4, 5, 6, 7]);
    const picked = selectIndices(labels, { perClass: 1, seed: 3, from });
    expect(picked.length).toBe(4);
    expect([...picked].every((i) => i < 8)).toBe(true);
  });

  it('remaps labels of a class subset to 0..k-1 in the given order', () => {
    expect([...remapLabels(Int32Array.from([0, 1, 2, 3, 2]), [3, 2])]).toEqual([-1, -1, 1, 0, 1]);
  });

  it('subsetSource keeps class names and reads the right images', async () => {
    const source = syntheticSource(12, 4); // labels 0,1,2,3,0,1,...
    const subset = subsetSource(source, [2, 0]);
    expect(subset.classNames).toEqual(['class2', 'class0']);
    expect([...subset.baseIndices]).toEqual([0, 2, 4, 6, 8, 10]);
    expect([...subset.labels]).toEqual([1, 0, 1, 0, 1, 0]);
    const pixels = await subset.read([1], 4, 4, 1); // base image 2
    expect([...pixels]).toEqual([...(await source.read([2], 4, 4, 1))]);
    expect(() => subsetSource(source, [4])).toThrow(/class 4 is outside 0..3/);
  });
});

describe('normalization and augmentation on hand examples', () => {
  it('computes (v/255 - mean) / std per channel', () => {
    const table = normalizationTable(gray4);
    expect(table[0]).toBeCloseTo(-2, 6);
    expect(table[51]).toBeCloseTo(-1.2, 6); // 51/255 = 0.2
    expect(table[102]).toBeCloseTo(-0.4, 6);
    expect(table[255]).toBeCloseTo(2, 6);
  });

  it('lays RGB out as NCHW with each channel normalized by its own mean/std', async () => {
    // One 2x2 RGB image whose every pixel is (R, G, B) = (255, 0, 51).
    const pixels = new Uint8Array(2 * 2 * 3);
    for (let p = 0; p < 4; p++) pixels.set([255, 0, 51], p * 3);
    const source = new MemoryImageSource({ name: 'rgb', classNames: ['a', 'b'], labels: Int32Array.from([1]), pixels, height: 2, width: 2, channels: 3 });
    const loader = new BatchLoader({
      source, indices: Int32Array.from([0]), batchSize: 1, seed: 0, shuffle: false, dropLast: false,
      preprocess: { imageSize: 2, channels: 3, mean: [0.5, 0.25, 0], std: [0.5, 0.25, 0.1] },
    });
    const batch = await loader.batch(0, 0);
    // R: (1 - 0.5) / 0.5 = 1; G: (0 - 0.25) / 0.25 = -1; B: (0.2 - 0) / 0.1 = 2
    expect(Array.from(batch.images, (v) => Math.round(v * 1e5) / 1e5)).toEqual([1, 1, 1, 1, -1, -1, -1, -1, 2, 2, 2, 2]);
    expect([...batch.labels]).toEqual([1]);
  });

  const image3x3 = Uint8Array.from([1, 2, 3, 4, 5, 6, 7, 8, 9]);
  const run = (draw: { offsetY: number; offsetX: number; flip: boolean } | null, padding: number) => {
    const out = new Float32Array(9);
    writeNormalized(image3x3, 0, 3, 1, padding, draw, normalizationTable(identity(1, 3)), out, 0);
    return Array.from(out, Math.round);
  };

  it('crops a zero-padded image at the drawn offset (torchvision RandomCrop(padding))', () => {
    // offset (0, 2) in the image padded by 1: shift rows down by 1 and columns left by 1.
    expect(run({ offsetY: 0, offsetX: 2, flip: false }, 1)).toEqual([0, 0, 0, 2, 3, 0, 5, 6, 0]);
    // the centre offset (padding, padding) is the identity
    expect(run({ offsetY: 1, offsetX: 1, flip: false }, 1)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9]);
  });

  it('flips horizontally after cropping', () => {
    expect(run({ offsetY: 1, offsetX: 1, flip: true }, 1)).toEqual([3, 2, 1, 6, 5, 4, 9, 8, 7]);
    // crop at x offset 0 gives rows [0, a, b]; flipping gives [b, a, 0]
    expect(run({ offsetY: 1, offsetX: 0, flip: true }, 1)).toEqual([2, 1, 0, 5, 4, 0, 8, 7, 0]);
  });

  it('draws offsets in 0..2·padding and flips about half the time', () => {
    const augment = { cropPadding: 2, horizontalFlip: true };
    let flips = 0;
    const offsets = new Set<number>();
    for (let p = 0; p < 2000; p++) {
      const draw = augmentDraw(augment, 9, 0, p);
      offsets.add(draw.offsetY);
      offsets.add(draw.offsetX);
      if (draw.flip) flips++;
    }
    expect([...offsets].sort()).toEqual([0, 1, 2, 3, 4]);
    expect(flips).toBeGreaterThan(900);
    expect(flips).toBeLessThan(1100);
    expect(augmentDraw({ cropPadding: 2, horizontalFlip: false }, 9, 0, 1).flip).toBe(false);
  });
});

describe('BatchLoader', () => {
  const source = syntheticSource(50, 5);
  const options = {
    source,
    indices: rangeIndices(50),
    preprocess: gray4,
    augment: { cropPadding: 1, horizontalFlip: true },
    batchSize: 8,
    seed: 1234,
    shuffle: true,
    dropLast: true,
  };

  it('gives bit-identical batches for the same (seed, epoch, step), in any call order', async () => {
    const a = new BatchLoader(options);
    const b = new BatchLoader({ ...options, prefetch: false });
    await b.batch(3, 5); // a different position first: no hidden state may leak
    await b.batch(0, 0);
    const fromA = await a.batch(2, 4);
    const fromB = await b.batch(2, 4);
    expect(Buffer.from(fromA.images.buffer).equals(Buffer.from(fromB.images.buffer))).toBe(true);
    expect([...fromA.labels]).toEqual([...fromB.labels]);
  });

  it('changes the order between epochs and covers every image once per epoch', () => {
    const loader = new BatchLoader({ ...options, dropLast: false });
    const order0 = [...loader.epochOrder(0)];
    const order1 = [...loader.epochOrder(1)];
    expect(order0).not.toEqual(order1);
    expect([...order0].sort((x, y) => x - y)).toEqual([...rangeIndices(50)]);
    expect(loader.stepsPerEpoch).toBe(7);
    expect(loader.batchIndices(0, 6).length).toBe(2);
  });

  it('resumed at step k yields what a full pass yields at step k', async () => {
    const full = new BatchLoader(options);
    const pass: Buffer[] = [];
    for await (const batch of full.epoch(1)) pass.push(Buffer.from(batch.images.buffer));
    expect(pass.length).toBe(6); // 50 / 8, last partial batch dropped
    const resumed = new BatchLoader(options);
    const tail: Buffer[] = [];
    for await (const batch of resumed.epoch(1, 4)) tail.push(Buffer.from(batch.images.buffer));
    expect(tail.length).toBe(2);
    expect(tail[0]!.equals(pass[4]!)).toBe(true);
    expect(tail[1]!.equals(pass[5]!)).toBe(true);
  });

  it('augments differently in different epochs but not when augmentation is off', async () => {
    const plain = new BatchLoader({ ...options, augment: { cropPadding: 0, horizontalFlip: false }, shuffle: false });
    const a = await plain.batch(0, 0);
    const b = await plain.batch(1, 0);
    expect(Buffer.from(a.images.buffer).equals(Buffer.from(b.images.buffer))).toBe(true);
    const augmented = new BatchLoader({ ...options, shuffle: false });
    const c = await augmented.batch(0, 0);
    const d = await augmented.batch(1, 0);
    expect([...c.labels]).toEqual([...d.labels]);
    expect(Buffer.from(c.images.buffer).equals(Buffer.from(d.images.buffer))).toBe(false);
  });

  it('keeps the last partial batch for evaluation and reads un-shuffled in index order', async () => {
    const loader = new BatchLoader({ ...options, indices: Int32Array.from([3, 4, 10]), augment: undefined, shuffle: false, dropLast: false, batchSize: 2 });
    const last = await loader.batch(0, 1);
    expect(last.size).toBe(1);
    expect([...last.labels]).toEqual([0]); // image 10 → label 10 % 5
    // image 10, pixel 0 = 70 → (70/255 - 0.5) / 0.25
    expect(last.images[0]).toBeCloseTo((70 / 255 - 0.5) / 0.25, 5);
  });

  it('reports a failing read at the batch that needs it, prefetch or not', async () => {
    const failing: ImageSource = {
      ...source,
      name: 'failing',
      labels: source.labels,
      classNames: source.classNames,
      channels: 1,
      storedSize: source.storedSize,
      read: async (indices, h, w, c) => {
        if (Array.from(indices).includes(13)) throw new Error('failing: image 13 is corrupt');
        return source.read(indices, h, w, c);
      },
    };
    const loader = new BatchLoader({ ...options, source: failing, shuffle: false, augment: undefined });
    await loader.batch(0, 0); // prefetches step 1 (images 8..15), which fails
    await expect(loader.batch(0, 1)).rejects.toThrow('failing: image 13 is corrupt');
    await expect(loader.batch(0, 2)).resolves.toMatchObject({ size: 8 });
  });

  it('rejects steps past the epoch and a dataset smaller than one batch', async () => {
    const loader = new BatchLoader(options);
    await expect(loader.batch(0, 6)).rejects.toThrow(/step 6 is outside 0..5/);
    expect(() => new BatchLoader({ ...options, indices: rangeIndices(5) })).toThrow(/5 images make no full batch of 8/);
    expect(() => new BatchLoader({ ...options, preprocess: { ...gray4, mean: [0.5, 0.5] } })).toThrow(/need 1 entries/);
  });

  it('resizes and converts channels through the source when asked', async () => {
    const loader = new BatchLoader({ ...options, preprocess: identity(3, 8), augment: undefined, shuffle: false });
    const batch = await loader.batch(0, 0);
    expect(batch.images.length).toBe(8 * 3 * 8 * 8);
    // gray replicated: the three channel planes of image 0 are equal
    const plane = 64;
    expect(Array.from(batch.images.subarray(0, plane))).toEqual(Array.from(batch.images.subarray(plane, 2 * plane)));
  });
});

describe('computeChannelStats', () => {
  it('gives mean and population std of [0,1] pixels per channel', async () => {
    // Two 1x1 RGB images: (0, 255, 51) and (255, 255, 153).
    const source = new MemoryImageSource({
      name: 'stats', classNames: ['a', 'b'], labels: Int32Array.from([0, 1]),
      pixels: Uint8Array.from([0, 255, 51, 255, 255, 153]), height: 1, width: 1, channels: 3,
    });
    const { mean, std } = await computeChannelStats(source, rangeIndices(2), 1, 3);
    expect(mean[0]).toBeCloseTo(0.5, 10);
    expect(mean[1]).toBeCloseTo(1, 10);
    expect(mean[2]).toBeCloseTo(0.4, 10);
    expect(std[0]).toBeCloseTo(0.5, 10);
    expect(std[1]).toBe(1); // constant channel: std 1 instead of 0
    expect(std[2]).toBeCloseTo(0.2, 10);
  });

  it('samples evenly when there are more images than maxImages', async () => {
    const source = syntheticSource(10, 2, 1); // image i is the single pixel 7i
    const { mean } = await computeChannelStats(source, rangeIndices(10), 1, 1, 5);
    // images 0, 2, 4, 6, 8 → pixels 0, 14, 28, 42, 56 → mean 28
    expect(mean[0]).toBeCloseTo(28 / 255, 10);
  });
});
