// Runs a job for the CLI through the studio backend (node/studio/backend.ts), the same
// API the desktop app and the browser studio call: the job trains in a worker thread
// while this thread shows progress on stderr and handles Ctrl-C. The first Ctrl-C
// cancels (the job checkpoints, then the command exits 130 and can be resumed); a
// second one quits at once (the last checkpoint is still there).

import { existsSync, promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { JobInfo, JobRequest } from '../shared/api.js';
import { ConfigError } from '../shared/config.js';
import type { JobKind } from '../shared/events.js';
import { isResultOf, type JobResult, type JobResults } from '../shared/results.js';
import { FormatError } from '../engine/io/errors.js';
import { openStudioBackend } from '../node/studio/backend.js';
import { absoluteRequest } from '../node/jobs/request-paths.js';
import { REQUEST_FILE } from '../node/jobs/run-folder.js';
import { createProgressWriter } from './progress.js';

export interface RunOptions {
  backend?: string;
  /** Project folder; null runs in a throw-away project (no resume afterwards), or for a resume the run's own project. */
  project: string | null;
  /** Checkpoint every N steps; for a resume, absent keeps what the run used. */
  checkpointEvery?: number;
  /** Continue this existing run folder instead of submitting `request` (resume). */
  runDir?: string;
  /** Replace outputs that are not our own artifacts (--force). */
  force?: boolean;
  stderr: NodeJS.WriteStream;
}

export interface RunOutcome<R = JobResult> {
  result: R;
  runDir: string | null;
  info: JobInfo;
}

/** Submits `request` and waits for it; its result is its kind's. Failures throw, classified for exit codes. */
export async function runRequest<K extends JobKind>(request: Extract<JobRequest, { kind: K }>, kind: K, options: RunOptions): Promise<RunOutcome<JobResults[K]>> {
  const outcome = await runJobRequest(request, options);
  if (!isResultOf(outcome.result, kind)) throw new Error(`the ${kind} job ended without a ${kind} result`);
  return { ...outcome, result: outcome.result };
}

/** Resumes `options.runDir` and waits for it. */
export function resumeRun(options: RunOptions & { runDir: string }): Promise<RunOutcome> {
  return runJobRequest(null, options);
}

async function runJobRequest(request: JobRequest | null, options: RunOptions): Promise<RunOutcome> {
  const ephemeral = options.project === null && !options.runDir;
  // A resumed run belongs to the project around its folder (runs/<id>/) unless one is named.
  const projectDir = options.project
    ?? (options.runDir ? path.dirname(path.dirname(path.resolve(options.runDir))) : await fs.mkdtemp(path.join(os.tmpdir(), 'learngene-run-')));
  const service = await openStudioBackend({ projectDir, ...(options.backend ? { backend: options.backend } : {}) });
  const progress = createProgressWriter(options.stderr);
  const unsubscribe = service.on(progress);
  let jobId: string | null = null;
  let interrupted = 0;
  const onSigint = () => {
    interrupted += 1;
    if (interrupted > 1) process.exit(130);
    options.stderr.write('\ncancelling: saving a checkpoint (Ctrl-C again to quit at once)\n');
    if (jobId) void service.cancel(jobId).catch(() => undefined);
  };
  // While the job runs this command alone decides what Ctrl-C means. Libraries that hook
  // signals to clean up and then re-raise them (conf → atomically → when-exit) would turn
  // one Ctrl-C into two, i.e. an immediate exit without the cancel checkpoint; their
  // 'exit' hooks still run.
  const foreign = process.rawListeners('SIGINT') as ((...args: unknown[]) => void)[];
  process.removeAllListeners('SIGINT');
  process.on('SIGINT', onSigint);
  try {
    const force = options.force ? { force: true } : {};
    const submitted = options.runDir
      ? await service.resume(runFolderOrId(options.runDir), { checkpointEvery: options.checkpointEvery, ...force })
      : await service.submit(absoluteRequest(request!, process.cwd()), { checkpointEvery: options.checkpointEvery ?? 0, ...force });
    jobId = submitted.id;
    if (interrupted > 0) void service.cancel(jobId).catch(() => undefined); // Ctrl-C during submit
    const info = await service.wait(jobId);
    if (info.status !== 'done' || !info.result) throw jobFailure(info);
    return { result: info.result, runDir: ephemeral ? null : info.runDir, info };
  } finally {
    process.off('SIGINT', onSigint);
    for (const listener of foreign) process.on('SIGINT', listener);
    unsubscribe();
    progress.finish();
    await service.close();
    if (ephemeral) await fs.rm(projectDir, { recursive: true, force: true });
  }
}

/** A run folder as the user typed it (relative to the working folder), else a run id of the project. */
function runFolderOrId(given: string): string {
  const folder = path.resolve(given);
  return existsSync(path.join(folder, REQUEST_FILE)) ? folder : given;
}

/**
 * The Error a failed or cancelled job amounts to, classified for the exit codes of
 * cli/main.ts: input rejected (ConfigError, FormatError) → 2, cancelled → 130, else 1.
 */
export function jobFailure(info: JobInfo): Error {
  if (info.status === 'cancelled') {
    const error = new Error(`cancelled; continue with "learngene resume ${info.runDir}"`);
    error.name = 'JobCancelled';
    return error;
  }
  const e = info.error ?? { message: `job ended ${info.status}` };
  if (e.name === 'ConfigError') return new ConfigError(e.issues?.length ? e.issues : [{ field: e.field ?? 'request', message: e.message }]);
  if (e.name === 'FormatError') {
    const error = new FormatError(e.file ?? '', '');
    error.message = e.message; // the original "<file>: <what was wrong>"
    return error;
  }
  const error = new Error(e.name === 'Interrupted' ? `${e.message} (learngene resume ${info.runDir})` : e.message);
  error.name = e.name ?? 'Error';
  return error;
}
