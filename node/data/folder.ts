// Image-folder datasets (torchvision ImageFolder layout): one sub-folder per class, class
// names sorted, images of any size decoded with sharp when read. Optionally split:
// root/train/<class>/... plus root/test/<class>/... (or val/, valid/, validation/).

import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import sharp from 'sharp';

import { convertChannels } from '../../engine/data/image.js';
import type { Dataset, ImageSource } from '../../engine/data/types.js';
import { FormatError } from '../../engine/io/errors.js';
import { compareNames, isHiddenName, mapLimit } from './files.js';

/** Something wrong (error) or worth knowing (warning) about one file or folder. */
export interface DatasetProblem {
  file: string;
  severity: 'error' | 'warning';
  message: string;
}

/** File suffixes sharp can decode from a file here (prebuilt libvips: no BMP, no HEIC). */
export const IMAGE_EXTENSIONS: ReadonlySet<string> = (() => {
  const suffixes = new Set<string>();
  for (const [name, info] of Object.entries(sharp.format)) {
    // Vector and libvips-internal formats are not photographs of a class.
    if (name === 'svg' || name === 'vips' || name === 'pdf' || !info.input.file) continue;
    for (const suffix of (info.input as { fileSuffix?: string[] }).fileSuffix ?? []) suffixes.add(suffix.toLowerCase());
  }
  return suffixes;
})();

/** Image formats people use that this build of sharp cannot decode, with what to do. */
const UNREADABLE_IMAGE_HINTS: Record<string, string> = {
  '.bmp': 'BMP is not supported by the bundled image decoder; convert to PNG',
  '.heic': 'HEIC is not supported by the bundled image decoder; convert to JPEG or PNG',
  '.heif': 'HEIF is not supported by the bundled image decoder; convert to JPEG or PNG',
  '.jxl': 'JPEG XL is not supported by the bundled image decoder; convert to PNG',
  '.jp2': 'JPEG 2000 is not supported by the bundled image decoder; convert to PNG',
  '.ppm': 'PPM is not supported; convert to PNG',
  '.pgm': 'PGM is not supported; convert to PNG',
};

export function isImageFileName(name: string): boolean {
  return IMAGE_EXTENSIONS.has(path.extname(name).toLowerCase());
}

const TEST_DIR_NAMES = ['test', 'val', 'valid', 'validation'];

export interface ClassFolder {
  name: string;
  dir: string;
  /** Image files, sorted by path. */
  files: string[];
}

export interface SplitScan {
  dir: string;
  classes: ClassFolder[];
}

export interface FolderScan {
  root: string;
  /** 'classes': root/<class>/...; 'split': root/train/<class>/... and maybe root/test/<class>/... */
  layout: 'classes' | 'split';
  train: SplitScan;
  test: SplitScan | null;
  /** Files and folders skipped (hidden, not images, outside any class): warnings for inspect. */
  ignored: DatasetProblem[];
}

async function listDir(dir: string): Promise<import('node:fs').Dirent[]> {
  const entries = await fs.readdir(dir, { withFileTypes: true });
  return entries.sort((a, b) => compareNames(a.name, b.name));
}

async function entryIsDirectory(dir: string, entry: import('node:fs').Dirent): Promise<boolean> {
  if (entry.isDirectory()) return true;
  if (!entry.isSymbolicLink()) return false;
  try {
    return (await fs.stat(path.join(dir, entry.name))).isDirectory();
  } catch {
    return false;
  }
}

function ignoredReason(name: string): string {
  if (isHiddenName(name)) return 'ignored: hidden file';
  const ext = path.extname(name).toLowerCase();
  const hint = UNREADABLE_IMAGE_HINTS[ext];
  if (hint) return `ignored: ${hint}`;
  return `ignored: not an image file (${ext || 'no extension'}; readable: ${[...IMAGE_EXTENSIONS].join(' ')})`;
}

/** Image files under `dir`, recursively (like ImageFolder), sorted; everything else goes to `ignored`. */
async function collectImages(dir: string, ignored: DatasetProblem[]): Promise<string[]> {
  const files: string[] = [];
  for (const entry of await listDir(dir)) {
    const full = path.join(dir, entry.name);
    if (await entryIsDirectory(dir, entry)) {
      if (isHiddenName(entry.name)) ignored.push({ file: full, severity: 'warning', message: 'ignored: hidden folder' });
      else files.push(...(await collectImages(full, ignored)));
    } else if (!isHiddenName(entry.name) && isImageFileName(entry.name)) {
      files.push(full);
    } else {
      ignored.push({ file: full, severity: 'warning', message: ignoredReason(entry.name) });
    }
  }
  return files;
}

