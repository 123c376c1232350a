// runs/<id>/lock: one process at a time writes into a run folder.
//
// The lock file is created with O_EXCL (open 'wx'), so of two processes racing for it
// exactly one wins. It holds {pid, hostname, startedAt}. A lock whose pid no longer runs
// on this host is stale (the process was killed, the machine rebooted) and is taken
// over; a lock held by a live process, or by a process on another host (whose liveness
// we cannot check), refuses the second writer with the holder's pid in the message.

import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { writeError } from '../fs/atomic.js';

export const LOCK_FILE = 'lock';

export interface LockInfo {
  pid: number;
  hostname: string;
  /** ISO time the holder took the lock. */
  startedAt: string;
}

/** The run is being written by another live process. */
export class RunLockedError extends Error {
  constructor(readonly runDir: string, readonly holder: LockInfo, detail: string) {
    super(`${runDir} is in use by process ${holder.pid} on ${holder.hostname} (since ${holder.startedAt}); ${detail}`);
    this.name = 'RunLockedError';
  }
}

/** Run folders this process holds, so a second acquire from the same process is refused too. */
const heldHere = new Set<string>();

export function isProcessAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: it exists but belongs to someone else.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export async function readLock(runDir: string): Promise<LockInfo | null> {
  let text: string;
  try {
    text = await fs.readFile(path.join(runDir, LOCK_FILE), 'utf8');
  } catch {
    return null;
  }
  try {
    const info = JSON.parse(text) as LockInfo;
    if (typeof info.pid === 'number' && typeof info.hostname === 'string') return info;
  } catch {
    // A torn lock (the holder died between create and write): treat as stale.
  }
  return { pid: 0, hostname: os.hostname(), startedAt: 'unknown' };
}

/** Whether `info` is held by a process that still runs (unknown hosts count as alive). */
export function lockIsLive(info: LockInfo, runDir: string): boolean {
  if (info.hostname !== os.hostname()) return true;
  if (info.pid === process.pid) return heldHere.has(path.resolve(runDir));
  return isProcessAlive(info.pid);
}

export interface RunLock {
  readonly file: string;
  /** The stale lock this one replaced, if any (for a log line). */
  readonly tookOver: LockInfo | null;
  release(): Promise<void>;
}

async function createExclusive(file: string, info: LockInfo): Promise<boolean> {
  let handle: fs.FileHandle | undefined;
  try {
    handle = await fs.open(file, 'wx');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw writeError(file, error);
  }
  try {
    await handle.writeFile(JSON.stringify(info) + '\n');
    await handle.sync();
  } finally {
    await handle.close();
  }
  return true;
}

/**
 * Takes the lock of `runDir` or throws RunLockedError. A stale lock is moved aside with a
 * rename (atomic: of two processes taking it over, one rename finds nothing) and replaced.
 */
export async function acquireRunLock(runDir: string): Promise<RunLock> {
  const file = path.join(runDir, LOCK_FILE);
  const mine: LockInfo = { pid: process.pid, hostname: os.hostname(), startedAt: new Date().toISOString() };
  let tookOver: LockInfo | null = null;
  for (let attempt = 0; attempt < 3; attempt++) {
    if (await createExclusive(file, mine)) {
      heldHere.add(path.resolve(runDir));
      return { file, tookOver, release: () => releaseRunLock(runDir, mine) };
    }
    const holder = await readLock(runDir);
    if (!holder) continue; // released meanwhile: try again
    if (lockIsLive(holder, runDir)) {
      const detail = holder.hostname !== os.hostname()
        ? `its liveness cannot be checked from here; if that process is gone, delete ${file}`
        : 'wait for it to finish or cancel it first';
      throw new RunLockedError(runDir, holder, detail);
    }
    const aside = `${file}.stale-${process.pid}`;
    try {
      await fs.rename(file, aside);
    } catch {
      continue; // another process took it over first; look again
    }
    // If a live lock slipped in between our read and the rename, put it back and refuse.
    const asideInfo = await fs.readFile(aside, 'utf8').then((t) => JSON.parse(t) as LockInfo).catch(() => null);
    if (asideInfo && asideInfo.pid !== holder.pid && lockIsLive(asideInfo, runDir)) {
      await fs.link(aside, file).catch(() => undefined);
      await fs.rm(aside, { force: true });
      throw new RunLockedError(runDir, asideInfo, 'wait for it to finish or cancel it first');
    }
    await fs.rm(aside, { force: true });
    tookOver = holder;
  }
  throw new Error(`${file}: could not take the lock (it kept changing hands)`);
}

async function releaseRunLock(runDir: string, mine: LockInfo): Promise<void> {
  heldHere.delete(path.resolve(runDir));
  const current = await readLock(runDir);
  // Only remove our own lock: after a takeover by someone else, theirs stays.
  if (current && current.pid === mine.pid && current.startedAt === mine.startedAt) {
    await fs.rm(path.join(runDir, LOCK_FILE), { force: true });
  }
}
