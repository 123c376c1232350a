// A run's folder inside a project: runs/<id>/ with request.json (what to run, so a
// resume needs nothing else), events.jsonl (every progress event, appended) and the
// phases' checkpoints. The project folder gets a project.json on first use.

import { promises as fs } from 'node:fs';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import type { JobRequest } from '../../shared/api.js';
import type { ProgressEvent } from '../../shared/events.js';
import { writeJsonAtomic } from '../fs/atomic.js';

export const PROJECT_FILE = 'project.json';

export function newRunId(kind: string, now = new Date()): string {
  const stamp = now.toISOString().replace(/[-:]/g, '').replace('T', '-').slice(0, 15);
  return `${stamp}-${kind}-${randomBytes(3).toString('hex')}`;
}

/** Creates project.json when the folder has none (never rewrites an existing one). */
export async function ensureProject(projectDir: string): Promise<void> {
  await fs.mkdir(path.join(projectDir, 'runs'), { recursive: true });
  const file = path.join(projectDir, PROJECT_FILE);
  try {
    await fs.access(file);
  } catch {
    await writeJsonAtomic(file, { format: 'learngene-project', version: 1, name: path.basename(path.resolve(projectDir)), createdAt: new Date().toISOString() });
  }
}

export async function createRunFolder(projectDir: string, request: JobRequest, id = newRunId(request.kind)): Promise<string> {
  await ensureProject(projectDir);
  const runDir = path.join(projectDir, 'runs', id);
  await fs.mkdir(runDir, { recursive: true });
  await writeJsonAtomic(path.join(runDir, 'request.json'), request);
  return runDir;
}

export async function readRunRequest(runDir: string): Promise<JobRequest> {
  const file = path.join(runDir, 'request.json');
  let text: string;
  try {
    text = await fs.readFile(file, 'utf8');
  } catch {
    throw new Error(`${runDir}: not a run folder (no request.json)`);
  }
  try {
    return JSON.parse(text) as JobRequest;
  } catch (error) {
    throw new Error(`${file}: not valid JSON (${(error as Error).message})`);
  }
}

/** Appends events as JSON lines; one writer per run. */
export class EventLog {
  private chain: Promise<void> = Promise.resolve();
  constructor(readonly file: string) {}

  append(event: ProgressEvent): void {
    const line = JSON.stringify(event) + '\n';
    this.chain = this.chain.then(() => fs.appendFile(this.file, line)).catch(() => undefined);
  }

  flush(): Promise<void> {
    return this.chain;
  }
}
