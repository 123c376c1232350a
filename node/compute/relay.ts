// A compute host reached through a MessagePort: how a job's worker thread trains on the
// desktop app's hidden compute window, which lives in the Electron main process. The
// main process serves its ComputeHost on one end of a MessageChannel
// (`serveComputeHost`) and hands the other end to the worker (transferList), where
// `connectComputeHost` makes it a ComputeHost again — ComputeHostGradients works
// unchanged. Typed arrays cross by structured clone. The studio's job service does this
// for every webgpu job (node/compute/source.ts `channelFor`, node/jobs/service.ts), for
// the desktop window and for a browser page that hosts compute alike.

import type { MessagePort } from 'node:worker_threads';
import type { ComputeInfo } from '../../engine/compute/service.js';
import type { ComputeHost } from './host.js';

type Request = { id: number; method: string; args: unknown };
type Response = { id: number; result?: unknown; error?: string; name?: string };

/**
 * Answers calls arriving on `port` with `host`; returns a function that stops serving.
 * Stopping also closes the sessions opened through this port and not closed (a job whose
 * worker died leaves nothing behind in the host).
 */
export function serveComputeHost(host: ComputeHost, port: MessagePort): () => void {
  const sessions = new Set<string>();
  let stopped = false;
  const onMessage = (request: Request) => {
    const session = (request.args as { session?: unknown } | null)?.session;
    if (typeof session === 'string') {
      if (request.method === 'open') sessions.add(session);
      else if (request.method === 'close') sessions.delete(session);
    }
    const work = request.method === '__info' ? Promise.resolve(host.info) : host.call(request.method, request.args);
    work.then(
      (result) => !stopped && port.postMessage({ id: request.id, result } satisfies Response),
      (error: unknown) => {
        const e = error as Error;
        if (!stopped) port.postMessage({ id: request.id, error: e?.message ?? String(error), ...(e?.name && e.name !== 'Error' ? { name: e.name } : {}) } satisfies Response);
      },
    );
  };
  const stop = () => {
    if (stopped) return;
    stopped = true;
    port.off('message', onMessage);
    port.close();
    for (const session of sessions) void host.call('close', { session }).catch(() => undefined);
    sessions.clear();
  };
  port.on('message', onMessage);
  // The other end went away (the job's worker ended): clean up as a stop would.
  port.once('close', stop);
  return stop;
}

/** The ComputeHost served at the other end of `port`. `close` closes the port only. */
export async function connectComputeHost(port: MessagePort): Promise<ComputeHost> {
  const pending = new Map<number, { resolve(v: unknown): void; reject(e: Error): void }>();
  let nextId = 1;
  let closed = false;
  port.on('message', (response: Response) => {
    const waiting = pending.get(response.id);
    if (!waiting) return;
    pending.delete(response.id);
    if (response.error !== undefined) {
      const error = new Error(response.error);
      if (response.name) error.name = response.name;
      waiting.reject(error);
    }
    else waiting.resolve(response.result);
    if (pending.size === 0) port.unref();
  });
  port.on('close', () => {
    closed = true;
    for (const p of pending.values()) p.reject(new Error('compute host: the port closed'));
    pending.clear();
  });
  const call = <T>(method: string, args: unknown): Promise<T> => {
    if (closed) return Promise.reject(new Error('compute host: the port closed'));
    const id = nextId++;
    return new Promise<T>((resolve, reject) => {
      pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
      port.ref();
      port.postMessage({ id, method, args } satisfies Request);
    });
  };
  const info = await call<ComputeInfo>('__info', null);
  return {
    info,
    call,
    close: async () => {
      closed = true;
      port.close();
    },
  };
}

/**
 * The launcher a job's worker gives its gradient strategies: one connection over `port`
 * for the whole job, whichever phases (and Trainers) use it; a strategy's `close` leaves
 * it open (the port closes with the worker).
 */
export function sharedConnection(port: MessagePort): () => Promise<ComputeHost> {
  let connected: Promise<ComputeHost> | null = null;
  return async () => {
    connected ??= connectComputeHost(port);
    const host = await connected;
    return { info: host.info, call: <T>(method: string, args: unknown) => host.call<T>(method, args), close: async () => undefined };
  };
}
