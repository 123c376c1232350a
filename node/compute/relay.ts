// A compute host reached through a MessagePort: how a job's worker thread trains on the
// desktop app's hidden compute window, which lives in the Electron main process. The
// main process serves its ComputeHost on one end of a MessageChannel
// (`serveComputeHost`) and hands the other end to the worker (transferList), where
// `connectComputeHost` makes it a ComputeHost again — ComputeHostGradients works
// unchanged. Typed arrays cross by structured clone.

import type { MessagePort } from 'node:worker_threads';
import type { ComputeInfo } from '../../engine/compute/service.js';
import type { ComputeHost } from './host.js';

type Request = { id: number; method: string; args: unknown };
type Response = { id: number; result?: unknown; error?: string };

/** Answers calls arriving on `port` with `host`; returns a function that stops serving. */
export function serveComputeHost(host: ComputeHost, port: MessagePort): () => void {
  const onMessage = (request: Request) => {
    const work = request.method === '__info' ? Promise.resolve(host.info) : host.call(request.method, request.args);
    work.then(
      (result) => port.postMessage({ id: request.id, result } satisfies Response),
      (error: unknown) => port.postMessage({ id: request.id, error: (error as Error).message ?? String(error) } satisfies Response),
    );
  };
  port.on('message', onMessage);
  return () => {
    port.off('message', onMessage);
    port.close();
  };
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
    if (response.error !== undefined) waiting.reject(new Error(response.error));
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
