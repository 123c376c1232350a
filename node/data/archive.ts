// Extracts a dataset archive (.zip, .tar, .tar.gz/.tgz) into a folder. Zip entries are
// stored or deflated (zip64 included) and checked against their CRC-32; tar supports
// ustar, GNU long names and pax paths. Entries that would land outside the destination
// reject the whole archive; links and macOS resource forks are skipped. Extraction goes
// to a temporary sibling folder renamed into place at the end, so the destination
// appears complete or not at all.

import { randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream, promises as fs } from 'node:fs';
import path from 'node:path';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import zlib from 'node:zlib';

import { FormatError } from '../../engine/io/errors.js';
import { statOrNull } from './files.js';

export type ArchiveKind = 'zip' | 'tar' | 'tar.gz';

export interface ExtractOptions {
  /** Refuse archives whose contents exceed this many bytes (guards against zip bombs); default 64 GiB. */
  maxBytes?: number;
  /** Called after each extracted file with the running totals. */
  onProgress?: (progress: { files: number; bytes: number }) => void;
}

export interface ExtractResult {
  dest: string;
  kind: ArchiveKind;
  files: number;
  bytes: number;
  /** Entries not written (links, resource forks, special files). */
  skipped: { name: string; reason: string }[];
}

const TAR_BLOCK = 512;

/** The archive kind by content (magic bytes), or null. */
export async function detectArchive(file: string): Promise<ArchiveKind | null> {
  const handle = await fs.open(file, 'r');
  try {
    const head = Buffer.alloc(TAR_BLOCK);
    const { bytesRead } = await handle.read(head, 0, TAR_BLOCK, 0);
    if (bytesRead >= 4 && head.readUInt32LE(0) === 0x04034b50) return 'zip';
    if (bytesRead >= 22 && head.readUInt32LE(0) === 0x06054b50) return 'zip'; // empty zip
    if (bytesRead >= 2 && head[0] === 0x1f && head[1] === 0x8b) return (await gzipHoldsTar(handle)) ? 'tar.gz' : null;
    if (bytesRead === TAR_BLOCK && head.toString('latin1', 257, 262) === 'ustar') return 'tar';
    if (bytesRead === TAR_BLOCK && /\.tar$/i.test(file) && tarChecksumOk(head)) return 'tar'; // pre-POSIX tar
    return null;
  } finally {
    await handle.close();
  }
}

/** Inflates the start of a gzip file and checks for a tar header (a .gz may be a single file). */
async function gzipHoldsTar(handle: fs.FileHandle): Promise<boolean> {
  const head = await readAt(handle, 0, 64 * 1024);
  try {
    const inflated = zlib.gunzipSync(head, { finishFlush: zlib.constants.Z_SYNC_FLUSH });
    if (inflated.length < TAR_BLOCK) return false;
    return inflated.toString('latin1', 257, 262) === 'ustar' || tarChecksumOk(inflated.subarray(0, TAR_BLOCK));
  } catch {
    return false;
  }
}

/** True for names that archive readers recognise as an archive by suffix. */
export function hasArchiveSuffix(file: string): boolean {
  return /\.(zip|tar|tgz|tar\.gz)$/i.test(file);
}

/**
 * Resolves an entry name inside `dest`, or throws when it is absolute or climbs out
 * (zip-slip). Returns null for names that are only the root ("./").
 */
export function safeEntryPath(dest: string, name: string, archive: string): string | null {
  const normalized = name.replace(/\\/g, '/');
  if (normalized.startsWith('/') || /^[a-zA-Z]:/.test(normalized)) {
    throw new FormatError(archive, `entry "${name}" has an absolute path; refusing to extract outside the destination`);
  }
  const parts = normalized.split('/').filter((p) => p !== '' && p !== '.');
  if (parts.includes('..')) {
    throw new FormatError(archive, `entry "${name}" climbs out of the destination with ".."; refusing to extract`);
  }
  if (parts.length === 0) return null;
  const target = path.resolve(dest, ...parts);
  const root = path.resolve(dest);
  if (target !== root && !target.startsWith(root + path.sep)) {
    throw new FormatError(archive, `entry "${name}" resolves outside the destination; refusing to extract`);
  }
  return target;
}

