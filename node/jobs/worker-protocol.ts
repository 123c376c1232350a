// Messages between the job service and the worker thread that runs one job.
//
// Cancellation travels through a SharedArrayBuffer flag rather than a message: a training
// loop on the wasm backend can run for minutes without returning to the event loop (its
// awaits resolve as microtasks), so a 'message' event would wait until the job ended.
// The worker reads the flag every time the job reports progress.

import type { JobRequest } from '../../shared/api.js';
import type { ValidationIssue } from '../../shared/config.js';
import type { JobEvent } from '../../shared/events.js';
import type { JobResult } from '../../shared/results.js';

export interface WorkerInput {
  request: JobRequest;
  runDir: string;
  checkpointEvery: number;
  backend: string;
  /** Int32Array view over it: [0] becomes 1 when the job is cancelled. */
  cancelFlag: SharedArrayBuffer;
  /** Modules imported before the job runs (each may registerHandler); absolute file URLs. */
  preload: string[];
}

/** An error as it crosses the thread boundary, with what classifies it. */
export interface SerializedError {
  name: string;
  message: string;
  issues?: ValidationIssue[];
  field?: string;
  file?: string;
  code?: string;
  /** JobCancelled: the checkpoint to resume from. */
  checkpoint?: string | null;
  stack?: string;
}

export type WorkerMessage =
  | { type: 'backend'; name: string }
  | { type: 'event'; event: JobEvent }
  | { type: 'result'; result: JobResult }
  | { type: 'failed'; error: SerializedError };

export function serializeError(error: unknown): SerializedError {
  if (!(error instanceof Error)) return { name: 'Error', message: String(error) };
  const e = error as Error & { issues?: ValidationIssue[]; field?: unknown; file?: unknown; code?: unknown; checkpoint?: unknown };
  const out: SerializedError = { name: e.name, message: e.message };
  if (Array.isArray(e.issues)) out.issues = e.issues.map((i) => ({ field: String(i.field), message: String(i.message) }));
  if (typeof e.field === 'string') out.field = e.field;
  if (typeof e.file === 'string') out.file = e.file;
  if (typeof e.code === 'string') out.code = e.code;
  if (e.name === 'JobCancelled') out.checkpoint = typeof e.checkpoint === 'string' ? e.checkpoint : null;
  if (e.stack) out.stack = e.stack;
  return out;
}

/** Errors about the job's input (request fields, file contents): exit code 2, nothing kept. */
export function isInputError(error: Pick<SerializedError, 'name'>): boolean {
  return error.name === 'ConfigError' || error.name === 'FormatError';
}
