// IDX files (MNIST, Fashion-MNIST, KMNIST, ...): a big-endian header (0, 0, dtype, ndims,
// then ndims uint32 sizes) and raw data, often gzipped. Images stay uint8 in memory
// (60000 × 28 × 28 = 47 MB); batches are converted to floats on demand.

import { promises as fs } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import zlib from 'node:zlib';

import { FormatError } from '../../engine/io/errors.js';
import { MemoryImageSource } from '../../engine/data/memory.js';
import type { Dataset } from '../../engine/data/types.js';

const gunzip = promisify(zlib.gunzip);
const gzip = promisify(zlib.gzip);

export const IDX_IMAGES_MAGIC = 0x00000803;
export const IDX_LABELS_MAGIC = 0x00000801;
const UBYTE = 0x08;

export const FASHION_MNIST_CLASSES: readonly string[] = [
  'T-shirt/top', 'Trouser', 'Pullover', 'Dress', 'Coat', 'Sandal', 'Shirt', 'Sneaker', 'Bag', 'Ankle boot',
];

export interface IdxArray {
  dims: number[];
  data: Uint8Array;
}

/** True when `bytes` start with the gzip magic (1f 8b). */
export function isGzip(bytes: Uint8Array): boolean {
  return bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b;
}

/** Decompresses when gzipped (by content, not by name); errors name the file. */
export async function maybeGunzip(bytes: Uint8Array, file: string): Promise<Uint8Array> {
  if (!isGzip(bytes)) return bytes;
  try {
    return await gunzip(bytes);
  } catch (error) {
    const reason = (error as Error).message;
    const truncated = /unexpected end/i.test(reason);
    throw new FormatError(file, `${truncated ? 'is a truncated gzip file' : 'is a corrupt gzip file'} (zlib: ${reason})`);
  }
}

