// The wire shape of API calls, shared by the Electron IPC bridge and the browser-mode
// WebSocket. Every call answers with an envelope, so validation issues and the file an
// error is about survive the trip (Electron's IPC and contextBridge keep only `message`
// of a thrown Error).

import type { ProgressEvent } from './events.js';
import type { ValidationIssue } from './config.js';
import { MAX_ISSUES, truncate } from './schema.js';

export interface WireError {
  message: string;
  name?: string;
  /** Field-level issues of a rejected request (ConfigError). */
  issues?: ValidationIssue[];
  field?: string;
  file?: string;
}

export type RpcResult<T = unknown> = { ok: true; value: T } | { ok: false; error: WireError };

/** Browser → server over the WebSocket. */
export interface RpcCall {
  type: 'call';
  id: number;
  method: string;
  args: unknown[];
}

/** Server → browser over the WebSocket. */
export type RpcMessage =
  | { type: 'result'; id: number; result: RpcResult }
  | { type: 'event'; event: ProgressEvent }
  | { type: 'hello'; host: 'browser'; version: 1 };

/** Longest error message sent over the wire; a message echoing a huge argument is cut. */
export const MAX_WIRE_MESSAGE = 2000;

export function toWireError(error: unknown): WireError {
  if (error instanceof Error) {
    const e = error as Error & { issues?: ValidationIssue[]; field?: string; file?: string };
    const out: WireError = { message: truncate(String(e.message), MAX_WIRE_MESSAGE), name: truncate(String(e.name), 100) };
    if (Array.isArray(e.issues)) {
      out.issues = e.issues.slice(0, MAX_ISSUES).map((i) => ({ field: truncate(String(i.field), 200), message: truncate(String(i.message), 500) }));
    }
    if (typeof e.field === 'string') out.field = truncate(e.field, 200);
    if (typeof e.file === 'string') out.file = truncate(e.file, 4096);
    return out;
  }
  return { message: truncate(String(error), MAX_WIRE_MESSAGE) };
}

/** An Error carrying what crossed the wire (issues, field, file). */
export class RemoteError extends Error {
  readonly issues: ValidationIssue[];
  readonly field?: string;
  readonly file?: string;
  constructor(wire: WireError) {
    super(wire.message);
    this.name = wire.name ?? 'RemoteError';
    this.issues = wire.issues ?? [];
    if (wire.field !== undefined) this.field = wire.field;
    if (wire.file !== undefined) this.file = wire.file;
  }
}

export async function settle<T>(work: () => Promise<T> | T): Promise<RpcResult<T>> {
  try {
    return { ok: true, value: await work() };
  } catch (error) {
    return { ok: false, error: toWireError(error) };
  }
}

export function unwrap<T>(result: RpcResult<T>): T {
  if (result.ok) return result.value;
  throw new RemoteError(result.error);
}
