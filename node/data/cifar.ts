// CIFAR-10 / CIFAR-100 "binary version" files. A record is the label byte(s) then a
// 32×32 image as three 1024-byte planes (R, G, B). Records are transposed to HWC once
// at load so batches are plain copies.

import { promises as fs } from 'node:fs';
import path from 'node:path';

import { FormatError } from '../../engine/io/errors.js';
import { MemoryImageSource } from '../../engine/data/memory.js';
import type { Dataset } from '../../engine/data/types.js';
import { isDirectory, isFile } from './files.js';

const SIDE = 32;
const PLANE = SIDE * SIDE;
const IMAGE_BYTES = 3 * PLANE;

export const CIFAR10_CLASSES: readonly string[] = [
  'airplane', 'automobile', 'bird', 'cat', 'deer', 'dog', 'frog', 'horse', 'ship', 'truck',
];

export type CifarKind = 'cifar10' | 'cifar100';

export interface CifarLayout {
  kind: CifarKind;
  dir: string;
  trainFiles: string[];
  testFile: string | null;
}

/** Decoded records: HWC pixels and the (fine) labels. */
export interface CifarRecords {
  pixels: Uint8Array;
  labels: Int32Array;
}

/**
 * Parses CIFAR binary records. `labelBytes` is 1 (CIFAR-10) or 2 (CIFAR-100: coarse,
 * fine; the fine label is kept). Labels ≥ `numClasses` are a FormatError.
 */
export function parseCifarRecords(bytes: Uint8Array, file: string, labelBytes: 1 | 2, numClasses: number): CifarRecords {
  const recordBytes = labelBytes + IMAGE_BYTES;
  if (bytes.length === 0 || bytes.length % recordBytes !== 0) {
    const whole = Math.floor(bytes.length / recordBytes);
    throw new FormatError(file, `is ${bytes.length} bytes, not a whole number of ${recordBytes}-byte records (${whole} whole records, ${bytes.length - whole * recordBytes} bytes left over: truncated or not a ${labelBytes === 1 ? 'CIFAR-10' : 'CIFAR-100'} file)`);
  }
  const count = bytes.length / recordBytes;
  const pixels = new Uint8Array(count * IMAGE_BYTES);
  const labels = new Int32Array(count);
  for (let r = 0; r < count; r++) {
    const base = r * recordBytes;
    const label = bytes[base + labelBytes - 1]!;
    if (label >= numClasses) {
      throw new FormatError(file, `record ${r} has label ${label}; ${labelBytes === 1 ? 'CIFAR-10' : 'CIFAR-100 fine'} labels are 0..${numClasses - 1}`);
    }
    labels[r] = label;
    const planes = base + labelBytes;
    const out = r * IMAGE_BYTES;
    for (let p = 0; p < PLANE; p++) {
      pixels[out + 3 * p] = bytes[planes + p]!;
      pixels[out + 3 * p + 1] = bytes[planes + PLANE + p]!;
      pixels[out + 3 * p + 2] = bytes[planes + 2 * PLANE + p]!;
    }
  }
  return { pixels, labels };
}

/** Finds CIFAR binary files in `dir`, or in its cifar-10-batches-bin / cifar-100-binary sub-folder. */
export async function findCifar(dir: string): Promise<CifarLayout | null> {
  for (const candidate of [dir, path.join(dir, 'cifar-10-batches-bin'), path.join(dir, 'cifar-100-binary')]) {
    if (!(await isDirectory(candidate))) continue;
    const trainFiles: string[] = [];
    for (let i = 1; i <= 5; i++) {
      const file = path.join(candidate, `data_batch_${i}.bin`);
      if (await isFile(file)) trainFiles.push(file);
    }
    if (trainFiles.length > 0) {
      const test = path.join(candidate, 'test_batch.bin');
      return { kind: 'cifar10', dir: candidate, trainFiles, testFile: (await isFile(test)) ? test : null };
    }
    const train = path.join(candidate, 'train.bin');
    if (await isFile(train)) {
      const test = path.join(candidate, 'test.bin');
      return { kind: 'cifar100', dir: candidate, trainFiles: [train], testFile: (await isFile(test)) ? test : null };
    }
  }
  return null;
}

/** Non-empty lines of a names file, or null when it is absent. */
async function readNames(file: string): Promise<string[] | null> {
  try {
    const text = await fs.readFile(file, 'utf8');
    return text.split(/\r?\n/).map((l) => l.trim()).filter((l) => l.length > 0);
  } catch {
    return null;
  }
}

async function readRecords(files: string[], labelBytes: 1 | 2, numClasses: number): Promise<CifarRecords> {
  const parts: CifarRecords[] = [];
  for (const file of files) parts.push(parseCifarRecords(await fs.readFile(file), file, labelBytes, numClasses));
  if (parts.length === 1) return parts[0]!;
  const total = parts.reduce((n, p) => n + p.labels.length, 0);
  const pixels = new Uint8Array(total * IMAGE_BYTES);
  const labels = new Int32Array(total);
  let offset = 0;
  for (const part of parts) {
    pixels.set(part.pixels, offset * IMAGE_BYTES);
    labels.set(part.labels, offset);
    offset += part.labels.length;
  }
  return { pixels, labels };
}

/** Opens a CIFAR-10 or CIFAR-100 binary folder (or its parent). */
export async function openCifarDataset(dir: string): Promise<Dataset> {
  const layout = await findCifar(dir);
  if (!layout) {
    throw new FormatError(dir, 'has no CIFAR binary files (expected data_batch_1.bin … test_batch.bin for CIFAR-10, or train.bin and test.bin for CIFAR-100)');
  }
  const cifar10 = layout.kind === 'cifar10';
  const labelBytes = cifar10 ? 1 : 2;
  const numClasses = cifar10 ? 10 : 100;
  const namesFile = path.join(layout.dir, cifar10 ? 'batches.meta.txt' : 'fine_label_names.txt');
  let classNames = await readNames(namesFile);
  if (!classNames || classNames.length < numClasses) {
    classNames = cifar10 ? [...CIFAR10_CLASSES] : Array.from({ length: numClasses }, (_, i) => String(i));
  }
  classNames = classNames.slice(0, numClasses);
  const train = await readRecords(layout.trainFiles, labelBytes, numClasses);
  const test = layout.testFile ? await readRecords([layout.testFile], labelBytes, numClasses) : null;
  const source = (records: CifarRecords, name: string) =>
    new MemoryImageSource({ name, classNames: classNames!, labels: records.labels, pixels: records.pixels, height: SIDE, width: SIDE, channels: 3 });
  return {
    format: layout.kind,
    root: path.resolve(layout.dir),
    train: source(train, layout.trainFiles.length === 1 ? layout.trainFiles[0]! : path.join(layout.dir, 'data_batch_*.bin')),
    test: test && layout.testFile ? source(test, layout.testFile) : null,
  };
}
