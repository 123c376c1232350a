// Atomic file and folder writes: a reader (or a crash) sees the old content or the new,
// never half of either. Files: temp in the same folder + fsync + rename + fsync(dir).
// Folders: built under a temp name beside the target, then renamed into place.

import { promises as fs, constants as fsConstants } from 'node:fs';
import path from 'node:path';
import { randomBytes } from 'node:crypto';

/** Why a write failed, in words (the errno code stays on the error as `code`). */
const WRITE_FAILURES: Record<string, string> = {
  ENOSPC: 'no space left on the device',
  EDQUOT: 'disk quota exceeded',
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  EROFS: 'read-only file system',
  ENOENT: 'the folder does not exist',
  ENOTDIR: 'a parent of the path is a file, not a folder',
  EISDIR: 'the path is a folder',
  EMFILE: 'too many open files',
  EIO: 'input/output error on the device',
};

/**
 * A failed write, naming the file the caller wanted (not our temp file) and the errno:
 * "cannot write runs/x/checkpoint-6.safetensors: ENOSPC (no space left on the device)".
 */
export class WriteError extends Error {
  readonly code: string | undefined;
  readonly file: string;
  constructor(file: string, cause: unknown) {
    const code = (cause as NodeJS.ErrnoException)?.code;
    const reason = code ? `${code} (${WRITE_FAILURES[code] ?? (cause as Error).message})` : (cause as Error)?.message ?? String(cause);
    super(`cannot write ${file}: ${reason}`);
    this.name = 'WriteError';
    this.code = code;
    this.file = file;
  }
}

/** Wraps a file-system error as a WriteError about `file` (an existing WriteError passes through). */
export function writeError(file: string, error: unknown): WriteError {
  return error instanceof WriteError ? error : new WriteError(file, error);
}

function tempName(target: string): string {
  return path.join(path.dirname(target), `.${path.basename(target)}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`);
}

async function fsyncDirectory(dir: string): Promise<void> {
  let handle: fs.FileHandle | undefined;
  try {
    handle = await fs.open(dir, fsConstants.O_RDONLY);
    await handle.sync();
  } catch {
    // Some filesystems refuse fsync on directories; the rename is still atomic.
  } finally {
    await handle?.close();
  }
}

/**
 * Writes `data` to `target` atomically. On any failure (disk full, read-only folder) the
 * old file is untouched, no temp file remains, and a WriteError names `target`.
 */
export async function writeFileAtomic(target: string, data: Uint8Array | string): Promise<void> {
  const temp = tempName(target);
  let handle: fs.FileHandle | undefined;
  try {
    handle = await fs.open(temp, 'wx');
    await handle.writeFile(data);
    await handle.sync();
    await handle.close();
    handle = undefined;
    await fs.rename(temp, target);
  } catch (error) {
    await handle?.close().catch(() => undefined);
    await fs.rm(temp, { force: true }).catch(() => undefined);
    throw writeError(target, error);
  }
  await fsyncDirectory(path.dirname(target));
}

export async function writeJsonAtomic(target: string, value: unknown): Promise<void> {
  await writeFileAtomic(target, JSON.stringify(value, null, 2) + '\n');
}

/** An error raised by a file-system call (it has an errno code and a syscall), not by our own code. */
function isFileSystemError(error: unknown): error is NodeJS.ErrnoException {
  return typeof (error as NodeJS.ErrnoException)?.code === 'string' && typeof (error as NodeJS.ErrnoException).syscall === 'string';
}

/**
 * Builds a folder with `fill(tempDir)` and moves it to `target` in one rename; an existing
 * `target` is replaced only after the new one is complete. Nothing is left on failure;
 * file-system failures become a WriteError naming `target`, errors of `fill` pass through.
 */
export async function writeFolderAtomic(target: string, fill: (dir: string) => Promise<void>): Promise<void> {
  const parent = path.dirname(path.resolve(target));
  const temp = tempName(path.resolve(target));
  try {
    await fs.mkdir(parent, { recursive: true });
    await fs.mkdir(temp);
  } catch (error) {
    throw writeError(target, error);
  }
  try {
    await fill(temp);
    for (const entry of await fs.readdir(temp)) {
      const handle = await fs.open(path.join(temp, entry), fsConstants.O_RDONLY);
      await handle.sync().catch(() => undefined);
      await handle.close();
    }
    let previous: string | null = null;
    try {
      await fs.rename(temp, target);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code !== 'ENOTEMPTY' && code !== 'EEXIST' && code !== 'EISDIR' && code !== 'ENOTDIR') throw error;
      previous = tempName(path.resolve(target)) + '.old';
      await fs.rename(target, previous);
      try {
        await fs.rename(temp, target);
      } catch (second) {
        await fs.rename(previous, target).catch(() => undefined); // put the old folder back
        throw second;
      }
    }
    if (previous) await fs.rm(previous, { recursive: true, force: true });
  } catch (error) {
    await fs.rm(temp, { recursive: true, force: true }).catch(() => undefined);
    throw isFileSystemError(error) ? writeError(target, error) : error;
  }
  await fsyncDirectory(parent);
}
