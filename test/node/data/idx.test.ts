import { promises as fs } from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { FormatError } from '../../../engine/io/errors.js';
import { FASHION_MNIST_CLASSES, encodeIdx, findIdxFiles, openIdxDataset, parseIdx, readIdxFile } from '../../../node/data/idx.js';
import { makeTempDir, removeDir, writeIdxPair } from './helpers.js';

let root: string;
beforeAll(async () => {
  root = await makeTempDir('idx');
});
afterAll(async () => {
  await removeDir(root);
});

async function folder(name: string): Promise<string> {
  const dir = path.join(root, name);
  await fs.mkdir(dir, { recursive: true });
  return dir;
}

describe('IDX parsing', () => {
  it('parses the header dims and keeps the data as uint8', () => {
    const bytes = encodeIdx([2, 2, 3], Uint8Array.from([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]));
    expect([...bytes.subarray(0, 8)]).toEqual([0, 0, 8, 3, 0, 0, 0, 2]);
    const parsed = parseIdx(bytes, 'x', 0x803);
    expect(parsed.dims).toEqual([2, 2, 3]);
    expect([...parsed.data]).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]);
  });

  it('reports truncation and a wrong magic number with the file name', () => {
    const bytes = encodeIdx([2, 2, 2], new Uint8Array(8));
    expect(() => parseIdx(bytes.subarray(0, bytes.length - 3), 'imgs.idx', 0x803)).toThrow(
      'imgs.idx: is truncated: header dims 2x2x2 need 8 data bytes, found 5',
    );
    const labels = encodeIdx([4], new Uint8Array(4));
    expect(() => parseIdx(labels, 'labels.idx', 0x803)).toThrow(
      'labels.idx: is not an IDX image file: magic number 0x00000801, expected 0x00000803',
    );
  });
});

describe('IDX datasets', () => {
  it('opens raw train + t10k files with pixels and labels intact', async () => {
    const dir = await folder('raw');
    const train = await writeIdxPair(dir, 'train', [0, 1, 2, 1]);
    await writeIdxPair(dir, 't10k', [2, 0]);
    const dataset = await openIdxDataset(dir);
    expect(dataset.format).toBe('idx');
    expect([...dataset.train.labels]).toEqual([0, 1, 2, 1]);
    expect([...dataset.test!.labels]).toEqual([2, 0]);
    expect(dataset.train.classNames).toEqual(['0', '1', '2']);
    expect(dataset.train.storedSize).toEqual({ height: 3, width: 3 });
    const image2 = await dataset.train.read([2], 3, 3, 1);
    expect([...image2]).toEqual([20, 21, 22, 23, 24, 25, 26, 27, 28]);
    expect([...image2]).toEqual([...train.pixels.subarray(18, 27)]);
  });

  it('reads gzipped files the same and resizes / converts on read', async () => {
    const dir = await folder('gz');
    await writeIdxPair(dir, 'train', [0, 1], 3, true);
    const dataset = await openIdxDataset(dir);
    expect(dataset.test).toBeNull();
    expect([...(await dataset.train.read([1], 3, 3, 1))]).toEqual([10, 11, 12, 13, 14, 15, 16, 17, 18]);
    const rgb = await dataset.train.read([0, 1], 6, 6, 3);
    expect(rgb.length).toBe(2 * 6 * 6 * 3);
    expect(rgb[0]).toBe(rgb[1]); // gray replicated
  });

  it('names Fashion-MNIST classes when the folder is Fashion-MNIST, classes.txt wins over both', async () => {
    const labels = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9];
    const fashion = await folder('my-fashion-mnist');
    await writeIdxPair(fashion, 'train', labels);
    expect((await openIdxDataset(fashion)).train.classNames).toEqual(FASHION_MNIST_CLASSES);
    const digits = await folder('mnist');
    await writeIdxPair(digits, 'train', labels);
    expect((await openIdxDataset(digits)).train.classNames).toEqual(['0', '1', '2', '3', '4', '5', '6', '7', '8', '9']);
    await fs.writeFile(path.join(digits, 'classes.txt'), 'zero\none\ntwo\nthree\nfour\nfive\nsix\nseven\neight\nnine\n');
    expect((await openIdxDataset(digits)).train.classNames[9]).toBe('nine');
  });

  it('rejects image and label files with different counts, naming both', async () => {
    const dir = await folder('mismatch');
    const { images, labels } = await writeIdxPair(dir, 'train', [0, 1, 0]);
    await fs.writeFile(labels, encodeIdx([2], Uint8Array.from([0, 1])));
    const error = await openIdxDataset(dir).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(FormatError);
    expect((error as Error).message).toBe(`${images}: holds 3 images but ${labels} holds 2 labels; the counts must match`);
  });

  it('rejects a truncated .gz with the file name', async () => {
    const dir = await folder('truncated');
    const { images } = await writeIdxPair(dir, 'train', [0, 1, 0, 1], 8, true);
    const gz = await fs.readFile(images);
    await fs.writeFile(images, gz.subarray(0, gz.length - 10));
    await expect(readIdxFile(images)).rejects.toThrow(`${images}: is a truncated gzip file`);
    await expect(openIdxDataset(dir)).rejects.toThrow(images);
  });

  it('rejects a labels file given as the images file (wrong magic)', async () => {
    const dir = await folder('swapped');
    const { images, labels } = await writeIdxPair(dir, 'train', [0, 1]);
    await fs.copyFile(labels, images);
    await expect(openIdxDataset(dir)).rejects.toThrow(`${images}: is not an IDX image file: magic number 0x00000801, expected 0x00000803`);
  });

  it('finds prefixed, dotted and gz names, preferring uncompressed', async () => {
    const dir = await folder('names');
    for (const name of ['emnist-digits-train-images-idx3-ubyte.gz', 'emnist-digits-train-labels-idx1-ubyte', 'train-images.idx3-ubyte', 't10k-labels-idx1-ubyte.gz']) {
      await fs.writeFile(path.join(dir, name), zlib.gzipSync(Buffer.alloc(0)));
    }
    const files = await findIdxFiles(dir);
    expect(path.basename(files!.trainImages)).toBe('train-images.idx3-ubyte');
    expect(path.basename(files!.trainLabels)).toBe('emnist-digits-train-labels-idx1-ubyte');
    expect(files!.testImages).toBeNull(); // t10k images missing: no test split
  });
});
