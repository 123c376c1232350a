// Kill -9 in the middle of training, `learngene resume`, and the final weights equal an
// uninterrupted run's bit for bit (same seed, same backend). For `train` and `distill`.

import { existsSync, promises as fs } from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  compareTensorFiles, jsonResult, onlyRun, requireBuild, runCli, SAMPLE_DATA, startCli, tempDir, waitFor,
} from '../helpers/jobs.js';

requireBuild();

// distill is written alongside this test; skip its case only while the command does not exist.
const hasDistill = (await runCli(['distill', '--help'])).code === 0;

/** Long enough (≈340 steps) that the kill lands mid-run; tiny enough to take seconds. */
function trainArgs(out: string, project: string): string[] {
  return [
    'train', '--data', SAMPLE_DATA, '--limit', '2000', '--test-limit', '100', '--val-fraction', '0.1',
    '--epochs', '3', '--depth', '1', '--dim', '16', '--heads', '2', '--patch', '7', '--batch', '16',
    '--seed', '7', '--checkpoint-every', '3', '--out', out, '--project', project, '--json',
  ];
}

/** The newest checkpoint in any phase of the project's run (null until one exists). */
async function firstCheckpoint(project: string): Promise<{ runDir: string; file: string } | null> {
  const runDir = await onlyRun(project);
  if (!runDir) return null;
  let phases: string[];
  try {
    phases = await fs.readdir(path.join(runDir, 'phases'));
  } catch {
    return null;
  }
  for (const phase of phases) {
    const names = await fs.readdir(path.join(runDir, 'phases', phase)).catch(() => [] as string[]);
    const checkpoint = names.find((n) => /^checkpoint-\d+\.safetensors$/.test(n));
    if (checkpoint) return { runDir, file: path.join(runDir, 'phases', phase, checkpoint) };
  }
  return null;
}

/** Starts `args`, SIGKILLs it right after its first checkpoint lands, and resumes it. */
async function killAndResume(args: string[], project: string) {
  const { child, done } = startCli(args);
  const hit = await Promise.race([waitFor(() => firstCheckpoint(project), 5), done.then(() => null)]);
  expect(hit, 'the run ended before its first checkpoint').not.toBeNull();
  child.kill('SIGKILL');
  const killed = await done;
  expect(killed.signal).toBe('SIGKILL');
  const { runDir } = hit!;
  const phases = await fs.readdir(path.join(runDir, 'phases'));
  const finished = phases.filter((p) => existsSync(path.join(runDir, 'phases', p, 'final.safetensors')));
  // Where the kill landed (reported by the test, for the record).
  const checkpoints = (await Promise.all(phases.map((p) => fs.readdir(path.join(runDir, 'phases', p)).catch(() => [] as string[])))).flat();
  const steps = checkpoints.map((n) => Number(/^checkpoint-(\d+)/.exec(n)?.[1])).filter(Number.isFinite);
  const status = JSON.parse(await fs.readFile(path.join(runDir, 'status.json'), 'utf8')) as { status: string };
  expect(status.status).toBe('running'); // what the killed process left behind
  expect(existsSync(path.join(runDir, 'lock'))).toBe(true); // stale: its pid is gone

  const resumed = await runCli(['resume', runDir, '--json']);
  expect(resumed.code, resumed.stderr).toBe(0);
  expect(resumed.stderr).toMatch(/took over a stale lock: process \d+/);
  expect(resumed.stderr).toMatch(/resuming from checkpoint-\d+\.safetensors/);
  const after = JSON.parse(await fs.readFile(path.join(runDir, 'status.json'), 'utf8')) as { status: string; sessions: number };
  expect(after).toMatchObject({ status: 'done', sessions: 2 });
  expect(existsSync(path.join(runDir, 'lock'))).toBe(false);
  return { runDir, resumed: jsonResult(resumed), killedAfterSteps: Math.max(...steps), phasesFinishedBeforeKill: finished };
}

