// The browser-mode transport: the same API over a WebSocket to server/studio-server.ts.
// The token is the first segment of the page's path, so the socket and the uploads
// carry it without the window knowing it.
import type { ProgressEvent } from '../../../shared/events.js';
import { RemoteError, type RpcMessage } from '../../../shared/rpc.js';
import { STUDIO_METHODS } from '../../../shared/api.js';
import { HOST_METHODS } from '../../../shared/host.js';
import type { Api, Dropped, Host } from './types.js';

export type ConnectionState = 'connecting' | 'open' | 'closed';

export interface WsTransport {
  api: Api;
  host: Host;
  onState(listener: (state: ConnectionState) => void): () => void;
}

/** The page's base: http://127.0.0.1:<port>/<token>/ */
export function pageBase(location: Location): URL {
  const token = location.pathname.split('/').filter(Boolean)[0] ?? '';
  return new URL(`/${token}/`, location.origin);
}

export function wsTransport(location: Location): WsTransport {
  const base = pageBase(location);
  const socketUrl = new URL('ws', base);
  socketUrl.protocol = base.protocol === 'https:' ? 'wss:' : 'ws:';

  const pending = new Map<number, { resolve: (value: unknown) => void; reject: (error: Error) => void }>();
  const queue: string[] = [];
  const listeners = new Set<(event: ProgressEvent) => void>();
  const stateListeners = new Set<(state: ConnectionState) => void>();
  let socket: WebSocket | null = null;
  let nextId = 1;
  let retry = 0;

  const setState = (state: ConnectionState) => {
    for (const l of stateListeners) l(state);
  };

  function open(): void {
    setState('connecting');
    const ws = new WebSocket(socketUrl);
    socket = ws;
    ws.onopen = () => {
      retry = 0;
      setState('open');
      for (const text of queue.splice(0)) ws.send(text);
    };
    ws.onmessage = (message) => {
      const data = JSON.parse(String(message.data)) as RpcMessage;
      if (data.type === 'result') {
        const waiter = pending.get(data.id);
        pending.delete(data.id);
        const result = data.result;
        if (waiter) result.ok ? waiter.resolve(result.value) : waiter.reject(new RemoteError(result.error));
      } else if (data.type === 'event') {
        for (const l of listeners) l(data.event);
      }
    };
    // A failed connection also closes: onclose does the retry.
    ws.onerror = () => undefined;
    ws.onclose = () => {
      socket = null;
      setState('closed');
      for (const [id, waiter] of pending) {
        waiter.reject(new Error('the connection to the studio server closed'));
        pending.delete(id);
      }
      // The server may be restarting: try again, slower each time.
      retry = Math.min(retry + 1, 6);
      setTimeout(open, 250 * 2 ** retry);
    };
  }

  const call = (method: string) => (...args: unknown[]) =>
    new Promise<unknown>((resolve, reject) => {
      const id = nextId++;
      pending.set(id, { resolve, reject });
      const text = JSON.stringify({ type: 'call', id, method, args });
      if (socket && socket.readyState === WebSocket.OPEN) socket.send(text);
      else queue.push(text);
    });

  const api = {
    on(listener: (event: ProgressEvent) => void) {
      listeners.add(listener);
      return () => void listeners.delete(listener);
    },
  } as Record<string, unknown>;
  for (const method of STUDIO_METHODS) api[method] = call(method);

  const host = { kind: 'browser' } as Record<string, unknown>;
  for (const method of HOST_METHODS) host[method] = call(method);
  host.receiveFiles = async (dropped: Dropped, onProgress?: (done: number, total: number) => void) => {
    const files = await dropped.files();
    if (files.length === 0) throw new Error('nothing to upload: the drop held no files');
    const batch = `${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`;
    let done = 0;
    onProgress?.(0, files.length);
    // A few uploads at a time keep the connection busy without flooding it.
    const work = files.slice();
    const worker = async () => {
      for (let next = work.shift(); next; next = work.shift()) {
        const url = new URL('upload', base);
        url.searchParams.set('batch', batch);
        url.searchParams.set('path', next.relativePath);
        const response = await fetch(url, { method: 'POST', body: next.file });
        if (!response.ok) throw new Error(`upload of ${next.relativePath} failed: ${(await response.json().catch(() => ({}))).error ?? response.status}`);
        onProgress?.(++done, files.length);
      }
    };
    await Promise.all([worker(), worker(), worker(), worker()]);
    const finished = await fetch(new URL(`upload-done?batch=${batch}`, base), { method: 'POST' });
    if (!finished.ok) throw new Error(`upload failed: ${finished.status}`);
    return ((await finished.json()) as { path: string }).path;
  };
  host.downloadUrl = (path: string) => {
    const url = new URL('download', base);
    url.searchParams.set('path', path);
    return url.href;
  };

  open();
  return {
    api: api as unknown as Api,
    host: host as unknown as Host,
    onState(listener) {
      stateListeners.add(listener);
      return () => void stateListeners.delete(listener);
    },
  };
}
