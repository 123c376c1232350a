// IPC between the Electron window and the job service. Pure wiring: takes an
// `ipcMain`-like object, a StudioApi and a StudioHost, so tests pass fakes and the
// real shell passes Electron's. Every handler answers with an RpcResult envelope.

import { STUDIO_METHODS, type StudioApi, type StudioMethod } from '../shared/api.js';
import { EVENT_CHANNEL, HOST_METHODS, IPC_PREFIX, type HostMethod, type StudioHost } from '../shared/host.js';
import { settle, type RpcResult } from '../shared/rpc.js';
import type { ProgressEvent } from '../shared/events.js';

/** The part of Electron's IpcMainInvokeEvent these handlers look at. */
export interface InvokeEventLike {
  senderFrame?: { url: string } | null;
}

/** The part of Electron's ipcMain these handlers use. */
export interface IpcMainLike {
  handle(channel: string, listener: (event: InvokeEventLike, ...args: unknown[]) => Promise<unknown> | unknown): void;
  removeHandler(channel: string): void;
}

/** A window's webContents, as far as event forwarding goes. */
export interface EventTarget {
  send(channel: string, payload: unknown): void;
  isDestroyed?(): boolean;
}

export interface IpcOptions {
  /** Refuses calls from frames that are not the studio's own page (e.g. a navigated-away window). */
  isTrustedUrl?: (url: string) => boolean;
}

export function channelOf(name: StudioMethod | HostMethod): string {
  return IPC_PREFIX + name;
}

/** Every channel registered by registerStudioIpc, in order. */
export const IPC_CHANNELS: readonly string[] = [...STUDIO_METHODS, ...HOST_METHODS].map((m) => IPC_PREFIX + m);

function untrusted(url: string | undefined): RpcResult {
  return { ok: false, error: { name: 'SecurityError', message: `refused an API call from ${url ?? 'an unknown frame'}` } };
}

/**
 * Registers one `handle` per API and host call: `learngene:<method>` → api[method](...args).
 * Optional API methods the implementation lacks answer with an error naming them.
 * Returns a function that removes every handler.
 */
export function registerStudioIpc(ipcMain: IpcMainLike, api: StudioApi, host: Omit<StudioHost, 'kind'>, options: IpcOptions = {}): () => void {
  const trusted = (event: InvokeEventLike) => {
    if (!options.isTrustedUrl) return true;
    const url = event?.senderFrame?.url;
    return typeof url === 'string' && options.isTrustedUrl(url);
  };
  for (const method of STUDIO_METHODS) {
    ipcMain.handle(channelOf(method), (event, ...args) => {
      if (!trusted(event)) return untrusted(event?.senderFrame?.url);
      return settle(() => {
        const fn = api[method] as ((...a: unknown[]) => Promise<unknown>) | undefined;
        if (typeof fn !== 'function') throw new Error(`the job service does not offer "${method}"`);
        return fn.apply(api, args);
      });
    });
  }
  for (const method of HOST_METHODS) {
    ipcMain.handle(channelOf(method), (event, ...args) => {
      if (!trusted(event)) return untrusted(event?.senderFrame?.url);
      return settle(() => (host[method] as (...a: unknown[]) => Promise<unknown>).apply(host, args));
    });
  }
  return () => {
    for (const channel of IPC_CHANNELS) ipcMain.removeHandler(channel);
  };
}

/**
 * Forwards every progress event of `api` to the windows `targets()` returns, on
 * EVENT_CHANNEL. Returns the unsubscribe function.
 */
export function forwardEvents(api: StudioApi, targets: () => EventTarget[]): () => void {
  return api.on((event: ProgressEvent) => {
    for (const target of targets()) {
      if (target.isDestroyed?.()) continue;
      target.send(EVENT_CHANNEL, event);
    }
  });
}