describe('kill -9 and resume', () => {
  let teacher: string;
  let root: string;

  beforeAll(async () => {
    root = await tempDir('fault');
  });

  it('train: the resumed run ends with the uninterrupted run\'s weights, bit for bit', async () => {
    const straightProject = path.join(root, 'straight');
    const straight = await runCli(trainArgs(path.join(straightProject, 'model'), straightProject));
    expect(straight.code, straight.stderr).toBe(0);
    teacher = path.join(straightProject, 'model');

    const killedProject = path.join(root, 'killed');
    const { killedAfterSteps, phasesFinishedBeforeKill } = await killAndResume(trainArgs(path.join(killedProject, 'model'), killedProject), killedProject);
    expect(phasesFinishedBeforeKill).toEqual([]);
    const comparison = await compareTensorFiles(path.join(straightProject, 'model/model.safetensors'), path.join(killedProject, 'model/model.safetensors'));
    console.log(`[fault-resume train] killed after ${killedAfterSteps} checkpointed steps of 336; ${comparison.tensors} tensors, differing ${comparison.differing.length}, max |Δ| ${comparison.maxAbsDiff}`);
    expect(comparison.differing).toEqual([]);
    expect(comparison.bitIdentical).toBe(true);
  });

  it('Ctrl-C: exit 130 after a checkpoint, status cancelled, and resume ends with the same weights', async () => {
    expect(teacher, 'needs the uninterrupted model of the train test').toBeTruthy();
    const project = path.join(root, 'sigint');
    const { child, done } = startCli(trainArgs(path.join(project, 'model'), project));
    const hit = await Promise.race([waitFor(() => firstCheckpoint(project), 5), done.then(() => null)]);
    expect(hit, 'the run ended before its first checkpoint').not.toBeNull();
    child.kill('SIGINT');
    const interrupted = await done;
    expect(interrupted.code, interrupted.stderr).toBe(130);
    expect(interrupted.stderr).toContain('cancelling: saving a checkpoint (Ctrl-C again to quit at once)');
    const cancelledAt = /cancelled; resume from (\S+checkpoint-(\d+)\.safetensors)/.exec(interrupted.stderr);
    expect(cancelledAt, interrupted.stderr).not.toBeNull();
    expect(existsSync(cancelledAt![1]!)).toBe(true);
    expect(interrupted.stderr).toContain(`learngene train: cancelled; continue with "learngene resume ${hit!.runDir}"`);
    expect(JSON.parse(await fs.readFile(path.join(hit!.runDir, 'status.json'), 'utf8')).status).toBe('cancelled');
    expect(existsSync(path.join(hit!.runDir, 'lock'))).toBe(false);
    expect(JSON.parse(interrupted.stdout.trim().split('\n').pop()!)).toEqual({ error: { message: `cancelled; continue with "learngene resume ${hit!.runDir}"` } });

    const resumed = await runCli(['resume', hit!.runDir]);
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(resumed.stdout).toContain(`output: ${path.join(project, 'model/model.safetensors')}`);
    const comparison = await compareTensorFiles(path.join(teacher, 'model.safetensors'), path.join(project, 'model/model.safetensors'));
    console.log(`[fault-resume sigint] cancelled after ${cancelledAt![2]} steps; differing ${comparison.differing.length}, max |Δ| ${comparison.maxAbsDiff}`);
    expect(comparison.bitIdentical).toBe(true);
  });

  it.skipIf(!hasDistill)('distill: the resumed learngene equals the uninterrupted one, bit for bit', async () => {
    expect(teacher, 'needs the teacher of the train test').toBeTruthy();
    const distillArgs = (out: string, project: string) => [
      'distill', '--teacher', teacher, '--stages', '1,1', '--data', SAMPLE_DATA, '--limit', '1000', '--test-limit', '100',
      '--epochs', '2', '--batch', '16', '--seed', '3', '--checkpoint-every', '3', '--out', out, '--project', project, '--json',
    ];
    const straightProject = path.join(root, 'distill-straight');
    const straight = await runCli(distillArgs(path.join(straightProject, 'lg'), straightProject));
    expect(straight.code, straight.stderr).toBe(0);
    const straightFile = (jsonResult(straight) as { file: string }).file;

    const killedProject = path.join(root, 'distill-killed');
    const { resumed, killedAfterSteps } = await killAndResume(distillArgs(path.join(killedProject, 'lg'), killedProject), killedProject);
    const resumedFile = path.join(killedProject, 'lg', path.relative(path.join(straightProject, 'lg'), straightFile));
    expect(existsSync(resumedFile)).toBe(true);
    expect(resumed.status).toBe('done');
    const comparison = await compareTensorFiles(straightFile, resumedFile);
    console.log(`[fault-resume distill] killed after ${killedAfterSteps} checkpointed steps; ${comparison.tensors} tensors, differing ${comparison.differing.length}, max |Δ| ${comparison.maxAbsDiff}`);
    expect(comparison.differing).toEqual([]);
    expect(comparison.bitIdentical).toBe(true);
  });
});
