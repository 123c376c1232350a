import { existsSync, promises as fs } from 'node:fs';
import path from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { classCounts } from '../../../engine/data/pipeline.js';
import { FASHION_MNIST_CLASSES } from '../../../node/data/idx.js';
import { inspectDataset } from '../../../node/data/inspect.js';
import { SAMPLE_DATASET, SYSTEM_FASHION_MNIST, detectDataset, findSampleDataset, openDataset, resolveDefaultDataset } from '../../../node/data/open.js';
import { makeTar, makeTempDir, makeZip, removeDir, writeIdxPair, writeSolidImage } from './helpers.js';

let root: string;
beforeAll(async () => {
  root = await makeTempDir('open');
});
afterAll(async () => {
  await removeDir(root);
});

describe('openDataset detection', () => {
  it('opens an IDX folder, also when given one of its files', async () => {
    const dir = path.join(root, 'idx');
    await fs.mkdir(dir);
    await writeIdxPair(dir, 'train', [0, 1, 1], 3, true);
    await writeIdxPair(dir, 't10k', [1], 3, true);
    const dataset = await openDataset(dir);
    expect(dataset.format).toBe('idx');
    expect(dataset.test!.labels.length).toBe(1);
    expect((await detectDataset(path.join(dir, 'train-images-idx3-ubyte.gz'))).format).toBe('idx');
  });

  it('looks inside a single wrapper folder', async () => {
    const dir = path.join(root, 'wrapped', 'inner');
    await fs.mkdir(dir, { recursive: true });
    await writeIdxPair(dir, 'train', [0, 1]);
    const detected = await detectDataset(path.join(root, 'wrapped'));
    expect(detected).toMatchObject({ format: 'idx', dir });
  });

  it('opens an image-folder zip and a tar.gz via the cache, reusing the extraction', async () => {
    const images = path.join(root, 'images-src');
    await writeSolidImage(path.join(images, 'a', '1.png'), 4, 4, [10, 20, 30]);
    await writeSolidImage(path.join(images, 'b', '1.png'), 4, 4, [40, 50, 60]);
    const png = (name: string) => fs.readFile(path.join(images, name));
    const entries = [
      { name: 'pets/a/1.png', data: await png('a/1.png') },
      { name: 'pets/b/1.png', data: await png('b/1.png') },
    ];
    const zip = path.join(root, 'pets.zip');
    await fs.writeFile(zip, makeZip(entries));
    const tar = path.join(root, 'pets.tar');
    await fs.writeFile(tar, makeTar(entries));
    const cacheDir = path.join(root, 'cache');
    for (const file of [zip, tar]) {
      const dataset = await openDataset(file, { cacheDir });
      expect(dataset.format).toBe('folder');
      expect(dataset.train.classNames).toEqual(['a', 'b']);
      expect(dataset.root.startsWith(cacheDir)).toBe(true);
      expect([...(await dataset.train.read([1], 4, 4, 3)).subarray(0, 3)]).toEqual([40, 50, 60]);
    }
    expect((await fs.readdir(cacheDir)).length).toBe(2);
    await openDataset(zip, { cacheDir });
    expect((await fs.readdir(cacheDir)).length).toBe(2);
  });

  it('says what it looked for when a folder is not a dataset', async () => {
    const dir = path.join(root, 'nothing');
    await fs.mkdir(dir);
    await fs.writeFile(path.join(dir, 'notes.txt'), 'hi');
    const error = (await openDataset(dir).catch((e: unknown) => e)) as Error;
    expect(error.message).toContain(`${dir}: is not a dataset this app recognises`);
    for (const expected of ['train-images-idx3-ubyte', 'data_batch_1.bin', 'train.bin', 'one sub-folder of images per class', '.zip', 'Found: notes.txt']) {
      expect(error.message).toContain(expected);
    }
    await expect(openDataset(path.join(root, 'missing'))).rejects.toThrow(`${path.join(root, 'missing')}: no such file or folder`);
  });
});

describe('default dataset and the embedded sample', () => {
  it('prefers the given path, then the system copy, then the sample', async () => {
    expect(await resolveDefaultDataset('/some/where')).toEqual({ path: '/some/where', origin: 'given' });
    const fallback = await resolveDefaultDataset(undefined, { systemDir: path.join(root, 'no-system-copy') });
    expect(fallback.origin).toBe('sample');
    expect(path.basename(fallback.path)).toBe('fashion-mnist-sample');
    const systemPresent = existsSync(path.join(SYSTEM_FASHION_MNIST, 'train-images-idx3-ubyte.gz'));
    expect((await resolveDefaultDataset()).origin).toBe(systemPresent ? 'system' : 'sample');
  });

  it('loads the sample with 10 Fashion-MNIST classes, balanced', async () => {
    const sampleDir = await findSampleDataset();
    expect(sampleDir).not.toBeNull();
    const manifest = JSON.parse(await fs.readFile(path.join(sampleDir!, 'manifest.json'), 'utf8')) as {
      train: { perClass: number }; test: { perClass: number };
    };
    const dataset = await openDataset(SAMPLE_DATASET);
    expect(dataset.format).toBe('idx');
    expect(dataset.train.classNames).toEqual(FASHION_MNIST_CLASSES);
    expect(classCounts(dataset.train.labels, 10)).toEqual(new Array(10).fill(manifest.train.perClass));
    expect(classCounts(dataset.test!.labels, 10)).toEqual(new Array(10).fill(manifest.test.perClass));
    expect(dataset.train.storedSize).toEqual({ height: 28, width: 28 });
    // Real images, not blanks: Fashion-MNIST's mean pixel is about 0.29 · 255.
    const pixels = await dataset.train.read(Int32Array.from({ length: 100 }, (_, i) => i), 28, 28, 1);
    const mean = pixels.reduce((a, b) => a + b, 0) / pixels.length;
    expect(mean).toBeGreaterThan(50);
    expect(mean).toBeLessThan(100);
  });

  it('inspects the sample without problems', async () => {
    const report = await inspectDataset(SAMPLE_DATASET);
    expect(report).toMatchObject({ format: 'idx', channels: 1, problems: [] });
    expect(report.imageSizes).toEqual({ '28x28': report.splits.train + report.splits.test! });
  });

  it.skipIf(!existsSync(path.join(SYSTEM_FASHION_MNIST, 'train-images-idx3-ubyte.gz')))('opens the full system Fashion-MNIST (60000 + 10000)', async () => {
    const dataset = await openDataset(SYSTEM_FASHION_MNIST);
    expect(dataset.train.labels.length).toBe(60000);
    expect(dataset.test!.labels.length).toBe(10000);
    expect(classCounts(dataset.train.labels, 10)).toEqual(new Array(10).fill(6000));
    expect(dataset.train.classNames[9]).toBe('Ankle boot');
  });
});

describe('inspectDataset on binary formats', () => {
  it('reports a broken IDX dataset as an error naming both files', async () => {
    const dir = path.join(root, 'broken-idx');
    await fs.mkdir(dir);
    const { images } = await writeIdxPair(dir, 'train', [0, 1, 0]);
    const { labels } = await writeIdxPair(path.join(root), 'train', [0, 1]);
    await fs.copyFile(labels, path.join(dir, 'train-labels-idx1-ubyte'));
    const report = await inspectDataset(dir);
    expect(report.format).toBe('idx');
    expect(report.problems).toHaveLength(1);
    expect(report.problems[0]).toMatchObject({ file: images, severity: 'error' });
    expect(report.problems[0]!.message).toContain('holds 3 images but');
    expect(report.problems[0]!.message).toContain('train-labels-idx1-ubyte holds 2 labels');
  });
});