/** macOS adds these to archives; they are metadata, not dataset files. */
function isResourceFork(parts: string): boolean {
  return /(^|\/)__MACOSX(\/|$)/.test(parts) || /(^|\/)\._[^/]*$/.test(parts);
}

class Writer {
  files = 0;
  bytes = 0;
  readonly skipped: { name: string; reason: string }[] = [];
  private readonly madeDirs = new Set<string>();

  constructor(readonly dest: string, readonly archive: string, readonly options: ExtractOptions) {}

  /** Target path for a file entry, or null when it is skipped. */
  target(name: string): string | null {
    const clean = name.replace(/\\/g, '/');
    if (isResourceFork(clean)) {
      this.skipped.push({ name, reason: 'macOS resource fork' });
      // Still validated: a hostile name must not pass silently.
      safeEntryPath(this.dest, name, this.archive);
      return null;
    }
    return safeEntryPath(this.dest, name, this.archive);
  }

  async mkdir(dir: string): Promise<void> {
    if (this.madeDirs.has(dir)) return;
    await fs.mkdir(dir, { recursive: true });
    this.madeDirs.add(dir);
  }

  account(bytes: number): void {
    this.bytes += bytes;
    const limit = this.options.maxBytes ?? 64 * 1024 ** 3;
    if (this.bytes > limit) throw new FormatError(this.archive, `expands to more than ${limit} bytes; refusing to extract (raise maxBytes if this is expected)`);
  }

  /** Writes a file whose bytes were already counted with `account`. */
  async writeFile(target: string, data: Uint8Array): Promise<void> {
    await this.mkdir(path.dirname(target));
    await fs.writeFile(target, data);
    this.fileDone();
  }

  fileDone(): void {
    this.files++;
    this.options.onProgress?.({ files: this.files, bytes: this.bytes });
  }
}

// ---------------------------------------------------------------- zip

interface ZipEntry {
  name: string;
  method: number;
  flags: number;
  crc: number;
  compressedSize: number;
  size: number;
  localOffset: number;
  isDirectory: boolean;
  isSymlink: boolean;
}

async function readAt(handle: fs.FileHandle, position: number, length: number): Promise<Buffer> {
  const buffer = Buffer.alloc(length);
  const { bytesRead } = await handle.read(buffer, 0, length, position);
  return buffer.subarray(0, bytesRead);
}

function readUint64(buffer: Buffer, offset: number): number {
  return Number(buffer.readBigUInt64LE(offset));
}

