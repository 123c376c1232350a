// Helpers for the job and CLI tests: running the built CLI, hashing folders, comparing
// model tensors, waiting for files (polling, never asserting on time).

import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { decodeSafetensors, type TensorMap } from '../../engine/io/safetensors.js';
import { REPO_ROOT } from './fixtures.js';

export const CLI = path.join(REPO_ROOT, 'bin/learngene.js');
export const SAMPLE_DATA = path.join(REPO_ROOT, 'resources/fashion-mnist-sample');
export const FAULTS_MODULE = path.join(REPO_ROOT, 'test/fixtures/jobs/faults.mjs');

/** The worker and the CLI run from dist/: fail early and clearly when it was not built. */
export function requireBuild(): void {
  if (!existsSync(path.join(REPO_ROOT, 'dist/node/jobs/worker.js')) || !existsSync(path.join(REPO_ROOT, 'dist/cli/main.js'))) {
    throw new Error('dist/ is not built: run "npx tsc -p tsconfig.json" (npm test does) before these tests');
  }
}

export async function tempDir(prefix: string): Promise<string> {
  return fs.mkdtemp(path.join(os.tmpdir(), `learngene-${prefix}-`));
}

export interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export function startCli(args: string[], options: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): { child: ChildProcess; done: Promise<CliResult> } {
  const child = spawn(process.execPath, [CLI, ...args], { cwd: options.cwd ?? REPO_ROOT, env: { ...process.env, ...options.env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const done = new Promise<CliResult>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
  return { child, done };
}

export function runCli(args: string[], options: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): Promise<CliResult> {
  return startCli(args, options).done;
}

/** The last stdout line as JSON (commands run with --json). */
export function jsonResult<T = any>(result: CliResult): T {
  const lines = result.stdout.trim().split('\n');
  return JSON.parse(lines[lines.length - 1]!) as T;
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Polls until `probe` returns a value (not null/undefined/false); the test timeout bounds it. */
export async function waitFor<T>(probe: () => Promise<T | null | undefined | false> | T | null | undefined | false, intervalMs = 10): Promise<T> {
  for (;;) {
    const value = await probe();
    if (value !== null && value !== undefined && value !== false) return value as T;
    await sleep(intervalMs);
  }
}

/** Every file and folder under `dir` with the sha256 of its bytes ("<dir>" for folders). */
export async function hashTree(dir: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  async function walk(current: string): Promise<void> {
    for (const entry of await fs.readdir(current, { withFileTypes: true })) {
      const full = path.join(current, entry.name);
      const rel = path.relative(dir, full);
      if (entry.isDirectory()) {
        out[rel + '/'] = '<dir>';
        await walk(full);
      } else {
        out[rel] = createHash('sha256').update(await fs.readFile(full)).digest('hex');
      }
    }
  }
  await walk(dir);
  return out;
}

export async function readTensors(file: string): Promise<TensorMap> {
  return decodeSafetensors(new Uint8Array(await fs.readFile(file)), file).tensors;
}

/** Compares two tensor files value by value: how many tensors differ and the largest difference. */
export async function compareTensorFiles(a: string, b: string): Promise<{ tensors: number; differing: string[]; maxAbsDiff: number; bitIdentical: boolean }> {
  const [ta, tb] = await Promise.all([readTensors(a), readTensors(b)]);
  const names = [...new Set([...ta.keys(), ...tb.keys()])].sort();
  const differing: string[] = [];
  let maxAbsDiff = 0;
  let bitIdentical = true;
  for (const name of names) {
    const x = ta.get(name);
    const y = tb.get(name);
    if (!x || !y || x.shape.join(',') !== y.shape.join(',')) {
      differing.push(name);
      bitIdentical = false;
      maxAbsDiff = Infinity;
      continue;
    }
    const xb = new Uint32Array(x.data.buffer, x.data.byteOffset, x.data.length);
    const yb = new Uint32Array(y.data.buffer, y.data.byteOffset, y.data.length);
    let same = true;
    for (let i = 0; i < x.data.length; i++) {
      if (xb[i] !== yb[i]) same = false;
      maxAbsDiff = Math.max(maxAbsDiff, Math.abs(x.data[i]! - y.data[i]!));
    }
    if (!same) {
      differing.push(name);
      bitIdentical = false;
    }
  }
  return { tensors: names.length, differing, maxAbsDiff, bitIdentical };
}

/** Checkpoint files of a run's phase, oldest first. */
export async function checkpointsOf(runDir: string, phase: string): Promise<string[]> {
  const dir = path.join(runDir, 'phases', phase);
  try {
    const names = (await fs.readdir(dir)).filter((n) => /^checkpoint-\d+\.safetensors$/.test(n));
    return names.sort((x, y) => Number(/\d+/.exec(x)![0]) - Number(/\d+/.exec(y)![0])).map((n) => path.join(dir, n));
  } catch {
    return [];
  }
}

/** The single run folder of a project (the tests start one run per project). */
export async function onlyRun(projectDir: string): Promise<string | null> {
  try {
    const runs = (await fs.readdir(path.join(projectDir, 'runs'))).filter((n) => !n.startsWith('.'));
    return runs.length === 1 ? path.join(projectDir, 'runs', runs[0]!) : null;
  } catch {
    return null;
  }
}