/** Parses an uncompressed uint8 IDX array; `expectedMagic` checks dtype and rank together. */
export function parseIdx(bytes: Uint8Array, file: string, expectedMagic?: number): IdxArray {
  if (bytes.length < 4) throw new FormatError(file, `is ${bytes.length} bytes long, too short for an IDX header`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const magic = view.getUint32(0, false);
  const what = expectedMagic === IDX_IMAGES_MAGIC ? 'an IDX image file' : expectedMagic === IDX_LABELS_MAGIC ? 'an IDX label file' : 'an IDX file';
  const hex = (v: number) => `0x${v.toString(16).padStart(8, '0')}`;
  if (expectedMagic !== undefined && magic !== expectedMagic) {
    throw new FormatError(file, `is not ${what}: magic number ${hex(magic)}, expected ${hex(expectedMagic)}`);
  }
  if (bytes[0] !== 0 || bytes[1] !== 0) throw new FormatError(file, `is not an IDX file: magic number ${hex(magic)} does not start with two zero bytes`);
  if (bytes[2] !== UBYTE) throw new FormatError(file, `holds IDX data type 0x${bytes[2]!.toString(16)}; only unsigned bytes (0x08) are supported`);
  const rank = bytes[3]!;
  const headerBytes = 4 + 4 * rank;
  if (rank === 0 || bytes.length < headerBytes) throw new FormatError(file, `has a truncated or invalid IDX header (${rank} dimensions, ${bytes.length} bytes)`);
  const dims: number[] = [];
  for (let i = 0; i < rank; i++) dims.push(view.getUint32(4 + 4 * i, false));
  const expected = dims.reduce((a, b) => a * b, 1);
  const actual = bytes.length - headerBytes;
  if (actual < expected) {
    throw new FormatError(file, `is truncated: header dims ${dims.join('x')} need ${expected} data bytes, found ${actual}`);
  }
  if (actual > expected) {
    throw new FormatError(file, `has ${actual - expected} bytes after the ${dims.join('x')} data its header announces`);
  }
  return { dims, data: bytes.subarray(headerBytes) };
}

/** Reads a (possibly gzipped) IDX file. */
export async function readIdxFile(file: string, expectedMagic?: number): Promise<IdxArray> {
  const raw = await fs.readFile(file);
  return parseIdx(await maybeGunzip(raw, file), file, expectedMagic);
}

/** Serializes a uint8 IDX array (magic 0x0000 08 ndims). */
export function encodeIdx(dims: readonly number[], data: Uint8Array): Uint8Array {
  const expected = dims.reduce((a, b) => a * b, 1);
  if (data.length !== expected) throw new RangeError(`encodeIdx: dims ${dims.join('x')} need ${expected} bytes, got ${data.length}`);
  const out = new Uint8Array(4 + 4 * dims.length + data.length);
  const view = new DataView(out.buffer);
  out[2] = UBYTE;
  out[3] = dims.length;
  dims.forEach((d, i) => view.setUint32(4 + 4 * i, d, false));
  out.set(data, 4 + 4 * dims.length);
  return out;
}

/** encodeIdx, gzipped (level 9, deterministic output for the same input). */
export async function encodeIdxGz(dims: readonly number[], data: Uint8Array): Promise<Uint8Array> {
  return gzip(encodeIdx(dims, data), { level: 9 });
}

export interface IdxFileSet {
  trainImages: string;
  trainLabels: string;
  testImages: string | null;
  testLabels: string | null;
}

/** train-images-idx3-ubyte[.gz], also with a prefix (emnist-letters-train-...) or a dot (train-images.idx3-ubyte). */
const IDX_NAME = /^(.*?)(train|t10k|test)-(images|labels)[.-]idx([13])-ubyte(\.gz)?$/i;

/** Finds the IDX files in `dir`, or null when there is no train image + label pair. */
export async function findIdxFiles(dir: string): Promise<IdxFileSet | null> {
  let names: string[];
  try {
    names = await fs.readdir(dir);
  } catch {
    return null;
  }
  const found: Record<string, string> = {};
  for (const name of names.sort()) {
    const m = IDX_NAME.exec(name);
    if (!m) continue;
    const split = m[2]!.toLowerCase() === 'train' ? 'train' : 'test';
    const kind = m[3]!.toLowerCase();
    if ((kind === 'images') !== (m[4] === '3')) continue;
    const key = `${split}-${kind}`;
    // Prefer the uncompressed file when both exist (faster to load).
    if (!found[key] || !m[5]) found[key] = path.join(dir, name);
  }
  if (!found['train-images'] || !found['train-labels']) return null;
  const hasTest = Boolean(found['test-images'] && found['test-labels']);
  return {
    trainImages: found['train-images'],
    trainLabels: found['train-labels'],
    testImages: hasTest ? found['test-images']! : null,
    testLabels: hasTest ? found['test-labels']! : null,
  };
}

export interface IdxPair {
  images: IdxArray;
  labels: Uint8Array;
  height: number;
  width: number;
}

/** Reads and cross-checks an image file and its label file. */
export async function readIdxPair(imagesFile: string, labelsFile: string): Promise<IdxPair> {
  const [images, labels] = await Promise.all([readIdxFile(imagesFile, IDX_IMAGES_MAGIC), readIdxFile(labelsFile, IDX_LABELS_MAGIC)]);
  const [count, height, width] = images.dims as [number, number, number];
  if (height === 0 || width === 0) throw new FormatError(imagesFile, `has empty images (${height}x${width})`);
  if (labels.dims[0] !== count) {
    throw new FormatError(imagesFile, `holds ${count} images but ${labelsFile} holds ${labels.dims[0]} labels; the counts must match`);
  }
  return { images, labels: labels.data, height: height, width: width };
}

/** Class names from a `classes.txt` (one per line) beside the files, else null. */
async function readClassesFile(dir: string): Promise<string[] | null> {
  try {
    const text = await fs.readFile(path.join(dir, 'classes.txt'), 'utf8');
    const names = text.split(/\r?\n/).map((l) => l.trim()).filter((l) => l.length > 0);
    return names.length > 0 ? names : null;
  } catch {
    return null;
  }
}

/** Fashion-MNIST and MNIST share file names; the folder's name tells them apart. */
function looksLikeFashionMnist(files: IdxFileSet): boolean {
  return /fashion/i.test(path.resolve(files.trainImages));
}

export interface OpenIdxOptions {
  /** Overrides the class names (otherwise classes.txt, then Fashion-MNIST or digit names). */
  classNames?: readonly string[];
}

/** Opens an IDX dataset folder: the train files, and the t10k (or test) files when present. */
export async function openIdxDataset(dir: string, options: OpenIdxOptions = {}): Promise<Dataset> {
  const files = await findIdxFiles(dir);
  if (!files) {
    throw new FormatError(dir, 'has no IDX training files (expected train-images-idx3-ubyte[.gz] and train-labels-idx1-ubyte[.gz])');
  }
  const train = await readIdxPair(files.trainImages, files.trainLabels);
  const test = files.testImages && files.testLabels ? await readIdxPair(files.testImages, files.testLabels) : null;
  if (test && (test.height !== train.height || test.width !== train.width)) {
    throw new FormatError(files.testImages!, `holds ${test.height}x${test.width} images but ${files.trainImages} holds ${train.height}x${train.width}`);
  }
  let maxLabel = 0;
  let maxLabelFile = files.trainLabels;
  for (const [set, file] of test ? [[train, files.trainLabels], [test, files.testLabels!]] as const : [[train, files.trainLabels]] as const) {
    for (const label of set.labels) {
      if (label > maxLabel) {
        maxLabel = label;
        maxLabelFile = file;
      }
    }
  }
  const numClasses = maxLabel + 1;
  let classNames = options.classNames ?? (await readClassesFile(dir));
  if (!classNames) {
    classNames = numClasses === 10 && looksLikeFashionMnist(files)
      ? FASHION_MNIST_CLASSES
      : Array.from({ length: numClasses }, (_, i) => String(i));
  }
  if (classNames.length < numClasses) {
    throw new FormatError(maxLabelFile, `has label ${maxLabel} but only ${classNames.length} class names are given`);
  }
  const source = (pair: IdxPair, file: string) =>
    new MemoryImageSource({
      name: file,
      classNames,
      labels: Int32Array.from(pair.labels),
      pixels: pair.images.data,
      height: pair.height,
      width: pair.width,
      channels: 1,
    });
  return {
    format: 'idx',
    root: path.resolve(dir),
    train: source(train, files.trainImages),
    test: test ? source(test, files.testImages!) : null,
  };
}
