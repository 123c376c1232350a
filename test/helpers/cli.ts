// Runs the built CLI (dist/, via bin/learngene.js) as a user would.

import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { REPO_ROOT } from './fixtures.js';

export interface CliRun {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  /** The --json result: the last stdout line, parsed. */
  json: any;
}

export function runCli(args: string[], options: { cwd?: string; env?: NodeJS.ProcessEnv; timeoutMs?: number } = {}): Promise<CliRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [path.join(REPO_ROOT, 'bin/learngene.js'), ...args], {
      cwd: options.cwd ?? REPO_ROOT,
      env: { ...process.env, ...options.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 600_000);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      const last = stdout.trim().split('\n').pop() ?? '';
      let json: unknown = null;
      try {
        json = JSON.parse(last);
      } catch {
        json = null;
      }
      resolve({ code, signal, stdout, stderr, json });
    });
  });
}

/** Real Fashion-MNIST: the Debian package when installed, else the embedded sample (also real images). */
export function fashionMnistPath(): string {
  const system = '/usr/share/datasets/fashion-mnist';
  return existsSync(path.join(system, 'train-images-idx3-ubyte.gz')) ? system : path.join(REPO_ROOT, 'resources/fashion-mnist-sample');
}