/** Class folders directly under `dir`; loose files there are reported as ignored. */
async function scanSplit(dir: string, ignored: DatasetProblem[]): Promise<SplitScan> {
  const classes: ClassFolder[] = [];
  for (const entry of await listDir(dir)) {
    const full = path.join(dir, entry.name);
    if (await entryIsDirectory(dir, entry)) {
      if (isHiddenName(entry.name)) ignored.push({ file: full, severity: 'warning', message: 'ignored: hidden folder' });
      else classes.push({ name: entry.name, dir: full, files: await collectImages(full, ignored) });
    } else {
      const reason = isHiddenName(entry.name) ? 'ignored: hidden file' : 'ignored: a file directly in the dataset folder belongs to no class (put it in a class sub-folder)';
      ignored.push({ file: full, severity: 'warning', message: reason });
    }
  }
  return { dir, classes };
}

async function subdirectories(dir: string): Promise<string[]> {
  const names: string[] = [];
  for (const entry of await listDir(dir)) if (!isHiddenName(entry.name) && (await entryIsDirectory(dir, entry))) names.push(entry.name);
  return names;
}

/**
 * Lists an image-folder dataset without decoding anything. Returns null when `root` has
 * no sub-folders at all (so it is not an image folder).
 */
export async function scanImageFolder(root: string): Promise<FolderScan | null> {
  const dirs = await subdirectories(root);
  if (dirs.length === 0) return null;
  const trainName = dirs.find((d) => d.toLowerCase() === 'train');
  if (trainName && (await subdirectories(path.join(root, trainName))).length > 0) {
    const ignored: DatasetProblem[] = [];
    const testName = TEST_DIR_NAMES.map((t) => dirs.find((d) => d.toLowerCase() === t)).find((d) => d !== undefined) ?? null;
    for (const entry of await listDir(root)) {
      if (entry.name === trainName || entry.name === testName) continue;
      const full = path.join(root, entry.name);
      const what = (await entryIsDirectory(root, entry)) ? 'folder' : 'file';
      ignored.push({
        file: full,
        severity: 'warning',
        message: isHiddenName(entry.name) ? `ignored: hidden ${what}` : `ignored: with a ${trainName}/ folder, only ${trainName}/ and ${testName ?? 'test'}/ are read`,
      });
    }
    const train = await scanSplit(path.join(root, trainName), ignored);
    const test = testName ? await scanSplit(path.join(root, testName), ignored) : null;
    return { root, layout: 'split', train, test, ignored };
  }
  const ignored: DatasetProblem[] = [];
  return { root, layout: 'classes', train: await scanSplit(root, ignored), test: null, ignored };
}

/** Problems of the layout itself (no decoding): empty classes, one class, test classes unknown to train. */
export function folderLayoutProblems(scan: FolderScan): DatasetProblem[] {
  const problems: DatasetProblem[] = [];
  const { train, test } = scan;
  if (train.classes.length === 0) {
    problems.push({ file: train.dir, severity: 'error', message: 'has no class sub-folders (expected one folder of images per class)' });
  } else if (train.classes.length === 1) {
    problems.push({ file: train.dir, severity: 'error', message: `has a single class folder ("${train.classes[0]!.name}"); a classifier needs at least two classes` });
  }
  for (const cls of train.classes) {
    if (cls.files.length === 0) {
      problems.push({ file: cls.dir, severity: 'error', message: `class folder "${cls.name}" has no images (${[...IMAGE_EXTENSIONS].join(' ')})` });
    }
  }
  const counts = train.classes.map((c) => c.files.length).filter((n) => n > 0);
  if (counts.length > 1 && Math.max(...counts) > 10 * Math.min(...counts)) {
    const smallest = train.classes.find((c) => c.files.length === Math.min(...counts))!;
    const largest = train.classes.find((c) => c.files.length === Math.max(...counts))!;
    problems.push({
      file: train.dir,
      severity: 'warning',
      message: `classes are very unbalanced: "${largest.name}" has ${largest.files.length} images, "${smallest.name}" ${smallest.files.length}`,
    });
  }
  if (test) {
    const trainNames = new Set(train.classes.map((c) => c.name));
    const testNames = new Set(test.classes.map((c) => c.name));
    for (const cls of test.classes) {
      if (!trainNames.has(cls.name)) {
        problems.push({ file: cls.dir, severity: 'error', message: `test class "${cls.name}" has no folder in ${train.dir}` });
      } else if (cls.files.length === 0) {
        problems.push({ file: cls.dir, severity: 'warning', message: `test class folder "${cls.name}" has no images` });
      }
    }
    for (const cls of train.classes) {
      if (!testNames.has(cls.name)) problems.push({ file: test.dir, severity: 'warning', message: `has no folder for class "${cls.name}"; that class is not tested` });
    }
  }
  return problems;
}

