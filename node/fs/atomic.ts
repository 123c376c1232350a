// Atomic file and folder writes: a reader (or a crash) sees the old content or the new,
// never half of either. Files: temp in the same folder + fsync + rename + fsync(dir).
// Folders: built under a temp name beside the target, then renamed into place.

import { promises as fs, constants as fsConstants } from 'node:fs';
import path from 'node:path';
import { randomBytes } from 'node:crypto';

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

/** Writes `data` to `target` atomically. On any failure the old file is untouched and no temp file remains. */
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
    throw error;
  }
  await fsyncDirectory(path.dirname(target));
}

export async function writeJsonAtomic(target: string, value: unknown): Promise<void> {
  await writeFileAtomic(target, JSON.stringify(value, null, 2) + '\n');
}

/**
 * Builds a folder with `fill(tempDir)` and moves it to `target` in one rename; an existing
 * `target` is replaced only after the new one is complete. Nothing is left on failure.
 */
export async function writeFolderAtomic(target: string, fill: (dir: string) => Promise<void>): Promise<void> {
  const parent = path.dirname(path.resolve(target));
  await fs.mkdir(parent, { recursive: true });
  const temp = tempName(path.resolve(target));
  await fs.mkdir(temp);
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
      await fs.rename(temp, target);
    }
    if (previous) await fs.rm(previous, { recursive: true, force: true });
  } catch (error) {
    await fs.rm(temp, { recursive: true, force: true }).catch(() => undefined);
    throw error;
  }
  await fsyncDirectory(parent);
}
