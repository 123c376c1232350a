// Fixture writers for the dataset tests: temp folders, IDX/CIFAR files, images, archives.

import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';

import sharp from 'sharp';

import { encodeIdx } from '../../../node/data/idx.js';

export async function makeTempDir(prefix: string): Promise<string> {
  return fs.mkdtemp(path.join(os.tmpdir(), `learngene-${prefix}-`));
}

export async function removeDir(dir: string): Promise<void> {
  await fs.rm(dir, { recursive: true, force: true });
}

/** Writes images + labels as IDX; `gz` compresses both. Image i pixel p = (i * 10 + p) % 256. */
export async function writeIdxPair(
  dir: string, prefix: 'train' | 't10k', labels: number[], size = 3, gz = false,
): Promise<{ images: string; labels: string; pixels: Uint8Array }> {
  const pixels = new Uint8Array(labels.length * size * size);
  for (let i = 0; i < labels.length; i++) for (let p = 0; p < size * size; p++) pixels[i * size * size + p] = (i * 10 + p) % 256;
  const suffix = gz ? '.gz' : '';
  const imagesFile = path.join(dir, `${prefix}-images-idx3-ubyte${suffix}`);
  const labelsFile = path.join(dir, `${prefix}-labels-idx1-ubyte${suffix}`);
  const imageBytes = encodeIdx([labels.length, size, size], pixels);
  const labelBytes = encodeIdx([labels.length], Uint8Array.from(labels));
  await fs.writeFile(imagesFile, gz ? zlib.gzipSync(imageBytes) : imageBytes);
  await fs.writeFile(labelsFile, gz ? zlib.gzipSync(labelBytes) : labelBytes);
  return { images: imagesFile, labels: labelsFile, pixels };
}

/** A solid-colour image file (format from the extension). */
export async function writeSolidImage(file: string, width: number, height: number, rgb: [number, number, number]): Promise<void> {
  await fs.mkdir(path.dirname(file), { recursive: true });
  await sharp({ create: { width, height, channels: 3, background: { r: rgb[0], g: rgb[1], b: rgb[2] } } }).toFile(file);
}

/** A noisy image (so JPEG has real content to truncate). */
export async function writeNoiseImage(file: string, width: number, height: number, seed = 1): Promise<void> {
  await fs.mkdir(path.dirname(file), { recursive: true });
  const data = Buffer.alloc(width * height * 3);
  let s = seed;
  for (let i = 0; i < data.length; i++) {
    s = (s * 1103515245 + 12345) >>> 0;
    data[i] = s >>> 24;
  }
  await sharp(data, { raw: { width, height, channels: 3 } }).toFile(file);
}

export interface ArchiveEntry {
  name: string;
  data?: Uint8Array | string;
  /** Zip only: store instead of deflate. */
  store?: boolean;
  directory?: boolean;
  /** Zip only: the name's bytes, written without the UTF-8 flag (a legacy CP437 name). */
  rawName?: Buffer;
}

function bytesOf(data: Uint8Array | string | undefined): Buffer {
  return typeof data === 'string' ? Buffer.from(data) : Buffer.from(data ?? new Uint8Array(0));
}

/** A minimal zip writer (local headers + central directory), stored or deflated entries. */
export function makeZip(entries: ArchiveEntry[]): Buffer {
  const locals: Buffer[] = [];
  const centrals: Buffer[] = [];
  let offset = 0;
  for (const entry of entries) {
    // A raw name is written as given without the UTF-8 flag (legacy zips: CP437).
    const name = entry.rawName ?? Buffer.from(entry.directory && !entry.name.endsWith('/') ? `${entry.name}/` : entry.name);
    const flags = entry.rawName ? 0 : 0x0800;
    const raw = bytesOf(entry.data);
    const method = entry.store || entry.directory ? 0 : 8;
    const body = method === 8 ? zlib.deflateRawSync(raw) : raw;
    const crc = zlib.crc32(raw);
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(20, 4);
    local.writeUInt16LE(flags, 6); // bit 11: UTF-8 names
    local.writeUInt16LE(method, 8);
    local.writeUInt32LE(crc, 14);
    local.writeUInt32LE(body.length, 18);
    local.writeUInt32LE(raw.length, 22);
    local.writeUInt16LE(name.length, 26);
    const central = Buffer.alloc(46);
    central.writeUInt32LE(0x02014b50, 0);
    central.writeUInt16LE(20, 4);
    central.writeUInt16LE(20, 6);
    central.writeUInt16LE(flags, 8);
    central.writeUInt16LE(method, 10);
    central.writeUInt32LE(crc, 16);
    central.writeUInt32LE(body.length, 20);
    central.writeUInt32LE(raw.length, 24);
    central.writeUInt16LE(name.length, 28);
    central.writeUInt32LE(offset, 42);
    locals.push(local, name, body);
    centrals.push(central, name);
    offset += 30 + name.length + body.length;
  }
  const directory = Buffer.concat(centrals);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(entries.length, 8);
  end.writeUInt16LE(entries.length, 10);
  end.writeUInt32LE(directory.length, 12);
  end.writeUInt32LE(offset, 16);
  return Buffer.concat([...locals, directory, end]);
}

/** A minimal ustar writer; `type` '2' makes a symbolic link to `data`. */
export function makeTar(entries: (ArchiveEntry & { type?: string })[]): Buffer {
  const blocks: Buffer[] = [];
  for (const entry of entries) {
    const type = entry.type ?? (entry.directory ? '5' : '0');
    const body = type === '0' ? bytesOf(entry.data) : Buffer.alloc(0);
    const header = Buffer.alloc(512);
    header.write(entry.name, 0, 100, 'utf8');
    header.write('0000644\0', 100, 'latin1');
    header.write('0000000\0', 108, 'latin1');
    header.write('0000000\0', 116, 'latin1');
    header.write(body.length.toString(8).padStart(11, '0') + '\0', 124, 'latin1');
    header.write('00000000000\0', 136, 'latin1');
    header.write(type, 156, 'latin1');
    if (type === '2') header.write(String(entry.data ?? ''), 157, 100, 'utf8');
    header.write('ustar\0', 257, 'latin1');
    header.write('00', 263, 'latin1');
    header.fill(0x20, 148, 156);
    let sum = 0;
    for (const b of header) sum += b;
    header.write(sum.toString(8).padStart(6, '0') + '\0 ', 148, 'latin1');
    blocks.push(header, body, Buffer.alloc((512 - (body.length % 512)) % 512));
  }
  blocks.push(Buffer.alloc(1024));
  return Buffer.concat(blocks);
}
