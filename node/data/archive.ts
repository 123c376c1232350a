// Extracts a dataset archive (.zip, .tar, .tar.gz/.tgz) into a folder. The formats are
// read by maintained libraries: yauzl for zip (stored or deflated, zip64; names in UTF-8,
// the Info-ZIP Unicode path, or legacy CP437), node-tar for tar (ustar, GNU long names,
// pax, gzip). What stays ours is the policy: every entry name is judged by one guard
// (an entry that would land outside the destination rejects the whole archive), CRC-32
// is checked, the total size is capped (zip bombs), links and macOS resource forks are
// skipped. Extraction goes to a temporary sibling folder renamed into place at the end,
// so the destination appears complete or not at all.

import { randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream, promises as fs } from 'node:fs';
import path from 'node:path';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import zlib from 'node:zlib';
import { Parser as TarParser, type ReadEntry } from 'tar';
import yauzl from 'yauzl';

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

// ---------------------------------------------------------------- zip (yauzl)

/** Counts bytes and CRC-32 of what passes through (yauzl checks sizes, not CRCs). */
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

async function readAt(handle: fs.FileHandle, position: number, length: number): Promise<Buffer> {
  const buffer = Buffer.alloc(length);
  const { bytesRead } = await handle.read(buffer, 0, length, position);
  return buffer.subarray(0, bytesRead);
}

/**
 * An entry's name: the Info-ZIP Unicode Path field when present, UTF-8 when the entry
 * says so (general purpose bit 11), else the legacy code page CP437 (old Windows zips).
 */
function zipEntryName(entry: yauzl.Entry): string {
  return yauzl.getFileNameLowLevel(entry.generalPurposeBitFlag, entry.fileName as unknown as Buffer, entry.extraFields, false);
}

function isZipSymlink(entry: yauzl.Entry): boolean {
  const madeByUnix = entry.versionMadeBy >> 8 === 3;
  return madeByUnix && ((entry.externalFileAttributes >>> 16) & 0o170000) === 0o120000;
}

function openZip(file: string): Promise<yauzl.ZipFile> {
  // Names stay raw (decodeStrings: false) so our own path guard judges them with our messages.
  return new Promise((resolve, reject) => {
    yauzl.open(file, { lazyEntries: true, autoClose: false, decodeStrings: false, validateEntrySizes: true }, (error, zip) => {
      if (error || !zip) reject(new FormatError(file, /central directory|signature not found|end of file|eof/i.test(error?.message ?? '')
        ? `is not a complete zip file: ${error?.message ?? 'unreadable'} (truncated?)`
        : `cannot be read as a zip file (${error?.message ?? 'unreadable'})`));
      else resolve(zip);
    });
  });
}

function nextZipEntry(zip: yauzl.ZipFile, file: string): Promise<yauzl.Entry | null> {
  return new Promise((resolve, reject) => {
    const cleanup = () => {
      zip.off('entry', onEntry);
      zip.off('end', onEnd);
      zip.off('error', onError);
    };
    const onEntry = (entry: yauzl.Entry) => (cleanup(), resolve(entry));
    const onEnd = () => (cleanup(), resolve(null));
    const onError = (error: Error) => (cleanup(), reject(new FormatError(file, `has a damaged central directory (${error.message})`)));
    zip.on('entry', onEntry);
    zip.on('end', onEnd);
    zip.on('error', onError);
    zip.readEntry();
  });
}

function zipEntryStream(zip: yauzl.ZipFile, entry: yauzl.Entry): Promise<NodeJS.ReadableStream> {
  return new Promise((resolve, reject) => zip.openReadStream(entry, (error, stream) => (error || !stream ? reject(error ?? new Error('no data')) : resolve(stream))));
}

async function extractZip(file: string, writer: Writer): Promise<void> {
  const zip = await openZip(file);
  try {
    for (let entry = await nextZipEntry(zip, file); entry; entry = await nextZipEntry(zip, file)) {
      const name = zipEntryName(entry);
      if (isZipSymlink(entry)) {
        safeEntryPath(writer.dest, name, file);
        writer.skipped.push({ name, reason: 'symbolic link' });
        continue;
      }
      const target = writer.target(name);
      if (!target) continue;
      if (name.endsWith('/')) {
        await writer.mkdir(target);
        continue;
      }
      if (entry.isEncrypted()) throw new FormatError(file, `entry "${name}" is encrypted; extract it with a zip tool that knows the password`);
      if (entry.compressionMethod !== 0 && entry.compressionMethod !== 8) {
        throw new FormatError(file, `entry "${name}" uses compression method ${entry.compressionMethod}; only stored (0) and deflate (8) are supported`);
      }
      await writer.mkdir(path.dirname(target));
      const checksum = new Checksum((n) => writer.account(n));
      try {
        await pipeline(await zipEntryStream(zip, entry), checksum, createWriteStream(target));
      } catch (error) {
        if (error instanceof FormatError) throw error;
        const reason = (error as Error).message;
        throw new FormatError(file, /past the end|end of file|eof/i.test(reason) ? `entry "${name}" runs past the end of the file: truncated` : `entry "${name}" cannot be decompressed (${reason})`);
      }
      if (checksum.bytes !== entry.uncompressedSize) throw new FormatError(file, `entry "${name}" decompressed to ${checksum.bytes} bytes, expected ${entry.uncompressedSize}`);
      if (checksum.crc >>> 0 !== entry.crc32 >>> 0) throw new FormatError(file, `entry "${name}" fails its CRC-32 check (corrupt archive)`);
      writer.fileDone();
    }
  } finally {
    zip.close();
  }
}