async function readZipDirectory(handle: fs.FileHandle, size: number, archive: string): Promise<ZipEntry[]> {
  const tailLength = Math.min(size, 22 + 0xffff);
  const tail = await readAt(handle, size - tailLength, tailLength);
  let eocd = -1;
  for (let i = tail.length - 22; i >= 0; i--) {
    if (tail.readUInt32LE(i) === 0x06054b50) {
      eocd = i;
      break;
    }
  }
  if (eocd < 0) throw new FormatError(archive, 'is not a complete zip file: no end-of-central-directory record (truncated?)');
  let count = tail.readUInt16LE(eocd + 10);
  let directorySize = tail.readUInt32LE(eocd + 12);
  let directoryOffset = tail.readUInt32LE(eocd + 16);
  if (count === 0xffff || directorySize === 0xffffffff || directoryOffset === 0xffffffff) {
    const locator = eocd - 20;
    if (locator < 0 || tail.readUInt32LE(locator) !== 0x07064b50) throw new FormatError(archive, 'has a zip64 marker but no zip64 locator');
    const record = await readAt(handle, readUint64(tail, locator + 8), 56);
    if (record.length < 56 || record.readUInt32LE(0) !== 0x06064b50) throw new FormatError(archive, 'has a broken zip64 end-of-central-directory record');
    count = readUint64(record, 32);
    directorySize = readUint64(record, 40);
    directoryOffset = readUint64(record, 48);
  }
  if (directoryOffset + directorySize > size) throw new FormatError(archive, `central directory at ${directoryOffset}+${directorySize} lies past the end of the file (${size} bytes): truncated`);
  const directory = await readAt(handle, directoryOffset, directorySize);
  const entries: ZipEntry[] = [];
  let p = 0;
  for (let i = 0; i < count; i++) {
    if (p + 46 > directory.length || directory.readUInt32LE(p) !== 0x02014b50) throw new FormatError(archive, `central directory entry ${i} is damaged`);
    const madeBy = directory.readUInt16LE(p + 4) >> 8;
    const flags = directory.readUInt16LE(p + 8);
    const method = directory.readUInt16LE(p + 10);
    const crc = directory.readUInt32LE(p + 16);
    let compressedSize = directory.readUInt32LE(p + 20);
    let entrySize = directory.readUInt32LE(p + 24);
    const nameLength = directory.readUInt16LE(p + 28);
    const extraLength = directory.readUInt16LE(p + 30);
    const commentLength = directory.readUInt16LE(p + 32);
    const externalAttributes = directory.readUInt32LE(p + 38);
    let localOffset = directory.readUInt32LE(p + 42);
    const name = directory.toString('utf8', p + 46, p + 46 + nameLength);
    // zip64 extra field: 64-bit values for the fields saturated at 0xffffffff, in this order.
    let extra = p + 46 + nameLength;
    const extraEnd = extra + extraLength;
    while (extra + 4 <= extraEnd) {
      const id = directory.readUInt16LE(extra);
      const length = directory.readUInt16LE(extra + 2);
      if (id === 0x0001) {
        let q = extra + 4;
        if (entrySize === 0xffffffff) (entrySize = readUint64(directory, q)), (q += 8);
        if (compressedSize === 0xffffffff) (compressedSize = readUint64(directory, q)), (q += 8);
        if (localOffset === 0xffffffff) localOffset = readUint64(directory, q);
      }
      extra += 4 + length;
    }
    const unixMode = madeBy === 3 ? externalAttributes >>> 16 : 0;
    entries.push({
      name,
      method,
      flags,
      crc,
      compressedSize,
      size: entrySize,
      localOffset,
      isDirectory: name.endsWith('/'),
      isSymlink: (unixMode & 0o170000) === 0o120000,
    });
    p = extraEnd + commentLength;
  }
  return entries;
}

/** Counts bytes and CRC-32 of what passes through. */
class Checksum extends Transform {
  crc = 0;
  bytes = 0;
  constructor(private readonly onBytes: (n: number) => void) {
    super();
  }
  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null, data?: Buffer) => void): void {
    try {
      this.crc = zlib.crc32(chunk, this.crc);
      this.bytes += chunk.length;
      this.onBytes(chunk.length);
      callback(null, chunk);
    } catch (error) {
      callback(error as Error);
    }
  }
}

async function extractZip(file: string, writer: Writer): Promise<void> {
  const handle = await fs.open(file, 'r');
  try {
    const { size } = await handle.stat();
    const entries = await readZipDirectory(handle, size, file);
    for (const entry of entries) {
      if (entry.isSymlink) {
        safeEntryPath(writer.dest, entry.name, file);
        writer.skipped.push({ name: entry.name, reason: 'symbolic link' });
        continue;
      }
      const target = writer.target(entry.name);
      if (!target) continue;
      if (entry.isDirectory) {
        await writer.mkdir(target);
        continue;
      }
      if (entry.flags & 1) throw new FormatError(file, `entry "${entry.name}" is encrypted; extract it with a zip tool that knows the password`);
      if (entry.method !== 0 && entry.method !== 8) {
        throw new FormatError(file, `entry "${entry.name}" uses compression method ${entry.method}; only stored (0) and deflate (8) are supported`);
      }
      const local = await readAt(handle, entry.localOffset, 30);
      if (local.length < 30 || local.readUInt32LE(0) !== 0x04034b50) throw new FormatError(file, `entry "${entry.name}" has no local header at offset ${entry.localOffset}`);
      const dataStart = entry.localOffset + 30 + local.readUInt16LE(26) + local.readUInt16LE(28);
      if (dataStart + entry.compressedSize > size) throw new FormatError(file, `entry "${entry.name}" runs past the end of the file: truncated`);
      await writer.mkdir(path.dirname(target));
      const checksum = new Checksum((n) => writer.account(n));
      const input = createReadStream('', { fd: handle.fd, start: dataStart, end: dataStart + entry.compressedSize - 1, autoClose: false });
      const output = createWriteStream(target);
      try {
        if (entry.compressedSize === 0) {
          await pipeline(async function* () {}, checksum, output);
        } else if (entry.method === 8) {
          await pipeline(input, zlib.createInflateRaw(), checksum, output);
        } else {
          await pipeline(input, checksum, output);
        }
      } catch (error) {
        if (error instanceof FormatError) throw error;
        throw new FormatError(file, `entry "${entry.name}" cannot be decompressed (${(error as Error).message})`);
      }
      if (checksum.bytes !== entry.size) throw new FormatError(file, `entry "${entry.name}" decompressed to ${checksum.bytes} bytes, expected ${entry.size}`);
      if (checksum.crc >>> 0 !== entry.crc >>> 0) throw new FormatError(file, `entry "${entry.name}" fails its CRC-32 check (corrupt archive)`);
      writer.fileDone();
    }
  } finally {
    await handle.close();
  }
}

