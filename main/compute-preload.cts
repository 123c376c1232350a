// Preload of the hidden compute window (main/compute-window.ts): the page's only door
// to the main process is one request handler and one respond function, exposed as
// `window.learngeneComputeBridge`. Tensors cross as typed arrays (structured clone).
// CommonJS (.cts → dist/main/compute-preload.cjs): sandboxed preloads cannot load ESM.

import electron = require('electron');

const REQUEST = 'learngene-compute:request';
const RESPONSE = 'learngene-compute:response';
const { contextBridge, ipcRenderer } = electron;

contextBridge.exposeInMainWorld('learngeneComputeBridge', {
  onRequest(handler: (request: { id: number; method: string; args: unknown }) => void): void {
    ipcRenderer.on(REQUEST, (_event, request: { id: number; method: string; args: unknown }) => handler(request));
  },
  respond(id: number, response: { result?: unknown; error?: string }): void {
    ipcRenderer.send(RESPONSE, { id, ...response });
  },
});
