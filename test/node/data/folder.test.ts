import { promises as fs } from 'node:fs';
import path from 'node:path';

import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { BatchLoader } from '../../../engine/data/pipeline.js';
import { FormatError } from '../../../engine/io/errors.js';
import { openFolderDataset, scanImageFolder } from '../../../node/data/folder.js';
import { formatInspectReport, inspectDataset } from '../../../node/data/inspect.js';
import { makeTempDir, removeDir, writeNoiseImage, writeSolidImage } from './helpers.js';

let root: string;
beforeAll(async () => {
  root = await makeTempDir('folder');
});
afterAll(async () => {
  await removeDir(root);
});

/** cats: 2 red PNGs (one 10x12); dogs: a gray PNG and a blue JPEG; plus noise. */
async function makeGoodDataset(dir: string): Promise<void> {
  await writeSolidImage(path.join(dir, 'dogs', 'b.jpg'), 16, 16, [0, 0, 255]);
  await fs.mkdir(path.join(dir, 'dogs'), { recursive: true });
  await sharp({ create: { width: 9, height: 9, channels: 3, background: { r: 90, g: 90, b: 90 } } })
    .toColourspace('b-w')
    .png()
    .toFile(path.join(dir, 'dogs', 'a.png'));
  await writeSolidImage(path.join(dir, 'cats', 'x.png'), 10, 12, [255, 0, 0]);
  await writeSolidImage(path.join(dir, 'cats', 'nested', 'y.png'), 20, 20, [255, 0, 0]);
  await fs.writeFile(path.join(dir, 'cats', '.DS_Store'), 'junk');
  await fs.writeFile(path.join(dir, 'dogs', 'notes.txt'), 'not an image');
}

describe('image folder datasets', () => {
  it('sorts classes, walks sub-folders, ignores hidden and non-image files', async () => {
    const dir = path.join(root, 'good');
    await makeGoodDataset(dir);
    const dataset = await openFolderDataset(dir);
    expect(dataset.format).toBe('folder');
    expect(dataset.test).toBeNull();
    expect(dataset.train.classNames).toEqual(['cats', 'dogs']);
    expect([...dataset.train.labels]).toEqual([0, 0, 1, 1]);
    expect(dataset.train.channels).toBe(3);
    const files = (dataset.train as unknown as { files: string[] }).files.map((f) => path.relative(dir, f));
    expect(files).toEqual([path.join('cats', 'nested', 'y.png'), path.join('cats', 'x.png'), path.join('dogs', 'a.png'), path.join('dogs', 'b.jpg')]);
  });

  it('decodes, resizes and converts channels on read', async () => {
    const dataset = await openFolderDataset(path.join(root, 'good'));
    const rgb = await dataset.train.read([1, 2], 8, 8, 3);
    expect(rgb.length).toBe(2 * 8 * 8 * 3);
    expect([...rgb.subarray(0, 3)]).toEqual([255, 0, 0]); // solid red survives resizing
    expect([...rgb.subarray(8 * 8 * 3, 8 * 8 * 3 + 3)]).toEqual([90, 90, 90]); // gray PNG replicated
    const gray = await dataset.train.read([1], 8, 8, 1);
    expect(gray[0]).toBe(76); // 0.299 · 255
    const jpeg = await dataset.train.read([3], 4, 4, 3);
    expect(jpeg[2]).toBeGreaterThan(240); // blue, give or take JPEG
    expect(jpeg[0]).toBeLessThan(15);
  });

  it('feeds a BatchLoader with deterministic batches', async () => {
    const dataset = await openFolderDataset(path.join(root, 'good'));
    const options = {
      source: dataset.train, indices: Int32Array.from([0, 1, 2, 3]), batchSize: 2, seed: 3, shuffle: true, dropLast: true,
      preprocess: { imageSize: 8, channels: 3, mean: [0.5, 0.5, 0.5], std: [0.5, 0.5, 0.5] },
      augment: { cropPadding: 1, horizontalFlip: true },
    };
    const a = await new BatchLoader(options).batch(1, 1);
    const b = await new BatchLoader({ ...options, prefetch: false }).batch(1, 1);
    expect(Buffer.from(a.images.buffer).equals(Buffer.from(b.images.buffer))).toBe(true);
    expect(a.images.every((v) => v >= -1 && v <= 1)).toBe(true);
  });

  it('reads a train/ + test/ layout with the test labels following train class names', async () => {
    const dir = path.join(root, 'split');
    await writeSolidImage(path.join(dir, 'train', 'ant', '1.png'), 5, 5, [1, 2, 3]);
    await writeSolidImage(path.join(dir, 'train', 'bee', '1.png'), 5, 5, [4, 5, 6]);
    await writeSolidImage(path.join(dir, 'train', 'bee', '2.png'), 5, 5, [4, 5, 6]);
    await writeSolidImage(path.join(dir, 'val', 'bee', '9.png'), 5, 5, [4, 5, 6]);
    const dataset = await openFolderDataset(dir);
    expect(dataset.train.classNames).toEqual(['ant', 'bee']);
    expect([...dataset.train.labels]).toEqual([0, 1, 1]);
    expect([...dataset.test!.labels]).toEqual([1]);
    expect(dataset.test!.name).toBe(path.join(dir, 'val'));
  });

  it('rejects an empty class folder and a single class, naming the folder', async () => {
    const empty = path.join(root, 'empty-class');
    await writeSolidImage(path.join(empty, 'a', '1.png'), 4, 4, [0, 0, 0]);
    await fs.mkdir(path.join(empty, 'b'), { recursive: true });
    await fs.writeFile(path.join(empty, 'b', 'readme.md'), 'no images here');
    const error = await openFolderDataset(empty).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(FormatError);
    expect((error as FormatError).file).toBe(path.join(empty, 'b'));
    expect((error as Error).message).toMatch(/class folder "b" has no images/);

    const single = path.join(root, 'single');
    await writeSolidImage(path.join(single, 'only', '1.png'), 4, 4, [0, 0, 0]);
    await expect(openFolderDataset(single)).rejects.toThrow(`${single}: has a single class folder ("only"); a classifier needs at least two classes`);
  });

  it('reports a truncated JPEG by path when it is read', async () => {
    const dir = path.join(root, 'truncated');
    await writeNoiseImage(path.join(dir, 'a', 'good.jpg'), 32, 32);
    const bad = path.join(dir, 'b', 'bad.jpg');
    await writeNoiseImage(bad, 32, 32, 7);
    const bytes = await fs.readFile(bad);
    await fs.writeFile(bad, bytes.subarray(0, bytes.length >> 1));
    const dataset = await openFolderDataset(dir);
    await expect(dataset.train.read([0], 8, 8, 3)).resolves.toHaveLength(192);
    await expect(dataset.train.read([0, 1], 8, 8, 3)).rejects.toThrow(`${bad}: cannot be decoded as an image`);
  });

  it('scans without decoding and returns null for a folder without sub-folders', async () => {
    const flat = path.join(root, 'flat');
    await writeSolidImage(path.join(flat, 'x.png'), 4, 4, [0, 0, 0]);
    expect(await scanImageFolder(flat)).toBeNull();
  });
});