// ---------------------------------------------------------------- tar

function tarChecksumOk(header: Uint8Array): boolean {
  let sum = 0;
  for (let i = 0; i < TAR_BLOCK; i++) sum += i >= 148 && i < 156 ? 0x20 : header[i]!;
  const stored = parseInt(Buffer.from(header.subarray(148, 156)).toString('latin1').replace(/\0.*$/, '').trim(), 8);
  return stored === sum;
}

function tarString(header: Buffer, start: number, length: number): string {
  const field = header.subarray(start, start + length);
  const end = field.indexOf(0);
  return field.toString('utf8', 0, end < 0 ? length : end);
}

function tarNumber(header: Buffer, start: number, length: number): number {
  if (header[start]! & 0x80) {
    // GNU base-256 for sizes ≥ 8 GiB.
    let value = 0;
    for (let i = 1; i < length; i++) value = value * 256 + header[start + i]!;
    return value;
  }
  const text = header.toString('latin1', start, start + length).replace(/\0.*$/, '').trim();
  return text === '' ? 0 : parseInt(text, 8);
}

function parsePax(data: Buffer): Record<string, string> {
  const records: Record<string, string> = {};
  let p = 0;
  while (p < data.length) {
    const space = data.indexOf(0x20, p);
    if (space < 0) break;
    const length = parseInt(data.toString('latin1', p, space), 10);
    if (!(length > 0)) break;
    const record = data.toString('utf8', space + 1, p + length - 1);
    const eq = record.indexOf('=');
    if (eq > 0) records[record.slice(0, eq)] = record.slice(eq + 1);
    p += length;
  }
  return records;
}

interface TarEntry {
  name: string;
  target: string | null;
  kind: 'file' | 'pax' | 'longname' | 'skip';
  size: number;
  chunks: Buffer[];
  received: number;
}

