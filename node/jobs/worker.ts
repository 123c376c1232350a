// The worker thread of one job: initializes the tfjs backend here (each thread has its
// own tfjs and wasm heap), runs the request through runJob, and posts every event and
// the outcome to the job service. A crash here ends this thread only; the service
// reports it as the job's error and keeps serving.

import { parentPort, workerData } from 'node:worker_threads';
import { ConfigError } from '../../shared/config.js';
import type { JobEvent } from '../../shared/events.js';
import { initBackend } from '../backends.js';
import type { JobContext } from './phase.js';
import { runJob } from './runner.js';
import { serializeError, type WorkerInput, type WorkerMessage } from './worker-protocol.js';

const input = workerData as WorkerInput;
const port = parentPort!;
const cancelFlag = new Int32Array(input.cancelFlag);
const controller = new AbortController();

function post(message: WorkerMessage): void {
  port.postMessage(message);
}

function checkCancelled(): void {
  if (!controller.signal.aborted && Atomics.load(cancelFlag, 0) === 1) controller.abort();
}

// Also when idle (loading data, between phases): the service pings after setting the flag.
port.on('message', checkCancelled);
// The port alone must not keep this thread alive once the job is over.
port.unref();

async function main(): Promise<void> {
  for (const module of input.preload) await import(module);
  let backend;
  try {
    backend = await initBackend(input.backend);
  } catch (error) {
    // An unusable backend is a rejected request (exit code 2, nothing kept), not a failed run.
    throw new ConfigError([{ field: 'backend', message: (error as Error).message }]);
  }
  post({ type: 'backend', name: backend.name });
  const ctx: JobContext = {
    emit(event: JobEvent) {
      checkCancelled(); // every step reports progress: the cheapest place to notice a cancel
      post({ type: 'event', event });
    },
    signal: controller.signal,
    runDir: input.runDir,
    checkpointEvery: input.checkpointEvery,
  };
  ctx.emit({ type: 'log', level: 'info', message: `backend: ${backend.name} (${backend.detail}) · run ${input.runDir}` });
  const result = await runJob(input.request, ctx);
  // Results cross to the service as JSON (they are written to status.json anyway).
  post({ type: 'result', result: JSON.parse(JSON.stringify(result ?? null)) });
}

main().catch((error: unknown) => post({ type: 'failed', error: serializeError(error) }));
