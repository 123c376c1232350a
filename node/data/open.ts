// One entry point for "here is a path, give me a dataset": IDX folders, CIFAR binaries,
// image folders, archives of any of those, and the Fashion-MNIST sample shipped in
// resources/. Detection looks at content and names only; nothing is decoded twice.

import { createHash } from 'node:crypto';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import type { Dataset } from '../../engine/data/types.js';
import { FormatError } from '../../engine/io/errors.js';
import { detectArchive, extractArchive, type ArchiveKind } from './archive.js';
import { findCifar, openCifarDataset, type CifarLayout } from './cifar.js';
import { isDirectory, isHiddenName, statOrNull } from './files.js';
import { datasetFromScan, isImageFileName, scanImageFolder, type FolderScan, type OpenFolderOptions } from './folder.js';
import { findIdxFiles, openIdxDataset, type IdxFileSet, type OpenIdxOptions } from './idx.js';

/** Names the embedded Fashion-MNIST sample wherever a dataset path is accepted. */
export const SAMPLE_DATASET = 'sample:fashion-mnist';
export const SAMPLE_DIR_NAME = 'fashion-mnist-sample';
/** Where the Debian-style system copy of Fashion-MNIST lives on this project's machines. */
export const SYSTEM_FASHION_MNIST = '/usr/share/datasets/fashion-mnist';

export interface OpenDatasetOptions extends OpenFolderOptions, OpenIdxOptions {
  /** Where archives are extracted (one sub-folder per archive, reused); default <tmp>/learngene-datasets. */
  cacheDir?: string;
  /** The app's resources folder (packaged apps); default: found next to this module. */
  resourcesDir?: string;
}

export type DetectedDataset =
  | { format: 'idx'; dir: string; files: IdxFileSet }
  | { format: 'cifar10' | 'cifar100'; dir: string; layout: CifarLayout }
  | { format: 'folder'; dir: string; scan: FolderScan }
  | { format: 'archive'; file: string; kind: ArchiveKind };

const LOOKED_FOR = [
  'IDX files (train-images-idx3-ubyte[.gz] + train-labels-idx1-ubyte[.gz], optional t10k-*)',
  'CIFAR-10 binaries (data_batch_1.bin … data_batch_5.bin, test_batch.bin, or a cifar-10-batches-bin/ folder)',
  'CIFAR-100 binaries (train.bin, test.bin, or a cifar-100-binary/ folder)',
  'an image folder (one sub-folder of images per class, optionally under train/ and test/ or val/)',
  'an archive of one of these (.zip, .tar, .tar.gz, .tgz)',
  `the embedded sample ("${SAMPLE_DATASET}")`,
];

/** The embedded sample's folder, or null when this install has none. */
export async function findSampleDataset(resourcesDir?: string): Promise<string | null> {
  const candidates: string[] = [];
  if (resourcesDir) candidates.push(path.join(resourcesDir, SAMPLE_DIR_NAME));
  // Source (node/data/open.ts) and build (dist/node/data/open.js) sit at different depths.
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 5; i++) {
    candidates.push(path.join(dir, 'resources', SAMPLE_DIR_NAME));
    dir = path.dirname(dir);
  }
  for (const candidate of candidates) if (await findIdxFiles(candidate)) return candidate;
  return null;
}

async function visibleEntries(dir: string): Promise<import('node:fs').Dirent[]> {
  return (await fs.readdir(dir, { withFileTypes: true })).filter((e) => !isHiddenName(e.name));
}

function notRecognised(target: string, found: string): FormatError {
  return new FormatError(target, `is not a dataset this app recognises. Looked for:\n  - ${LOOKED_FOR.join('\n  - ')}\nFound: ${found}`);
}

async function describeFolder(dir: string): Promise<string> {
  const entries = await visibleEntries(dir);
  if (entries.length === 0) return 'an empty folder';
  const shown = entries.slice(0, 8).map((e) => (e.isDirectory() ? `${e.name}/` : e.name));
  return shown.join(', ') + (entries.length > 8 ? `, … (${entries.length} entries)` : '');
}

