// A job's output never replaces something that is not ours. Model and learngene folders,
// exports and the demo's reports are written atomically, which removes what was at the
// path before; so before a job is accepted every path it will write must be absent, an
// empty folder, or our own artifact (a file whose metadata says learngene wrote it, or a
// folder holding only such files and their sidecars). Anything else is refused with the
// path, unless the caller forces it (`learngene … --force`).

import { promises as fs, type Dirent } from 'node:fs';
import path from 'node:path';
import type { JobRequest } from '../../shared/api.js';
import { ConfigError, type ValidationIssue } from '../../shared/config.js';
import { MODEL_FORMAT } from '../../engine/io/model-file.js';
import { LEARNGENE_FORMAT } from '../../engine/sws/learngene.js';
import { decodeOnnx } from '../export/onnx.js';

/** Largest safetensors header we read to recognise a file (ours are a few kB). */
const MAX_HEADER_BYTES = 64 * 1024 * 1024;
/** Files that accompany one of our artifacts in its folder. */
const SIDECARS = [/^config\.json$/, /^learngene\.json$/, /^sws-reference\.json$/, /^group\d+-shard\d+of\d+\.bin$/];
/** Leftovers of an interrupted atomic write of ours (node/fs/atomic.ts tempName). */
const OUR_TEMP = /^\..+\.tmp-\d+-[0-9a-f]{8}(\.old)?$/;

export interface WrittenPath {
  /** The request field the path comes from. */
  field: string;
  path: string;
}

/** Every path a job writes or replaces, from its (absolute) request. */
export function writtenPaths(request: JobRequest): WrittenPath[] {
  switch (request.kind) {
    case 'compare': {
      const out = request.out;
      if (!out) return [];
      const methods = ['sws', ...request.baselines];
      return [
        { field: 'out', path: path.join(out, 'compare.json') },
        ...request.depths.flatMap((depth) => methods.map((method) => ({ field: 'out', path: path.join(out, 'descendants', `${method}-d${depth}`) }))),
      ];
    }
    case 'demo':
      return ['teacher', 'learngene', 'descendants', 'compare.json', 'demo.json', 'demo.md'].map((name) => ({ field: 'out', path: path.join(request.out, name) }));
    case 'evaluate':
      return [];
    default:
      return [{ field: 'out', path: request.out }];
  }
}

async function readSafetensorsMetadata(file: string): Promise<Record<string, unknown> | null> {
  let handle: fs.FileHandle | undefined;
  try {
    handle = await fs.open(file, 'r');
    const size = Buffer.alloc(8);
    if ((await handle.read(size, 0, 8, 0)).bytesRead < 8) return null;
    const length = Number(size.readBigUInt64LE(0));
    if (!(length > 0 && length <= MAX_HEADER_BYTES)) return null;
    const header = Buffer.alloc(length);
    if ((await handle.read(header, 0, length, 8)).bytesRead < length) return null;
    const parsed = JSON.parse(header.toString('utf8')) as { __metadata__?: Record<string, unknown> };
    return parsed.__metadata__ ?? null;
  } catch {
    return null;
  } finally {
    await handle?.close();
  }
}

function hasOurProvenance(text: unknown): boolean {
  if (typeof text !== 'string') return false;
  try {
    const provenance = JSON.parse(text) as { createdBy?: unknown };
    return typeof provenance?.createdBy === 'string';
  } catch {
    return false;
  }
}

async function readJson(file: string): Promise<Record<string, unknown> | null> {
  try {
    const value = JSON.parse(await fs.readFile(file, 'utf8')) as unknown;
    return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : null;
  } catch {
    return null;
  }
}

/** Whether `file` is one of our artifacts, judged by its own content. */
async function ownFile(file: string): Promise<boolean> {
  const name = path.basename(file);
  if (name.endsWith('.safetensors')) {
    const metadata = await readSafetensorsMetadata(file);
    if (!metadata) return false;
    // Our models and learngenes, and our timm exports ("pt" with our provenance).
    return metadata.format === MODEL_FORMAT || metadata.format === LEARNGENE_FORMAT || (metadata.format === 'pt' && hasOurProvenance(metadata.provenance));
  }
  if (name.endsWith('.onnx')) {
    try {
      const model = decodeOnnx(new Uint8Array(await fs.readFile(file)));
      return (model.metadataProps ?? []).some((p) => p.key === 'learngene.provenance');
    } catch {
      return false;
    }
  }
  if (name === 'model.json') {
    const json = await readJson(file);
    const meta = json?.userDefinedMetadata as { learngene?: { format?: unknown } } | undefined;
    return meta?.learngene?.format === 'learngene-export';
  }
  if (name === 'compare.json') {
    const json = await readJson(file);
    return Array.isArray(json?.rows) && typeof json?.table === 'string';
  }
  if (name === 'demo.json') {
    const json = await readJson(file);
    return typeof json?.report === 'string' && typeof json?.compare === 'object';
  }
  if (name === 'demo.md') {
    const text = await fs.readFile(file, 'utf8').catch(() => '');
    return text.startsWith('# learngene demo\n');
  }
  return false;
}

