// The Electron transport: window.learngene from main/preload.cts. Calls answer with an
// RpcResult envelope; this unwraps them so the rest of the window sees plain values
// and RemoteErrors carrying field issues.
import type { ProgressEvent } from '../../../shared/events.js';
import { unwrap, type RpcResult } from '../../../shared/rpc.js';
import { STUDIO_METHODS } from '../../../shared/api.js';
import { HOST_METHODS } from '../../../shared/host.js';
import { commonParent } from './paths.js';
import type { Api, Dropped, Host } from './types.js';

export interface Bridge {
  host: 'electron';
  on(callback: (event: ProgressEvent) => void): () => void;
  pathForFile(file: File): string;
  [method: string]: unknown;
}

export function electronBridge(): Bridge | null {
  const candidate = (globalThis as { learngene?: Bridge }).learngene;
  return candidate && candidate.host === 'electron' ? candidate : null;
}

export function electronTransport(bridge: Bridge): { api: Api; host: Host } {
  const call = (method: string) => async (...args: unknown[]) => {
    const invoke = bridge[method];
    if (typeof invoke !== 'function') throw new Error(`the preload offers no "${method}"`);
    const answer: RpcResult = await invoke(...args);
    return unwrap(answer);
  };
  const api = { on: (listener: (event: ProgressEvent) => void) => bridge.on(listener) } as Record<string, unknown>;
  for (const method of STUDIO_METHODS) api[method] = call(method);
  const host = { kind: 'electron' } as Record<string, unknown>;
  for (const method of HOST_METHODS) host[method] = call(method);
  host.receiveFiles = async (dropped: Dropped) => {
    // Electron gives the dropped items' own paths: nothing is copied.
    const paths = dropped.top.map((file) => bridge.pathForFile(file)).filter((p) => p.length > 0);
    if (paths.length === 0) throw new Error('the dropped items have no path on disk');
    return commonParent(paths);
  };
  host.downloadUrl = () => null;
  return { api: api as unknown as Api, host: host as unknown as Host };
}
