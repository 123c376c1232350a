// Runs a job request for the CLI: picks the backend, opens a run folder in the project,
// shows progress on stderr, and turns Ctrl-C into a clean cancel (checkpoint, then exit).

import type { JobRequest } from '../shared/api.js';
import type { JobEvent } from '../shared/events.js';
import { initBackend } from '../node/backends.js';
import { runJob } from '../node/jobs/runner.js';
import { createRunFolder, EventLog } from '../node/jobs/run-folder.js';
import type { JobContext } from '../node/jobs/phase.js';
import { createProgressWriter } from './progress.js';
import path from 'node:path';

export interface RunOptions {
  backend?: string;
  /** Project folder; null runs without a run folder (no checkpoints). */
  project: string | null;
  checkpointEvery: number;
  /** Reuse an existing run folder (resume). */
  runDir?: string;
  stderr: NodeJS.WriteStream;
}

export async function runRequest(request: JobRequest, options: RunOptions): Promise<{ result: unknown; runDir: string | null }> {
  const backend = await initBackend(options.backend);
  const progress = createProgressWriter(options.stderr);
  const runDir = options.runDir ?? (options.project !== null ? await createRunFolder(options.project, request) : null);
  const log = runDir ? new EventLog(path.join(runDir, 'events.jsonl')) : null;
  const jobId = runDir ? path.basename(runDir) : 'local';
  const emit = (event: JobEvent) => {
    progress(event);
    log?.append({ ...event, jobId, time: Date.now() } as never);
  };
  const controller = new AbortController();
  const onSigint = () => {
    if (controller.signal.aborted) process.exit(130);
    options.stderr.write('\ncancelling: saving a checkpoint (Ctrl-C again to quit at once)\n');
    controller.abort();
  };
  process.on('SIGINT', onSigint);
  const ctx: JobContext = { emit, signal: controller.signal, runDir, checkpointEvery: options.checkpointEvery };
  emit({ type: 'log', level: 'info', message: `backend: ${backend.name} (${backend.detail})${runDir ? ` · run ${runDir}` : ''}` });
  emit({ type: 'started', kind: request.kind, ...(runDir ? { runDir } : {}) });
  try {
    const result = await runJob(request, ctx);
    emit({ type: 'done', result });
    return { result, runDir };
  } catch (error) {
    if (error instanceof Error && error.name === 'JobCancelled') {
      emit({ type: 'cancelled', checkpoint: (error as { checkpoint?: string }).checkpoint ?? undefined });
    } else {
      emit({ type: 'error', message: error instanceof Error ? error.message : String(error) });
    }
    throw error;
  } finally {
    process.off('SIGINT', onSigint);
    progress.finish();
    await log?.flush();
  }
}