/** Whether a folder holds only our artifacts (and their sidecars); an empty folder counts. */
async function ownFolder(dir: string): Promise<boolean> {
  let entries: Dirent[];
  try {
    entries = await fs.readdir(dir, { withFileTypes: true });
  } catch {
    return false;
  }
  let hasMainFile = false;
  const sidecars: string[] = [];
  for (const entry of entries) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) {
      if (!(await ownFolder(full))) return false;
    } else if (entry.isFile()) {
      if (OUR_TEMP.test(entry.name)) continue;
      if (await ownFile(full)) hasMainFile = true;
      else if (SIDECARS.some((p) => p.test(entry.name))) sidecars.push(entry.name);
      else return false;
    } else {
      return false; // a link, a socket …: not something we write
    }
  }
  return sidecars.length === 0 || hasMainFile;
}

/** Why `target` must not be replaced, or null when it may be (absent, empty, or ours). */
export async function foreignContent(target: string): Promise<string | null> {
  const stat = await fs.lstat(target).catch(() => null);
  if (!stat) return null;
  if (stat.isSymbolicLink()) return 'is a symbolic link';
  if (stat.isDirectory()) return (await ownFolder(target)) ? null : 'is a folder with files learngene did not write';
  if (stat.isFile()) return (await ownFile(target)) ? null : 'is a file learngene did not write';
  return 'is not a regular file or folder';
}

/**
 * Refuses (ConfigError naming the field) a request whose outputs would replace something
 * that is not ours. `force` skips the check (the CLI's --force).
 */
export async function checkOutputsReplaceable(request: JobRequest, force = false): Promise<void> {
  const issues: ValidationIssue[] = [];
  // compare and demo write into their `out` folder: it must be one (or not exist yet).
  if ((request.kind === 'compare' || request.kind === 'demo') && request.out) {
    const stat = await fs.lstat(request.out).catch(() => null);
    if (stat && !stat.isDirectory()) issues.push({ field: 'out', message: `${request.out} exists and is not a folder` });
  }
  for (const { field, path: target } of force ? [] : writtenPaths(request)) {
    const why = await foreignContent(target);
    if (why) {
      issues.push({ field, message: `${target} already exists and ${why}; it would be replaced. Choose another output path, or move it away (on the command line --force replaces it)` });
    }
  }
  if (issues.length > 0) throw new ConfigError(issues);
}

/** Whether anything is at `target` (a non-empty folder or any file). */
async function occupied(target: string): Promise<boolean> {
  const stat = await fs.stat(target).catch(() => null);
  if (!stat) return false;
  if (!stat.isDirectory()) return true;
  return (await fs.readdir(target)).length > 0;
}

/** `name-2`, `name-3` …: the version `n` of a path (`des.onnx` → `des-2.onnx`). */
export function versionOf(target: string, n: number): string {
  if (n <= 1) return target;
  const ext = /\.(onnx|safetensors)$/i.exec(target)?.[0] ?? '';
  return `${target.slice(0, target.length - ext.length)}-${n}${ext}`;
}

/**
 * The request with its output moved to the first free version (`out`, `out-2`, `out-3` …)
 * when something is already there, so nothing is replaced: the studio asks for this
 * (SubmitOptions.newVersion), and "distil again" keeps the previous learngene.
 */
export async function withFreeOutput<T extends JobRequest>(request: T): Promise<T> {
  if (request.kind === 'evaluate' || !('out' in request) || !request.out) return request;
  for (let n = 1; n < 10_000; n++) {
    const candidate = versionOf(request.out, n);
    if (!(await occupied(candidate))) return n === 1 ? request : { ...request, out: candidate };
  }
  throw new ConfigError([{ field: 'out', message: `${request.out} and its versions up to -9999 are all taken` }]);
}
