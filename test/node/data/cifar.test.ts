import { promises as fs } from 'node:fs';
import path from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { CIFAR10_CLASSES, openCifarDataset, parseCifarRecords } from '../../../node/data/cifar.js';
import { openDataset } from '../../../node/data/open.js';
import { makeTempDir, removeDir } from './helpers.js';

/** Records whose R plane at pixel p is (seed + p) % 256, G = R + 1, B = R + 2 (mod 256). */
function records(labels: number[][], seedBase = 0): Buffer {
  const labelBytes = labels[0]!.length;
  const out = Buffer.alloc(labels.length * (labelBytes + 3072));
  labels.forEach((label, r) => {
    const base = r * (labelBytes + 3072);
    label.forEach((b, i) => (out[base + i] = b));
    for (let c = 0; c < 3; c++) {
      for (let p = 0; p < 1024; p++) out[base + labelBytes + c * 1024 + p] = (seedBase + r * 50 + p + c) % 256;
    }
  });
  return out;
}

let root: string;
beforeAll(async () => {
  root = await makeTempDir('cifar');
});
afterAll(async () => {
  await removeDir(root);
});

describe('CIFAR binaries', () => {
  it('converts CHW records to HWC', () => {
    const { pixels, labels } = parseCifarRecords(records([[7], [3]]), 'x.bin', 1, 10);
    expect([...labels]).toEqual([7, 3]);
    // record 1, pixel (y=2, x=5) → p = 69; R = 50 + 69, G = R + 1, B = R + 2
    const at = 3072 + (2 * 32 + 5) * 3;
    expect([...pixels.subarray(at, at + 3)]).toEqual([119, 120, 121]);
  });

  it('opens CIFAR-10 from its parent folder with names from batches.meta.txt', async () => {
    const dir = path.join(root, 'c10', 'cifar-10-batches-bin');
    await fs.mkdir(dir, { recursive: true });
    await fs.writeFile(path.join(dir, 'data_batch_1.bin'), records([[0], [1]]));
    await fs.writeFile(path.join(dir, 'data_batch_2.bin'), records([[9]], 100));
    await fs.writeFile(path.join(dir, 'test_batch.bin'), records([[4]]));
    await fs.writeFile(path.join(dir, 'batches.meta.txt'), CIFAR10_CLASSES.map((n) => n.toUpperCase()).join('\n') + '\n\n');
    const dataset = await openDataset(path.join(root, 'c10'));
    expect(dataset.format).toBe('cifar10');
    expect(dataset.root).toBe(dir);
    expect([...dataset.train.labels]).toEqual([0, 1, 9]);
    expect([...dataset.test!.labels]).toEqual([4]);
    expect(dataset.train.classNames[9]).toBe('TRUCK');
    expect(dataset.train.channels).toBe(3);
    const image = await dataset.train.read([2], 32, 32, 3); // first record of batch 2
    expect([...image.subarray(0, 6)]).toEqual([100, 101, 102, 101, 102, 103]);
    const gray = await dataset.train.read([2], 32, 32, 1);
    // round(0.299·100 + 0.587·101 + 0.114·102) = 101
    expect(gray[0]).toBe(101);
  });

  it('opens CIFAR-100 using the fine label and fine_label_names.txt', async () => {
    const dir = path.join(root, 'c100');
    await fs.mkdir(dir, { recursive: true });
    await fs.writeFile(path.join(dir, 'train.bin'), records([[3, 42], [19, 99]]));
    await fs.writeFile(path.join(dir, 'test.bin'), records([[0, 7]]));
    await fs.writeFile(path.join(dir, 'fine_label_names.txt'), Array.from({ length: 100 }, (_, i) => `fine${i}`).join('\n'));
    const dataset = await openCifarDataset(dir);
    expect(dataset.format).toBe('cifar100');
    expect([...dataset.train.labels]).toEqual([42, 99]);
    expect(dataset.train.classNames.length).toBe(100);
    expect(dataset.train.classNames[42]).toBe('fine42');
    expect([...dataset.test!.labels]).toEqual([7]);
  });

  it('rejects a truncated file and an out-of-range label, naming the file', async () => {
    const dir = path.join(root, 'bad');
    await fs.mkdir(dir, { recursive: true });
    const file = path.join(dir, 'data_batch_1.bin');
    await fs.writeFile(file, records([[1], [2]]).subarray(0, 3073 + 100));
    await expect(openCifarDataset(dir)).rejects.toThrow(`${file}: is 3173 bytes, not a whole number of 3073-byte records`);
    await fs.writeFile(file, records([[1], [12]]));
    await expect(openCifarDataset(dir)).rejects.toThrow(`${file}: record 1 has label 12; CIFAR-10 labels are 0..9`);
  });
});
