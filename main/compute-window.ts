// The GPU path of the desktop app: a hidden BrowserWindow runs the compute page
// (compute/page.ts, built into dist/compute-host/) on tfjs WebGPU — Metal, Vulkan or
// D3D12 through Chromium — and answers compute-service calls over IPC. It is a
// ComputeHost like headless Chromium (node/compute/chromium.ts), so the same
// ComputeHostGradients trains through it. A crash of the window's renderer rejects the
// pending calls; the app itself stays up.
//
// Electron is passed in (never imported here at run time) so Node tests run this with
// a mock.

import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type * as Electron from 'electron';
import type { ComputeInfo } from '../engine/compute/service.js';
import type { ClosableHost } from '../node/compute/source.js';
import { webPreferences } from './web-preferences.js';

type ElectronModule = typeof Electron;

export const COMPUTE_REQUEST = 'learngene-compute:request';
export const COMPUTE_RESPONSE = 'learngene-compute:response';

const here = path.dirname(fileURLToPath(import.meta.url));
/** dist/main/compute-preload.cjs */
export const COMPUTE_PRELOAD = path.join(here, 'compute-preload.cjs');
/** dist/compute-host/index.html */
export const COMPUTE_PAGE = path.resolve(here, '../compute-host/index.html');

/** Chromium switches that expose WebGPU where it is not on by default (Linux); call before app ready. */
export function enableWebGpuSwitches(app: Pick<ElectronModule['app'], 'commandLine'>): void {
  app.commandLine.appendSwitch('enable-unsafe-webgpu');
  app.commandLine.appendSwitch('enable-features', 'Vulkan');
}

/** The hidden window's preferences: the studio's security settings, no throttling when hidden. */
export function computeWebPreferences(preload: string) {
  return { ...webPreferences(preload), backgroundThrottling: false } as const;
}

export interface ComputeWindowOptions {
  backend?: 'webgpu' | 'cpu';
  pageFile?: string;
  preload?: string;
}

export async function openComputeWindow(electron: ElectronModule, options: ComputeWindowOptions = {}): Promise<ClosableHost> {
  const { BrowserWindow, ipcMain } = electron;
  const window = new BrowserWindow({ show: false, width: 320, height: 240, webPreferences: computeWebPreferences(options.preload ?? COMPUTE_PRELOAD) });
  const contents = window.webContents;
  const pending = new Map<number, { resolve(value: unknown): void; reject(error: Error): void }>();
  let nextId = 1;
  let closed = false;
  /** Why the window can no longer answer (its renderer stopped), once it cannot. */
  let gone: string | null = null;

  const onResponse = (event: { sender: unknown }, response: { id: number; result?: unknown; error?: string }) => {
    if (event.sender !== contents) return; // only our window answers
    const waiting = pending.get(response.id);
    if (!waiting) return;
    pending.delete(response.id);
    if (response.error !== undefined) waiting.reject(new Error(`compute window: ${response.error}`));
    else waiting.resolve(response.result);
  };
  ipcMain.on(COMPUTE_RESPONSE, onResponse as never);
  const failAll = (reason: string) => {
    for (const p of pending.values()) p.reject(new Error(`compute window: ${reason}`));
    pending.clear();
  };
  contents.on('render-process-gone', ((_event: unknown, details: { reason?: string }) => {
    gone = `its renderer stopped (${details?.reason ?? 'unknown'})`;
    failAll(gone);
  }) as never);
  // The page loads nothing else and opens nothing.
  contents.on('will-navigate', ((event: { preventDefault(): void }) => event.preventDefault()) as never);
  contents.setWindowOpenHandler(() => ({ action: 'deny' }));

  const call = <T>(method: string, args: unknown): Promise<T> => {
    if (closed) return Promise.reject(new Error('compute window: closed'));
    if (gone) return Promise.reject(new Error(`compute window: ${gone}`));
    const id = nextId++;
    return new Promise<T>((resolve, reject) => {
      pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
      contents.send(COMPUTE_REQUEST, { id, method, args });
    });
  };

  await window.loadFile(options.pageFile ?? COMPUTE_PAGE, { query: { backend: options.backend ?? 'webgpu' } });
  const ready = await call<ComputeInfo & { error: string | null }>('ready', null);
  const close = async () => {
    if (closed) return;
    closed = true;
    failAll('closed');
    ipcMain.removeListener(COMPUTE_RESPONSE, onResponse as never);
    if (!window.isDestroyed()) window.destroy();
  };
  if (ready.error) {
    await close();
    throw new Error(`compute window: ${ready.error}`);
  }
  return { info: { backend: ready.backend, adapter: ready.adapter }, call, close, isClosed: () => closed || gone !== null };
}
