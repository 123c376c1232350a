// The window's only door to the app: one function per API call, dialogs, settings and
// `on(cb) → unsubscribe`, exposed as `window.learngene` through the contextBridge.
// Never the raw ipcRenderer.
//
// Sandboxed preloads can require nothing but a few Electron modules, so this file is
// CommonJS (.cts → dist/main/preload.cjs) and imports only types from shared/. The
// channel names are repeated here; test/main/preload.test.ts checks they match
// shared/api.ts STUDIO_METHODS and shared/host.ts HOST_METHODS.
//
// Calls answer with an RpcResult envelope ({ ok, value } | { ok: false, error }): the
// contextBridge drops every property of a thrown Error but its message, and the
// window needs the field issues of a rejected request. renderer/src/lib/api.ts unwraps.

import electron = require('electron');
import type { ProgressEvent } from '../shared/events.js';

const PREFIX = 'learngene:';
const EVENT_CHANNEL = 'learngene:event';
const API_METHODS = ['submit', 'list', 'get', 'cancel', 'resume', 'events', 'inspect', 'backends', 'project', 'predict', 'datasetImages'] as const;
const HOST_METHODS = ['openDialog', 'reveal', 'getSettings', 'setSettings'] as const;

const { contextBridge, ipcRenderer, webUtils } = electron;

type Invoker = (...args: unknown[]) => Promise<unknown>;

function invoker(method: string): Invoker {
  // Only plain data crosses: arguments are structured-cloned by ipcRenderer.invoke.
  return (...args: unknown[]) => ipcRenderer.invoke(PREFIX + method, ...args);
}

const bridge: Record<string, unknown> = { host: 'electron' };
for (const method of [...API_METHODS, ...HOST_METHODS]) bridge[method] = invoker(method);

bridge.on = (callback: (event: ProgressEvent) => void): (() => void) => {
  if (typeof callback !== 'function') throw new TypeError('learngene.on needs a callback');
  const listener = (_event: unknown, payload: ProgressEvent) => callback(payload);
  ipcRenderer.on(EVENT_CHANNEL, listener);
  return () => {
    ipcRenderer.removeListener(EVENT_CHANNEL, listener);
  };
};

/** The file-system path of a dropped File (Electron removed File.path). */
bridge.pathForFile = (file: unknown): string => webUtils.getPathForFile(file as never);

contextBridge.exposeInMainWorld('learngene', bridge);
