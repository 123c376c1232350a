// runs/<id>/lock: one writer per run; stale locks (dead pid) are taken over; a second
// `learngene resume` of a running run is refused with the holder's pid.

import { spawn } from 'node:child_process';
import { existsSync, promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { acquireRunLock, readLock, RunLockedError } from '../../../node/jobs/lock.js';
import { checkpointsOf, jsonResult, onlyRun, requireBuild, runCli, SAMPLE_DATA, startCli, tempDir, waitFor } from '../../helpers/jobs.js';

requireBuild();

let root: string;
beforeAll(async () => {
  root = await tempDir('lock');
});
afterAll(async () => {
  await fs.rm(root, { recursive: true, force: true });
});

async function runFolder(name: string): Promise<string> {
  const dir = path.join(root, name);
  await fs.mkdir(dir, { recursive: true });
  return dir;
}

/** The pid of a process that has exited (and so cannot hold a lock). */
async function deadPid(): Promise<number> {
  const child = spawn(process.execPath, ['-e', '']);
  await new Promise((resolve) => child.on('exit', resolve));
  return child.pid!;
}

describe('run lock', () => {
  it('is created exclusively with pid, hostname and start time, refuses a second holder, and goes on release', async () => {
    const dir = await runFolder('basic');
    const lock = await acquireRunLock(dir);
    expect(lock.tookOver).toBeNull();
    const info = await readLock(dir);
    expect(info).toMatchObject({ pid: process.pid, hostname: os.hostname() });
    expect(Number.isNaN(Date.parse(info!.startedAt))).toBe(false);
    const second = acquireRunLock(dir);
    await expect(second).rejects.toThrow(RunLockedError);
    await expect(acquireRunLock(dir)).rejects.toThrow(`is in use by process ${process.pid} on ${os.hostname()}`);
    await lock.release();
    expect(existsSync(path.join(dir, 'lock'))).toBe(false);
    await (await acquireRunLock(dir)).release();
  });

  it('takes over a stale lock (its pid is gone) and says whose it was', async () => {
    const dir = await runFolder('stale');
    const pid = await deadPid();
    await fs.writeFile(path.join(dir, 'lock'), JSON.stringify({ pid, hostname: os.hostname(), startedAt: '2024-01-01T00:00:00.000Z' }));
    const lock = await acquireRunLock(dir);
    expect(lock.tookOver).toMatchObject({ pid });
    expect((await readLock(dir))?.pid).toBe(process.pid);
    expect((await fs.readdir(dir)).sort()).toEqual(['lock']); // the stale one moved aside and removed
    await lock.release();
  });

  it('takes over a torn (empty) lock, refuses a live foreign pid and a lock of another host', async () => {
    const torn = await runFolder('torn');
    await fs.writeFile(path.join(torn, 'lock'), '');
    await (await acquireRunLock(torn)).release();

    const live = await runFolder('live');
    const sleeper = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 60000)']);
    try {
      await fs.writeFile(path.join(live, 'lock'), JSON.stringify({ pid: sleeper.pid, hostname: os.hostname(), startedAt: 'now' }));
      await expect(acquireRunLock(live)).rejects.toThrow(`is in use by process ${sleeper.pid}`);
    } finally {
      sleeper.kill('SIGKILL');
      await new Promise((resolve) => sleeper.on('exit', resolve));
    }
    await (await acquireRunLock(live)).release();

    const remote = await runFolder('remote');
    await fs.writeFile(path.join(remote, 'lock'), JSON.stringify({ pid: 1, hostname: 'another-machine', startedAt: 'now' }));
    await expect(acquireRunLock(remote)).rejects.toThrow(/in use by process 1 on another-machine .*its liveness cannot be checked from here; if that process is gone, delete .*lock/);
  });
});

describe('learngene resume of a running run', () => {
  it('is refused with the running pid; `learngene jobs` shows running, then interrupted after kill -9', async () => {
    const project = path.join(root, 'cli');
    const { child, done } = startCli([
      'train', '--data', SAMPLE_DATA, '--limit', '2000', '--epochs', '500', '--depth', '1', '--dim', '16', '--heads', '2',
      '--batch', '16', '--checkpoint-every', '3', '--out', path.join(project, 'model'), '--project', project,
    ]);
    const runDir = await waitFor(async () => {
      const dir = await onlyRun(project);
      return dir && (await checkpointsOf(dir, 'train')).length > 0 ? dir : null;
    }, 5);
    const refused = await runCli(['resume', runDir, '--json']);
    const listedRunning = jsonResult(await runCli(['jobs', '--project', project, '--json'])).jobs;
    child.kill('SIGKILL');
    await done;

    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain(`learngene resume: ${runDir} is in use by process ${child.pid} on ${os.hostname()}`);
    expect(jsonResult(refused).error.message).toContain(`process ${child.pid}`);
    expect(listedRunning.map((j: { status: string }) => j.status)).toEqual(['running']);

    const listed = await runCli(['jobs', '--project', project]);
    expect(listed.code).toBe(0);
    expect(listed.stdout).toMatch(new RegExp(`${path.basename(runDir)}\\s+train\\s+error\\s+.*interrupted: the process running it \\(pid ${child.pid}\\) stopped before it finished; resume it`));
  });
});