/** Streaming tar reader: header blocks, then each entry's data, padded to 512 bytes. */
async function extractTarStream(source: AsyncIterable<Buffer>, archive: string, writer: Writer): Promise<void> {
  let buffered: Buffer = Buffer.alloc(0);
  let ended = false;
  let longName: string | null = null;
  let pax: Record<string, string> = {};
  // Entry being collected: bytes still expected, then the padding to skip.
  let entry = null as TarEntry | null;
  let padding = 0;

  const finishEntry = async (): Promise<void> => {
    const current = entry!;
    entry = null;
    const data = Buffer.concat(current.chunks);
    if (current.kind === 'pax') pax = parsePax(data);
    else if (current.kind === 'longname') longName = data.toString('utf8').replace(/\0.*$/s, '');
    else if (current.kind === 'file' && current.target) await writer.writeFile(current.target, data);
  };

  const startEntry = async (header: Buffer): Promise<void> => {
    if (!tarChecksumOk(header)) throw new FormatError(archive, 'has a tar header with a bad checksum (corrupt or not a tar file)');
    const type = String.fromCharCode(header[156]!);
    let size = tarNumber(header, 124, 12);
    const prefix = header.toString('latin1', 257, 262) === 'ustar' ? tarString(header, 345, 155) : '';
    let name = longName ?? pax.path ?? (prefix ? `${prefix}/${tarString(header, 0, 100)}` : tarString(header, 0, 100));
    if (pax.size && type !== 'x' && type !== 'g') size = Number(pax.size);
    if (type !== 'x' && type !== 'g' && type !== 'L' && type !== 'K') {
      longName = null;
      pax = {};
    }
    let kind: TarEntry['kind'] = 'skip';
    let target: string | null = null;
    if (type === 'x') kind = 'pax';
    else if (type === 'L') kind = 'longname';
    else if (type === 'g' || type === 'K') kind = 'skip';
    else if (type === '0' || type === '\0' || type === '7') {
      kind = 'file';
      target = writer.target(name);
    } else if (type === '5') {
      const dir = writer.target(name);
      if (dir) await writer.mkdir(dir);
    } else {
      safeEntryPath(writer.dest, name, archive);
      const reason = type === '1' ? 'hard link' : type === '2' ? 'symbolic link' : `special file (tar type ${JSON.stringify(type)})`;
      writer.skipped.push({ name, reason });
      name = '';
    }
    padding = (TAR_BLOCK - (size % TAR_BLOCK)) % TAR_BLOCK;
    entry = { name, target, kind, size, chunks: [], received: 0 };
    if (size === 0) await finishEntry();
  };

  for await (const chunk of source) {
    buffered = buffered.length === 0 ? chunk : Buffer.concat([buffered, chunk]);
    let offset = 0;
    while (!ended) {
      if (entry) {
        const e = entry;
        const take = Math.min(e.size - e.received, buffered.length - offset);
        if (take > 0) {
          if (e.kind === 'file') writer.account(take);
          // Copy: `buffered` is reused across chunks.
          e.chunks.push(Buffer.from(buffered.subarray(offset, offset + take)));
          e.received += take;
          offset += take;
        }
        if (e.received < e.size) break;
        await finishEntry();
        continue;
      }
      if (padding > 0) {
        const skip = Math.min(padding, buffered.length - offset);
        padding -= skip;
        offset += skip;
        if (padding > 0) break;
      }
      if (buffered.length - offset < TAR_BLOCK) break;
      const header = buffered.subarray(offset, offset + TAR_BLOCK);
      offset += TAR_BLOCK;
      if (header.every((b) => b === 0)) {
        ended = true; // end-of-archive marker
        break;
      }
      await startEntry(header);
    }
    buffered = buffered.subarray(offset);
    if (ended) break;
  }
  if (!ended && (entry || buffered.length > 0 || padding > 0)) {
    throw new FormatError(archive, `is truncated${entry ? ` inside entry "${entry.name}"` : ''}`);
  }
}

async function extractTar(file: string, gzipped: boolean, writer: Writer): Promise<void> {
  const input = createReadStream(file);
  try {
    if (gzipped) {
      await pipeline(input, zlib.createGunzip(), async (source: AsyncIterable<Buffer>) => extractTarStream(source, file, writer));
    } else {
      await pipeline(input, async (source: AsyncIterable<Buffer>) => extractTarStream(source, file, writer));
    }
  } catch (error) {
    if (error instanceof FormatError) throw error;
    const reason = (error as Error).message;
    throw new FormatError(file, /unexpected end/i.test(reason) ? `is a truncated gzip file (zlib: ${reason})` : `cannot be read as ${gzipped ? 'a .tar.gz' : 'a tar'} archive (${reason})`);
  }
}

/**
 * Extracts `file` into `dest` (which must not exist yet). Writes into a temporary
 * sibling folder and renames it to `dest` when everything succeeded.
 */
export async function extractArchive(file: string, dest: string, options: ExtractOptions = {}): Promise<ExtractResult> {
  const kind = await detectArchive(file);
  if (!kind) throw new FormatError(file, 'is not a zip, tar or tar.gz archive (unrecognised content)');
  if (await statOrNull(dest)) throw new Error(`${dest}: already exists; extract into a new folder`);
  await fs.mkdir(path.dirname(path.resolve(dest)), { recursive: true });
  const temp = `${path.resolve(dest)}.partial-${process.pid}-${randomBytes(4).toString('hex')}`;
  await fs.mkdir(temp);
  const writer = new Writer(temp, file, options);
  try {
    if (kind === 'zip') await extractZip(file, writer);
    else await extractTar(file, kind === 'tar.gz', writer);
    await fs.rename(temp, dest);
  } catch (error) {
    await fs.rm(temp, { recursive: true, force: true });
    throw error;
  }
  return { dest: path.resolve(dest), kind, files: writer.files, bytes: writer.bytes, skipped: writer.skipped };
}
