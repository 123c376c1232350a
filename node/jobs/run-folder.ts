// A run's folder inside a project: runs/<id>/ with request.json (what to run, so a
// resume needs nothing else), status.json (queued/running/done/error/cancelled, result,
// options; rewritten atomically), events.jsonl (every progress event, appended), lock
// (while a process runs it) and the phases' checkpoints. The project folder gets a
// project.json on first use.

import { promises as fs } from 'node:fs';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import type { JobInfo, JobRequest, JobStatus } from '../../shared/api.js';
import type { JobKind, ProgressEvent } from '../../shared/events.js';
import type { JobResult } from '../../shared/results.js';
import { FormatError } from '../../engine/io/errors.js';
import { writeJsonAtomic } from '../fs/atomic.js';

export const PROJECT_FILE = 'project.json';
export const REQUEST_FILE = 'request.json';
export const STATUS_FILE = 'status.json';
export const EVENTS_FILE = 'events.jsonl';

export function newRunId(kind: string, now = new Date()): string {
  const stamp = now.toISOString().replace(/[-:]/g, '').replace('T', '-').slice(0, 15);
  return `${stamp}-${kind}-${randomBytes(3).toString('hex')}`;
}

/**
 * Creates project.json when the folder has none (never rewrites an existing one). Returns
 * what it created (folders first, outermost first), so a job rejected for its input can
 * leave the project exactly as it found it.
 */
export async function ensureProject(projectDir: string): Promise<string[]> {
  const created: string[] = [];
  const firstNewDir = await fs.mkdir(path.join(projectDir, 'runs'), { recursive: true });
  if (firstNewDir) {
    // mkdir returns the outermost folder it had to create; list it and the ones inside.
    for (let dir = path.resolve(path.join(projectDir, 'runs')); ; dir = path.dirname(dir)) {
      created.unshift(dir);
      if (dir === path.resolve(firstNewDir) || dir === path.dirname(dir)) break;
    }
  }
  const file = path.join(projectDir, PROJECT_FILE);
  try {
    await fs.access(file);
  } catch {
    await writeJsonAtomic(file, { format: 'learngene-project', version: 1, name: path.basename(path.resolve(projectDir)), createdAt: new Date().toISOString() });
    created.push(path.resolve(file));
  }
  return created;
}

export async function createRunFolder(projectDir: string, request: JobRequest, id = newRunId(request.kind)): Promise<string> {
  await ensureProject(projectDir);
  const runDir = path.join(projectDir, 'runs', id);
  await fs.mkdir(runDir, { recursive: true });
  await writeJsonAtomic(path.join(runDir, 'request.json'), request);
  return runDir;
}

export async function readRunRequest(runDir: string): Promise<JobRequest> {
  const file = path.join(runDir, REQUEST_FILE);
  let text: string;
  try {
    text = await fs.readFile(file, 'utf8');
  } catch {
    throw new FormatError(runDir, `is not a run folder (no ${REQUEST_FILE}; runs live in <project>/runs/<id>/)`);
  }
  let request: unknown;
  try {
    request = JSON.parse(text);
  } catch (error) {
    throw new FormatError(file, `is not valid JSON (${(error as Error).message})`);
  }
  if (request === null || typeof request !== 'object' || typeof (request as { kind?: unknown }).kind !== 'string') {
    throw new FormatError(file, 'is not a job request (expected an object with a "kind")');
  }
  return request as JobRequest;
}

/** runs/<id>/status.json: where the job stands, what it returned, how it was run. */
export interface RunStatus {
  id: string;
  kind: JobKind;
  status: JobStatus;
  createdAt: number;
  updatedAt: number;
  startedAt?: number;
  finishedAt?: number;
  /** How the job runs; a resume reuses them unless told otherwise. */
  options: { checkpointEvery: number; backend?: string };
  /** The backend the last session actually ran on ('auto' resolved); a resume keeps it, for bit-exact results. */
  backendUsed?: string;
  /** Sessions that ran this job: 1, plus one per resume. */
  sessions: number;
  result?: JobResult;
  error?: JobInfo['error'];
}

export async function writeRunStatus(runDir: string, status: RunStatus): Promise<void> {
  await writeJsonAtomic(path.join(runDir, STATUS_FILE), status);
}

/** The status file, or null when the run has none (runs of older versions) or it is unreadable. */
export async function readRunStatus(runDir: string): Promise<RunStatus | null> {
  try {
    const status = JSON.parse(await fs.readFile(path.join(runDir, STATUS_FILE), 'utf8')) as RunStatus;
    return status && typeof status.status === 'string' ? status : null;
  } catch {
    return null;
  }
}

/** The events of a run, oldest first; a torn last line (the process was killed mid-write) is skipped. */
export async function readRunEvents(runDir: string): Promise<ProgressEvent[]> {
  let text: string;
  try {
    text = await fs.readFile(path.join(runDir, EVENTS_FILE), 'utf8');
  } catch {
    return [];
  }
  const events: ProgressEvent[] = [];
  for (const line of text.split('\n')) {
    if (!line.trim()) continue;
    try {
      events.push(JSON.parse(line) as ProgressEvent);
    } catch {
      // torn line
    }
  }
  return events;
}

/** Run folders of a project (those with a request.json), by name. */
export async function listRunDirs(projectDir: string): Promise<string[]> {
  const runs = path.join(projectDir, 'runs');
  let names: string[];
  try {
    names = await fs.readdir(runs);
  } catch {
    return [];
  }
  const dirs: string[] = [];
  for (const name of names.sort()) {
    if (name.startsWith('.')) continue;
    try {
      await fs.access(path.join(runs, name, REQUEST_FILE));
      dirs.push(path.join(runs, name));
    } catch {
      // not a run
    }
  }
  return dirs;
}

/**
 * Appends events as JSON lines; one writer per run. Events arriving while a write is in
 * flight are joined into the next one, so a fast job costs one append per batch, not
 * per event. A failed append (disk full) is remembered, not thrown: losing log lines
 * must not fail the job, whose checkpoints report their own write errors.
 */
export class EventLog {
  private chain: Promise<void> = Promise.resolve();
  private pending: string[] = [];
  failure: Error | null = null;
  constructor(readonly file: string) {}

  append(event: ProgressEvent): void {
    this.pending.push(JSON.stringify(event) + '\n');
    if (this.pending.length === 1) this.chain = this.chain.then(() => this.write());
  }

  private async write(): Promise<void> {
    const text = this.pending.join('');
    this.pending = [];
    try {
      await fs.appendFile(this.file, text);
    } catch (error) {
      this.failure ??= error as Error;
    }
  }

  flush(): Promise<void> {
    return this.chain;
  }
}