export interface DecodedImage {
  pixels: Uint8Array;
  height: number;
  width: number;
  channels: number;
}

function decodeError(file: string, error: unknown): FormatError {
  const reason = (error as Error).message ?? String(error);
  return new FormatError(file, `cannot be decoded as an image (${reason})`);
}

/**
 * Decodes `file` with sharp, resized to height × width (fit 'fill', i.e. stretched like
 * torchvision Resize((h, w))) and converted to `channels`. EXIF rotation is applied and
 * alpha dropped (like PIL convert('RGB')). Errors name the file.
 */
export async function decodeImageFile(
  file: string, height: number, width: number, channels: number,
  failOn: 'none' | 'truncated' | 'error' | 'warning' = 'error',
): Promise<Uint8Array> {
  let result: { data: Buffer; info: sharp.OutputInfo };
  try {
    // sRGB out for every input (gray, palette, CMYK, 16-bit): gray is computed below with
    // the same luma formula the rest of the engine uses.
    result = await sharp(file, { failOn })
      .rotate()
      .resize(width, height, { fit: 'fill', kernel: 'linear' })
      .removeAlpha()
      .toColourspace('srgb')
      .raw({ depth: 'uchar' })
      .toBuffer({ resolveWithObject: true });
  } catch (error) {
    throw decodeError(file, error);
  }
  const { data, info } = result;
  if (info.channels !== 1 && info.channels !== 3) throw new FormatError(file, `decoded to ${info.channels} channels; expected 1 or 3`);
  const pixels = height * width;
  if (data.length !== pixels * info.channels) throw new FormatError(file, `decoded to ${data.length} bytes, expected ${pixels * info.channels}`);
  return convertChannels(data, pixels, info.channels, channels);
}

/** Decodes `file` at its own size (full decode, so truncation is detected); for inspection. */
export async function decodeImageFull(file: string, failOn: 'none' | 'truncated' | 'error' | 'warning' = 'warning'): Promise<DecodedImage> {
  try {
    const image = sharp(file, { failOn });
    const meta = await image.metadata();
    const { data, info } = await image.rotate().removeAlpha().raw({ depth: 'uchar' }).toBuffer({ resolveWithObject: true });
    const gray = meta.space === 'b-w' || meta.space === 'grey16' || info.channels === 1;
    return { pixels: data, height: info.height, width: info.width, channels: gray ? 1 : 3 };
  } catch (error) {
    throw decodeError(file, error);
  }
}

/** Default decode parallelism: sharp work runs on libuv's pool, sized by UV_THREADPOOL_SIZE (4). */
export function defaultDecodeConcurrency(): number {
  return Math.max(2, Math.min(8, Number(process.env.UV_THREADPOOL_SIZE) || 4, os.availableParallelism() * 2));
}

export interface FolderSourceOptions {
  /** Decoded images kept in memory for later epochs (bytes at the requested size); default 256 MB. */
  cacheBytes?: number;
  /** Images decoded at once; default defaultDecodeConcurrency(). */
  concurrency?: number;
}

/** Images read from files on demand; decoded, resized results are cached up to a byte budget. */
export class FolderImageSource implements ImageSource {
  readonly name: string;
  readonly classNames: readonly string[];
  readonly labels: Int32Array;
  readonly channels: number;
  readonly storedSize = null;
  readonly files: readonly string[];
  private readonly cacheBytes: number;
  private readonly concurrency: number;
  private cacheKey = '';
  private cache = new Map<number, Uint8Array>();
  private cachedBytes = 0;