// ---------------------------------------------------------------- tar (node-tar)

function tarChecksumOk(header: Uint8Array): boolean {
  let sum = 0;
  for (let i = 0; i < TAR_BLOCK; i++) sum += i >= 148 && i < 156 ? 0x20 : header[i]!;
  const stored = parseInt(Buffer.from(header.subarray(148, 156)).toString('latin1').replace(/\0.*$/, '').trim(), 8);
  return stored === sum;
}

const TAR_FILE_TYPES = new Set(['File', 'OldFile', 'ContiguousFile']);

function tarSkipReason(type: string): string {
  if (type === 'SymbolicLink') return 'symbolic link';
  if (type === 'Link') return 'hard link';
  return `special file (tar type ${type})`;
}

/** Reads a tar (gzipped or not: node-tar detects it) and writes its files through `writer`. */
async function extractTar(file: string, writer: Writer): Promise<void> {
  const writes: Promise<void>[] = [];
  /** Entries being written: stopped when the archive fails, so no write waits forever. */
  const open = new Set<ReadEntry>();
  let failure: Error | null = null;
  // strict: a bad header or truncated input is an error, not a warning.
  const parser = new TarParser({ strict: true, file });
  const fail = (error: Error) => {
    failure ??= error;
    parser.abort(error);
  };
  parser.on('entry', (entry: ReadEntry) => {
    if (failure) return entry.resume();
    try {
      const name = entry.path;
      if (TAR_FILE_TYPES.has(entry.type)) {
        const target = writer.target(name);
        if (!target) return entry.resume();
        open.add(entry);
        // Its errors reach us through the pipeline below or as the archive's failure; without
        // a listener, stopping it before that pipeline is attached would throw.
        entry.on('error', () => undefined);
        writes.push((async () => {
          await writer.mkdir(path.dirname(target));
          if (failure) return;
          const counter = new Checksum((n) => writer.account(n));
          await pipeline(entry, counter, createWriteStream(target));
          writer.fileDone();
        })().catch((error: unknown) => fail(error as Error)).finally(() => open.delete(entry)));
        return;
      }
      if (entry.type === 'Directory') {
        const dir = writer.target(name);
        if (dir) writes.push(writer.mkdir(dir).catch((error: unknown) => fail(error as Error)));
      } else {
        safeEntryPath(writer.dest, name, file);
        writer.skipped.push({ name, reason: tarSkipReason(entry.type) });
      }
      entry.resume();
    } catch (error) {
      entry.resume();
      fail(error as Error);
    }
  });
  try {
    await pipeline(createReadStream(file), parser);
  } catch (error) {
    failure ??= error as Error;
  }
  if (failure) for (const entry of open) entry.destroy(failure);
  await Promise.all(writes);
  if (failure) throw tarError(file, failure);
}

function tarError(file: string, error: Error): Error {
  if (error instanceof FormatError) return error;
  const reason = error.message;
  if (/checksum/i.test(reason)) return new FormatError(file, 'has a tar header with a bad checksum (corrupt or not a tar file)');
  if (/truncated|unexpected end/i.test(reason)) return new FormatError(file, `is truncated (${reason.replace(/^TAR_BAD_ARCHIVE: /, '')})`);
  if (/zlib|incorrect header|invalid (stored|block|distance|code)/i.test(reason)) return new FormatError(file, `is a damaged gzip file (zlib: ${reason})`);
  return new FormatError(file, `cannot be read as a tar archive (${reason})`);
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
    else await extractTar(file, writer);
    await fs.rename(temp, dest);
  } catch (error) {
    await fs.rm(temp, { recursive: true, force: true });
    throw error;
  }
  return { dest: path.resolve(dest), kind, files: writer.files, bytes: writer.bytes, skipped: writer.skipped };
}
