// IPC between the Electron window and the studio backend: one `handle` per call, each
// handing the call to the one dispatch (node/studio/dispatch.ts), which validates it and
// answers with an RpcResult envelope. Takes an `ipcMain`-like object, so tests pass a
// fake and the shell passes Electron's.

import { STUDIO_METHODS, type StudioApi } from '../shared/api.js';
import { EVENT_CHANNEL, HOST_METHODS, IPC_PREFIX } from '../shared/host.js';
import type { RpcResult } from '../shared/rpc.js';
import type { ProgressEvent } from '../shared/events.js';
import { createDispatch, type HostCalls } from '../node/studio/dispatch.js';

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

const METHODS = [...STUDIO_METHODS, ...HOST_METHODS];

/** Every channel registered by registerStudioIpc, in order. */
export const IPC_CHANNELS: readonly string[] = METHODS.map((m) => IPC_PREFIX + m);

function untrusted(url: string | undefined): RpcResult {
  return { ok: false, error: { name: 'SecurityError', message: `refused an API call from ${String(url ?? 'an unknown frame').slice(0, 200)}` } };
}

/** Registers `learngene:<method>` for every API and host call. Returns a function that removes them. */
export function registerStudioIpc(ipcMain: IpcMainLike, api: StudioApi, host: HostCalls, options: IpcOptions = {}): () => void {
  const dispatch = createDispatch(api, host);
  for (const method of METHODS) {
    ipcMain.handle(IPC_PREFIX + method, (event, ...args) => {
      const url = event?.senderFrame?.url;
      if (options.isTrustedUrl && !(typeof url === 'string' && options.isTrustedUrl(url))) return untrusted(url);
      return dispatch(method, args);
    });
  }
  return () => {
    for (const channel of IPC_CHANNELS) ipcMain.removeHandler(channel);
  };
}

/** Forwards every progress event of `api` to the windows `targets()` returns, on EVENT_CHANNEL. Returns the unsubscribe function. */
export function forwardEvents(api: Pick<StudioApi, 'on'>, targets: () => EventTarget[]): () => void {
  return api.on((event: ProgressEvent) => {
    for (const target of targets()) {
      if (target.isDestroyed?.()) continue;
      target.send(EVENT_CHANNEL, event);
    }
  });
}
