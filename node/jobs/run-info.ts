// A run as its folder describes it, for runs the current job service has not run itself
// (a restarted app, another process, runs of older versions without status.json).

import { promises as fs } from 'node:fs';
import path from 'node:path';
import type { JobInfo, JobRequest } from '../../shared/api.js';
import type { JobKind } from '../../shared/events.js';
import type { JobResult } from '../../shared/results.js';
import { lockIsLive, readLock } from './lock.js';
import { readRunEvents, readRunRequest, readRunStatus } from './run-folder.js';

/** A run as its folder describes it (for runs this service has not run itself). */
export async function readJobFromDisk(runDir: string): Promise<JobInfo | null> {
  let request: JobRequest;
  try {
    request = await readRunRequest(runDir);
  } catch {
    return null;
  }
  const id = path.basename(runDir);
  const status = await readRunStatus(runDir);
  const info: JobInfo = { id, kind: request.kind, status: status?.status ?? 'error', request, runDir, createdAt: 0, updatedAt: 0 };
  if (status) {
    Object.assign(info, { createdAt: status.createdAt, updatedAt: status.updatedAt });
    if (status.result) info.result = withKind(request.kind, status.result);
    if (status.error) info.error = status.error;
  } else {
    // A run of an older version (no status.json): its events tell how it ended.
    const stat = await fs.stat(runDir);
    info.createdAt = stat.birthtimeMs || stat.mtimeMs;
    info.updatedAt = stat.mtimeMs;
    const events = await readRunEvents(runDir);
    const last = [...events].reverse().find((e) => e.type === 'done' || e.type === 'error' || e.type === 'cancelled');
    info.status = last?.type === 'done' ? 'done' : last?.type === 'cancelled' ? 'cancelled' : last?.type === 'error' ? 'error' : 'running';
    if (last?.type === 'done' && last.result) info.result = withKind(request.kind, last.result);
    if (last?.type === 'error') info.error = { message: last.message };
  }
  if (info.status === 'running' || info.status === 'queued') {
    const lock = await readLock(runDir);
    if (!lock || !lockIsLive(lock, runDir)) {
      info.status = 'error';
      info.error = {
        name: 'Interrupted',
        message: `interrupted: the process running it${lock ? ` (pid ${lock.pid})` : ''} stopped before it finished; resume it to continue from its last checkpoint`,
      };
    }
  }
  return info;
}

/** A result written before results named their job's kind (distill's `kind` was then its Aux-Net kind). */
function withKind(kind: JobKind, result: JobResult): JobResult {
  const stored: { kind?: unknown } = result;
  if (stored.kind === kind) return result;
  return Object.assign(result, kind === 'distill' && typeof stored.kind === 'string' ? { auxKind: stored.kind } : {}, { kind });
}
