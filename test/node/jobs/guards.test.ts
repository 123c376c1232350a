// Guards of a run: a NaN loss stops the job with the last good checkpoint intact; a full
// disk or an unwritable folder fails the checkpoint write without touching the previous
// checkpoint, and the run resumes to the uninterrupted result once there is room again.

import { execFileSync } from 'node:child_process';
import { existsSync, promises as fs, readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeSafetensors } from '../../../engine/io/safetensors.js';
import { JobService } from '../../../node/jobs/service.js';
import { phaseDir } from '../../../node/jobs/phase.js';
import type { JobInfo } from '../../../shared/api.js';
import { checkpointsOf, compareTensorFiles, FAULTS_MODULE, requireBuild, tempDir, waitFor } from '../../helpers/jobs.js';
import { tinyTrain } from '../../helpers/requests.js';

requireBuild();

const isRoot = process.getuid?.() === 0;
let root: string;
let straightModel: string;

/** The uninterrupted result every interrupted run below must reproduce. */
const REQUEST = (out: string) => tinyTrain(out, { limit: 2000, epochs: 3, seed: 11 });

beforeAll(async () => {
  root = await tempDir('guards');
  const project = path.join(root, 'straight');
  const service = new JobService({ projectDir: project });
  const info = await service.wait((await service.submit(REQUEST(path.join(project, 'model')))).id);
  expect(info.status).toBe('done');
  straightModel = path.join(project, 'model/model.safetensors');
});
afterAll(async () => {
  await fs.rm(root, { recursive: true, force: true });
});

/** Decodes a checkpoint (throws if it is torn or corrupt). */
function readCheckpoint(file: string) {
  const decoded = decodeSafetensors(new Uint8Array(readFileSync(file)), file);
  return { position: JSON.parse(decoded.metadata.position!) as { globalStep: number }, tensors: decoded.tensors };
}

/** Resumes `info`'s run in a fresh service and checks the result against the uninterrupted model. */
async function resumeMatches(info: JobInfo, project: string): Promise<{ maxAbsDiff: number; bitIdentical: boolean }> {
  const service = new JobService({ projectDir: project });
  await service.resume(info.runDir);
  const done = await service.wait(info.id);
  expect(done.status, JSON.stringify(done.error)).toBe('done');
  return compareTensorFiles(straightModel, path.join(project, 'model/model.safetensors'));
}

async function tempFilesIn(dir: string): Promise<string[]> {
  return (await fs.readdir(dir)).filter((n) => n.startsWith('.'));
}

describe('NaN / Inf loss', () => {
  it('stops the job naming phase, epoch and step; the last good checkpoint stays readable', async () => {
    const project = path.join(root, 'nan');
    const service = new JobService({ projectDir: project });
    const request = tinyTrain(path.join(project, 'model'), { lr: 1e3, clip: 0 });
    const info = await service.wait((await service.submit(request, { checkpointEvery: 2 })).id);
    expect(info.status).toBe('error');
    expect(info.error?.name).toBe('NonFiniteLossError');
    const match = /^train: loss became (NaN|-?Infinity) at epoch (\d+), step (\d+); stopped before applying it \(try a lower --lr or gradient clipping\); the last good checkpoint is (\S+)$/.exec(info.error!.message);
    expect(match, info.error!.message).not.toBeNull();
    const [, , epoch, step, file] = match!;
    const checkpoint = readCheckpoint(file!);
    const failedAt = (Number(epoch) - 1) * 16 + Number(step); // 1-based global step of the bad loss
    expect(checkpoint.position.globalStep).toBeLessThan(failedAt);
    for (const [name, t] of checkpoint.tensors) expect(t.data.every(Number.isFinite), name).toBe(true);
    expect(existsSync(path.join(project, 'model'))).toBe(false);
    console.log(`[guards nan] ${info.error!.message.split(';')[0]}; last good checkpoint after ${checkpoint.position.globalStep} steps`);
  });
});

describe('failing checkpoint writes (injected)', () => {
  for (const code of ['ENOSPC', 'EACCES'] as const) {
    it(`${code} on checkpoint-6: job error "cannot write …: ${code}", checkpoint-3 intact, resume matches`, async () => {
      const project = path.join(root, `inject-${code}`);
      process.env.LEARNGENE_FAULT_WRITE = 'checkpoint-6\\.safetensors';
      process.env.LEARNGENE_FAULT_CODE = code;
      let info: JobInfo;
      try {
        const service = new JobService({ projectDir: project, preload: [FAULTS_MODULE] });
        info = await service.wait((await service.submit(REQUEST(path.join(project, 'model')), { checkpointEvery: 3 })).id);
      } finally {
        delete process.env.LEARNGENE_FAULT_WRITE;
        delete process.env.LEARNGENE_FAULT_CODE;
      }
      const dir = phaseDir(info.runDir, 'train');
      const words = code === 'ENOSPC' ? 'no space left on the device' : 'permission denied';
      expect(info.status).toBe('error');
      expect(info.error).toMatchObject({ name: 'WriteError', message: `cannot write ${path.join(dir, 'checkpoint-6.safetensors')}: ${code} (${words})` });
      expect((await checkpointsOf(info.runDir, 'train')).map((f) => path.basename(f))).toEqual(['checkpoint-3.safetensors']);
      expect(readCheckpoint(path.join(dir, 'checkpoint-3.safetensors')).position.globalStep).toBe(3);
      expect(await tempFilesIn(dir)).toEqual([]);
      const comparison = await resumeMatches(info, project);
      expect(comparison.bitIdentical).toBe(true);
    });
  }
});