describe('inspectDataset on folders', () => {
  it('decodes every image and lists problems with their paths', async () => {
    const dir = path.join(root, 'inspect');
    await makeGoodDataset(dir);
    const bad = path.join(dir, 'dogs', 'broken.jpg');
    await writeNoiseImage(bad, 40, 30, 3);
    const bytes = await fs.readFile(bad);
    await fs.writeFile(bad, bytes.subarray(0, bytes.length - 200));
    await fs.writeFile(path.join(dir, 'dogs', 'fake.png'), 'this is not a png');
    await fs.mkdir(path.join(dir, 'birds'));
    await fs.writeFile(path.join(dir, 'loose.txt'), 'outside any class');

    const report = await inspectDataset(dir);
    expect(report.format).toBe('folder');
    expect(report.classes).toEqual([
      { name: 'birds', count: 0 },
      { name: 'cats', count: 2 },
      { name: 'dogs', count: 4 },
    ]);
    expect(report.splits).toEqual({ train: 6, test: null });
    expect(report.imageSizes).toEqual({ '20x20': 1, '10x12': 1, '9x9': 1, '16x16': 1 });
    expect(report.channels).toBe(3);
    const find = (file: string) => report.problems.filter((p) => p.file === file);
    expect(find(bad)).toEqual([expect.objectContaining({ severity: 'error', message: expect.stringMatching(/cannot be decoded as an image/) })]);
    expect(find(path.join(dir, 'dogs', 'fake.png'))[0]!.severity).toBe('error');
    expect(find(path.join(dir, 'birds'))[0]).toMatchObject({ severity: 'error', message: expect.stringMatching(/class folder "birds" has no images/) });
    expect(find(path.join(dir, 'cats', '.DS_Store'))[0]).toMatchObject({ severity: 'warning', message: 'ignored: hidden file' });
    expect(find(path.join(dir, 'dogs', 'notes.txt'))[0]).toMatchObject({ severity: 'warning', message: expect.stringMatching(/not an image file \(\.txt/) });
    expect(find(path.join(dir, 'loose.txt'))[0]!.severity).toBe('warning');
    // errors first
    expect(report.problems.findIndex((p) => p.severity === 'warning')).toBe(3);

    const text = formatInspectReport(report);
    expect(text).toContain('Images:  6 train, no test split');
    expect(text).toMatch(/dogs\s+4/);
    expect(text).toContain('Problems: 3 errors, 3 warnings');
    expect(text).toContain(`error   ${bad}: cannot be decoded as an image`);
  });

  it('reports a grayscale-only folder as 1 channel, with test counts for a split layout', async () => {
    const dir = path.join(root, 'inspect-gray');
    for (const [split, cls, n] of [['train', 'a', 2], ['train', 'b', 1], ['test', 'a', 1]] as const) {
      for (let i = 0; i < n; i++) {
        await fs.mkdir(path.join(dir, split, cls), { recursive: true });
        await sharp({ create: { width: 6, height: 6, channels: 3, background: { r: 9, g: 9, b: 9 } } })
          .toColourspace('b-w')
          .png()
          .toFile(path.join(dir, split, cls, `${i}.png`));
      }
    }
    const report = await inspectDataset(dir);
    expect(report.channels).toBe(1);
    expect(report.splits).toEqual({ train: 3, test: 1 });
    expect(report.classes).toEqual([
      { name: 'a', count: 2, testCount: 1 },
      { name: 'b', count: 1, testCount: 0 },
    ]);
    expect(report.problems).toEqual([
      { file: path.join(dir, 'test'), severity: 'warning', message: 'has no folder for class "b"; that class is not tested' },
    ]);
  });
});