async function detectInFolder(dir: string, depth: number): Promise<DetectedDataset | null> {
  const idx = await findIdxFiles(dir);
  if (idx) return { format: 'idx', dir, files: idx };
  const cifar = await findCifar(dir);
  if (cifar) return { format: cifar.kind, dir: cifar.dir, layout: cifar };
  const entries = await visibleEntries(dir);
  const subdirs = entries.filter((e) => e.isDirectory());
  const looseImages = entries.some((e) => e.isFile() && isImageFileName(e.name));
  // A wrapper folder (typical of archives: data.zip → data/...): look inside it first.
  if (subdirs.length === 1 && !looseImages && depth < 3) {
    const inner = await detectInFolder(path.join(dir, subdirs[0]!.name), depth + 1);
    if (inner) return inner;
  }
  const scan = await scanImageFolder(dir);
  if (scan && (scan.train.classes.some((c) => c.files.length > 0) || scan.layout === 'split')) return { format: 'folder', dir, scan };
  return null;
}

/** Works out what `target` is; errors list everything that was looked for. */
export async function detectDataset(target: string, options: OpenDatasetOptions = {}): Promise<DetectedDataset> {
  if (target === SAMPLE_DATASET) {
    const sample = await findSampleDataset(options.resourcesDir);
    if (!sample) throw new Error(`${SAMPLE_DATASET}: the embedded sample (resources/${SAMPLE_DIR_NAME}) is missing from this install`);
    return detectDataset(sample, options);
  }
  const stats = await statOrNull(target);
  if (!stats) throw new Error(`${target}: no such file or folder`);
  if (stats.isFile()) {
    const kind = await detectArchive(target);
    if (kind) return { format: 'archive', file: target, kind };
    // A file inside a dataset folder (e.g. train-images-idx3-ubyte.gz, data_batch_1.bin): use its folder.
    const dir = path.dirname(target);
    if (/idx[13]-ubyte(\.gz)?$/i.test(target) || /\.bin$/i.test(target)) {
      const detected = await detectInFolder(dir, 3);
      if (detected && detected.format !== 'folder') return detected;
    }
    throw notRecognised(target, `a file of ${stats.size} bytes`);
  }
  const detected = await detectInFolder(target, 0);
  if (detected) return detected;
  throw notRecognised(target, await describeFolder(target));
}

/** Extracts an archive into the cache (once per archive version) and returns the folder. */
export async function extractToCache(file: string, cacheDir?: string): Promise<string> {
  const stats = await fs.stat(file);
  const key = createHash('sha256').update(`${path.resolve(file)}\0${stats.size}\0${stats.mtimeMs}`).digest('hex').slice(0, 16);
  const base = path.basename(file).replace(/\.(zip|tar|tgz|tar\.gz)$/i, '').replace(/[^A-Za-z0-9._-]+/g, '_').slice(0, 60) || 'dataset';
  const dest = path.join(cacheDir ?? path.join(os.tmpdir(), 'learngene-datasets'), `${base}-${key}`);
  // Extraction renames a finished folder into place, so an existing folder is complete.
  if (!(await isDirectory(dest))) await extractArchive(file, dest);
  return dest;
}

/** Opens whatever `target` holds (see LOOKED_FOR); archives are extracted to options.cacheDir. */
export async function openDataset(target: string, options: OpenDatasetOptions = {}): Promise<Dataset> {
  const detected = await detectDataset(target, options);
  switch (detected.format) {
    case 'idx':
      return openIdxDataset(detected.dir, options);
    case 'cifar10':
    case 'cifar100':
      return openCifarDataset(detected.dir);
    case 'folder':
      return datasetFromScan(detected.scan, options);
    case 'archive': {
      const dir = await extractToCache(detected.file, options.cacheDir);
      const inner = await detectDataset(dir, options);
      if (inner.format === 'archive') throw notRecognised(detected.file, 'an archive holding only another archive');
      return openDataset(dir, options);
    }
  }
}

export interface ResolvedDataset {
  path: string;
  /** 'given': the caller's path; 'system': /usr/share/datasets/fashion-mnist; 'sample': the embedded sample. */
  origin: 'given' | 'system' | 'sample';
}

/** The dataset to use when the user named one, or the best default available. */
export async function resolveDefaultDataset(given?: string | null, options: { resourcesDir?: string; systemDir?: string } = {}): Promise<ResolvedDataset> {
  if (given && given !== SAMPLE_DATASET) return { path: given, origin: 'given' };
  const systemDir = options.systemDir ?? SYSTEM_FASHION_MNIST;
  if (!given && (await findIdxFiles(systemDir))) return { path: systemDir, origin: 'system' };
  const sample = await findSampleDataset(options.resourcesDir);
  if (sample) return { path: sample, origin: 'sample' };
  throw new Error(`no dataset given, ${systemDir} has no Fashion-MNIST files and the embedded sample (resources/${SAMPLE_DIR_NAME}) is missing`);
}