describe.skipIf(!isRoot)('a real full disk and a read-only folder (tmpfs, needs root)', () => {
  let mountPoint: string;
  beforeAll(async () => {
    mountPoint = path.join(root, 'tmpfs');
    await fs.mkdir(mountPoint);
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=3m', 'tmpfs', mountPoint]);
  });
  afterAll(() => {
    if (mountPoint) execFileSync('umount', ['-l', mountPoint]);
  });

  /** Runs the job in `project`, calls `strike` once the first checkpoint exists, returns the failed job. */
  async function failMidRun(project: string, strike: () => Promise<void>): Promise<{ info: JobInfo; before: string[] }> {
    const service = new JobService({ projectDir: project });
    const job = await service.submit(REQUEST(path.join(project, 'model')), { checkpointEvery: 3 });
    let before: string[] = [];
    const struck = waitFor(async () => {
      const files = await checkpointsOf(job.runDir, 'train');
      if (files.length === 0) return null;
      await strike();
      before = files;
      return true;
    }, 2);
    const info = await service.wait(job.id);
    await struck;
    return { info, before };
  }

  it('ENOSPC: the write fails, the previous checkpoint is intact, resume after freeing space matches', async () => {
    const project = path.join(mountPoint, 'full');
    const ballast = path.join(mountPoint, 'ballast');
    const { info } = await failMidRun(project, async () => {
      const handle = await fs.open(ballast, 'w');
      try {
        for (const size of [1 << 20, 1 << 16, 1 << 12, 1 << 9]) {
          for (;;) {
            try {
              await handle.write(Buffer.alloc(size));
            } catch {
              break;
            }
          }
        }
      } finally {
        await handle.close();
      }
    });
    expect(info.status).toBe('error');
    expect(info.error?.message).toMatch(new RegExp(`^cannot write ${phaseDir(info.runDir, 'train').replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}/checkpoint-\\d+\\.safetensors: ENOSPC \\(no space left on the device\\)$`));
    const left = await checkpointsOf(info.runDir, 'train');
    expect(left.length).toBeGreaterThan(0);
    for (const file of left) readCheckpoint(file); // every checkpoint on disk reads back whole
    expect(await tempFilesIn(phaseDir(info.runDir, 'train'))).toEqual([]);
    await fs.rm(ballast);
    const comparison = await resumeMatches(info, project);
    console.log(`[guards tmpfs ENOSPC] ${info.error!.message}; resumed from ${path.basename(left[left.length - 1]!)}: bit-identical ${comparison.bitIdentical}`);
    expect(comparison.bitIdentical).toBe(true);
  });

  it('read-only file system: the write fails (EROFS), the previous checkpoint is intact, resume after remounting matches', async () => {
    const project = path.join(mountPoint, 'readonly');
    const { info } = await failMidRun(project, async () => {
      // "mount point is busy" while a file on it is open for writing (an append, a checkpoint): try again.
      await waitFor(() => {
        try {
          execFileSync('mount', ['-o', 'remount,ro', mountPoint], { stdio: 'pipe' });
          return true;
        } catch (error) {
          if (/busy/.test(String((error as { stderr?: Buffer }).stderr ?? error))) return null;
          throw error;
        }
      }, 1);
    });
    execFileSync('mount', ['-o', 'remount,rw', mountPoint]);
    expect(info.status).toBe('error');
    expect(info.error?.message).toMatch(/^cannot write \S+\/checkpoint-\d+\.safetensors: EROFS \(read-only file system\)$/);
    const left = await checkpointsOf(info.runDir, 'train');
    for (const file of left) readCheckpoint(file);
    // The service could not record the failure on a read-only disk: the run reads as interrupted.
    const restarted = new JobService({ projectDir: project });
    expect((await restarted.get(info.id))?.error?.name).toBe('Interrupted');
    const comparison = await resumeMatches(info, project);
    expect(comparison.bitIdentical).toBe(true);
  });
});

describe.skipIf(isRoot)('an unwritable folder (chmod, as a normal user)', () => {
  it('EACCES: the write fails, the previous checkpoint is intact, resume after chmod matches', async () => {
    const project = path.join(root, 'chmod');
    const service = new JobService({ projectDir: project });
    const job = await service.submit(REQUEST(path.join(project, 'model')), { checkpointEvery: 3 });
    const dir = phaseDir(job.runDir, 'train');
    await waitFor(async () => (await checkpointsOf(job.runDir, 'train')).length > 0 && (await fs.chmod(dir, 0o555), true), 2);
    const info = await service.wait(job.id);
    await fs.chmod(dir, 0o755);
    expect(info.error?.message).toMatch(/^cannot write \S+\/checkpoint-\d+\.safetensors: EACCES \(permission denied\)$/);
    const comparison = await resumeMatches(info, project);
    expect(comparison.bitIdentical).toBe(true);
  });
});