  constructor(name: string, classNames: readonly string[], files: readonly string[], labels: Int32Array, channels: number, options: FolderSourceOptions = {}) {
    if (files.length !== labels.length) throw new RangeError(`${name}: ${files.length} files but ${labels.length} labels`);
    this.name = name;
    this.classNames = classNames;
    this.files = files;
    this.labels = labels;
    this.channels = channels;
    this.cacheBytes = options.cacheBytes ?? 256 * 1024 * 1024;
    this.concurrency = Math.max(1, options.concurrency ?? defaultDecodeConcurrency());
  }

  async read(indices: ArrayLike<number>, height: number, width: number, channels: number): Promise<Uint8Array> {
    const imageBytes = height * width * channels;
    const key = `${height}x${width}x${channels}`;
    if (key !== this.cacheKey) {
      // A new size (e.g. channel statistics at another resolution): start a fresh cache.
      this.cache = new Map();
      this.cachedBytes = 0;
      this.cacheKey = key;
    }
    const cache = this.cache;
    const out = new Uint8Array(indices.length * imageBytes);
    const list = Array.from(indices);
    for (const index of list) {
      if (!Number.isInteger(index) || index < 0 || index >= this.files.length) {
        throw new RangeError(`${this.name}: image index ${index} is outside 0..${this.files.length - 1}`);
      }
    }
    await mapLimit(list, this.concurrency, async (index, k) => {
      let pixels = cache.get(index);
      if (!pixels) {
        pixels = await decodeImageFile(this.files[index]!, height, width, channels);
        if (cache === this.cache && this.cachedBytes + imageBytes <= this.cacheBytes && !cache.has(index)) {
          cache.set(index, pixels);
          this.cachedBytes += imageBytes;
        }
      }
      out.set(pixels, k * imageBytes);
    });
    return out;
  }
}

/** 1 when every sampled image is grayscale, else 3 (header reads only, no decoding). */
async function probeChannels(files: readonly string[], samples = 16): Promise<number> {
  const step = Math.max(1, Math.floor(files.length / samples));
  const chosen: string[] = [];
  for (let i = 0; i < files.length && chosen.length < samples; i += step) chosen.push(files[i]!);
  const kinds = await mapLimit(chosen, 4, async (file) => {
    try {
      const meta = await sharp(file).metadata();
      return meta.space === 'b-w' || meta.space === 'grey16' || (meta.channels ?? 3) - (meta.hasAlpha ? 1 : 0) === 1 ? 1 : 3;
    } catch {
      return null; // reported when the file is read
    }
  });
  return kinds.some((k) => k === 3) ? 3 : kinds.some((k) => k === 1) ? 1 : 3;
}

function sourceOf(split: SplitScan, classNames: readonly string[], channels: number, options: FolderSourceOptions): FolderImageSource {
  const files: string[] = [];
  const labels: number[] = [];
  for (const cls of split.classes) {
    const label = classNames.indexOf(cls.name);
    if (label < 0) continue;
    for (const file of cls.files) {
      files.push(file);
      labels.push(label);
    }
  }
  return new FolderImageSource(split.dir, classNames, files, Int32Array.from(labels), channels, options);
}

export type OpenFolderOptions = FolderSourceOptions;

/** Builds the dataset from a scan; throws the first layout error (naming the folder). */
export async function datasetFromScan(scan: FolderScan, options: OpenFolderOptions = {}): Promise<Dataset> {
  const errors = folderLayoutProblems(scan).filter((p) => p.severity === 'error');
  if (errors.length > 0) {
    const first = errors[0]!;
    const more = errors.length > 1 ? ` (and ${errors.length - 1} more problem${errors.length > 2 ? 's' : ''}; run inspect for the full list)` : '';
    throw new FormatError(first.file, first.message + more);
  }
  const classNames = scan.train.classes.map((c) => c.name);
  const trainFiles = scan.train.classes.flatMap((c) => c.files);
  const channels = await probeChannels(trainFiles);
  const train = sourceOf(scan.train, classNames, channels, options);
  const test = scan.test && scan.test.classes.some((c) => c.files.length > 0) ? sourceOf(scan.test, classNames, channels, options) : null;
  return { format: 'folder', root: path.resolve(scan.root), train, test };
}

/** Opens an image-folder dataset for training. */
export async function openFolderDataset(root: string, options: OpenFolderOptions = {}): Promise<Dataset> {
  const scan = await scanImageFolder(root);
  if (!scan) throw new FormatError(root, 'has no class sub-folders (expected one folder of images per class)');
  return datasetFromScan(scan, options);
}
