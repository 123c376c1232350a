// Builders of malformed inputs for test/cli/bad-input.test.ts: broken images, IDX files,
// gzip, safetensors, npy, learngene metadata. Each writes into `dir` and returns the path.

import { promises as fs } from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import { encodeIdx } from '../../node/data/idx.js';
import { encodeNpy } from '../../engine/io/npy.js';
import { MAX_HEADER_BYTES } from '../../engine/io/safetensors.js';
import { writeNoiseImage, writeSolidImage } from '../node/data/helpers.js';

/** An image-folder dataset: `classes` maps class name → number of good PNGs. */
export async function imageFolder(dir: string, classes: Record<string, number>): Promise<string> {
  for (const [name, count] of Object.entries(classes)) {
    await fs.mkdir(path.join(dir, name), { recursive: true });
    for (let i = 0; i < count; i++) await writeSolidImage(path.join(dir, name, `${i}.png`), 8, 8, [i * 40, name.length * 50, 100]);
  }
  return dir;
}

export async function corruptPngFolder(dir: string): Promise<{ dir: string; bad: string }> {
  await imageFolder(dir, { a: 4, b: 3 });
  const bad = path.join(dir, 'b', 'broken.png');
  await fs.writeFile(bad, Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), Buffer.from('not really a png at all')]));
  return { dir, bad };
}

export async function truncatedJpegFolder(dir: string): Promise<{ dir: string; bad: string }> {
  await imageFolder(dir, { a: 4, b: 3 });
  const bad = path.join(dir, 'b', 'cut.jpg');
  await writeNoiseImage(bad, 64, 64);
  const bytes = await fs.readFile(bad);
  await fs.writeFile(bad, bytes.subarray(0, Math.floor(bytes.length * 0.5)));
  return { dir, bad };
}

function idxImages(count: number, size = 28): Uint8Array {
  return encodeIdx([count, size, size], new Uint8Array(count * size * size).map((_, i) => i % 251));
}
function idxLabels(count: number): Uint8Array {
  return encodeIdx([count], Uint8Array.from({ length: count }, (_, i) => i % 2));
}

export async function idxCountMismatch(dir: string): Promise<string> {
  await fs.mkdir(dir, { recursive: true });
  await fs.writeFile(path.join(dir, 'train-images-idx3-ubyte'), idxImages(10));
  await fs.writeFile(path.join(dir, 'train-labels-idx1-ubyte'), idxLabels(9));
  return dir;
}

export async function idxWrongMagic(dir: string): Promise<string> {
  await fs.mkdir(dir, { recursive: true });
  const images = idxImages(10);
  images[2] = 0x0d; // float32 data type: not the unsigned-byte images we read
  await fs.writeFile(path.join(dir, 'train-images-idx3-ubyte'), images);
  await fs.writeFile(path.join(dir, 'train-labels-idx1-ubyte'), idxLabels(10));
  return dir;
}

export async function idxTruncatedGzip(dir: string): Promise<string> {
  await fs.mkdir(dir, { recursive: true });
  const gz = zlib.gzipSync(idxImages(20));
  await fs.writeFile(path.join(dir, 'train-images-idx3-ubyte.gz'), gz.subarray(0, Math.floor(gz.length / 2)));
  await fs.writeFile(path.join(dir, 'train-labels-idx1-ubyte.gz'), zlib.gzipSync(idxLabels(20)));
  return dir;
}

/** Splits a safetensors file into its JSON header and data section. */
function splitSafetensors(bytes: Uint8Array): { header: Record<string, any>; data: Uint8Array } {
  const length = Number(new DataView(bytes.buffer, bytes.byteOffset).getBigUint64(0, true));
  return { header: JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + length))), data: bytes.subarray(8 + length) };
}

function joinSafetensors(header: Record<string, any>, data: Uint8Array): Uint8Array {
  const text = new TextEncoder().encode(JSON.stringify(header));
  const out = new Uint8Array(8 + text.length + data.length);
  new DataView(out.buffer).setBigUint64(0, BigInt(text.length), true);
  out.set(text, 8);
  out.set(data, 8 + text.length);
  return out;
}

/** A copy of `source` with its header edited by `edit` (data untouched). */
export async function editedSafetensors(source: string, target: string, edit: (header: Record<string, any>) => void): Promise<string> {
  const { header, data } = splitSafetensors(new Uint8Array(await fs.readFile(source)));
  edit(header);
  await fs.writeFile(target, joinSafetensors(header, data));
  return target;
}

export async function truncatedSafetensors(source: string, target: string): Promise<string> {
  const bytes = await fs.readFile(source);
  await fs.writeFile(target, bytes.subarray(0, Math.floor(bytes.length * 0.6)));
  return target;
}

/** The 8-byte header length replaced by `length`. */
export async function headerLength(source: string, target: string, length: number): Promise<string> {
  const bytes = new Uint8Array(await fs.readFile(source));
  new DataView(bytes.buffer, bytes.byteOffset).setBigUint64(0, BigInt(length), true);
  await fs.writeFile(target, bytes);
  return target;
}

export const OVER_HEADER_LIMIT = MAX_HEADER_BYTES + 1;

export async function npyWithShape(target: string, shape: number[]): Promise<string> {
  const count = shape.reduce((a, b) => a * b, 1);
  await fs.writeFile(target, encodeNpy({ shape, data: new Float32Array(count) }));
  return target;
}
