// The desktop app's GPU path, wired, with Electron mocked: the shell turns WebGPU on
// before the app is ready, opens the hidden compute window at start to ask for its
// adapter (the backend status shows it), and a job submitted with backend webgpu runs
// its gradient steps in that window — job worker → MessagePort → main process → IPC →
// window. The "window" is a ComputeService on wasm answering on the IPC channel, as
// the compute page would; the job's losses match a wasm run of the same request.

import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';
import '../../engine/gradients.js';
import { ComputeService } from '../../engine/compute/service.js';
import type { JobInfo } from '../../shared/api.js';
import type { ProgressEvent } from '../../shared/events.js';
import type { RpcResult } from '../../shared/rpc.js';
import { requireBuild } from '../helpers/jobs.js';
import { useBackend } from '../helpers/fixtures.js';
import { tinyTrain } from '../helpers/requests.js';

requireBuild();

type Request = { id: number; method: string; args: unknown };

const state = vi.hoisted(() => ({
  order: [] as string[],
  windows: [] as { options: Record<string, unknown>; loaded: unknown[]; destroyed: boolean }[],
  handles: new Map<string, (event: unknown, ...args: unknown[]) => unknown>(),
  listeners: new Map<string, (event: { sender: unknown }, ...args: unknown[]) => void>(),
  appHandlers: new Map<string, (...a: unknown[]) => unknown>(),
  /** The compute page: answers a request sent to the hidden window. */
  page: null as null | ((request: Request, sender: unknown) => void),
  userData: '',
  documents: '',
}));

vi.mock('electron', () => {
  class BrowserWindow {
    webContents: Record<string, unknown>;
    loaded: unknown[] = [];
    destroyed = false;
    constructor(public options: Record<string, unknown>) {
      const handlers = new Map<string, (...a: unknown[]) => unknown>();
      const contents: Record<string, unknown> = {
        handlers,
        on: (name: string, fn: (...a: unknown[]) => unknown) => handlers.set(name, fn),
        setWindowOpenHandler: (fn: (...a: unknown[]) => unknown) => handlers.set('window-open', fn),
        send: (channel: string, request: Request) => {
          if (channel === 'learngene-compute:request') state.page?.(request, contents);
        },
        isDestroyed: () => this.destroyed,
      };
      this.webContents = contents;
      state.windows.push(this);
    }
    on() {}
    once() {}
    async loadURL(url: string) {
      this.loaded.push(url);
    }
    async loadFile(file: string, options: unknown) {
      this.loaded.push([file, options]);
    }
    isDestroyed() {
      return this.destroyed;
    }
    destroy() {
      this.destroyed = true;
    }
    isMaximized() {
      return false;
    }
    getBounds() {
      return { x: 0, y: 0, width: 1000, height: 700 };
    }
    getNormalBounds() {
      return this.getBounds();
    }
    maximize() {}
    setTitle() {}
    show() {}
  }
  return {
    app: {
      commandLine: { appendSwitch: (name: string, value?: string) => state.order.push(`switch ${name}${value ? `=${value}` : ''}`) },
      whenReady: async () => void state.order.push('ready'),
      getPath: (name: string) => (name === 'userData' ? state.userData : state.documents),
      getAppPath: () => '/opt/learngene',
      on: (name: string, fn: (...a: unknown[]) => unknown) => state.appHandlers.set(name, fn),
      quit: vi.fn(),
      exit: vi.fn(),
      showAboutPanel: vi.fn(),
    },
    BrowserWindow,
    ipcMain: {
      handle: (channel: string, fn: (event: unknown, ...args: unknown[]) => unknown) => state.handles.set(channel, fn),
      removeHandler: (channel: string) => state.handles.delete(channel),
      on: (channel: string, fn: (event: { sender: unknown }, ...args: unknown[]) => void) => state.listeners.set(channel, fn),
      removeListener: (channel: string) => state.listeners.delete(channel),
    },
    dialog: { showOpenDialog: vi.fn(), showErrorBox: vi.fn() },
    shell: { showItemInFolder: vi.fn(), openExternal: vi.fn(async () => undefined) },
    Menu: { setApplicationMenu: vi.fn(), buildFromTemplate: (t: unknown) => t },
    screen: { getAllDisplays: () => [{ workArea: { x: 0, y: 0, width: 1920, height: 1080 } }] },
    session: { defaultSession: { setPermissionRequestHandler: vi.fn() } },
    nativeTheme: { shouldUseDarkColors: false },
  };
});

const ADAPTER = { vendor: 'test', architecture: 'in-process ComputeService', description: 'wasm', fallback: false };

/** The compute page as the preload would drive it: a ComputeService answering on the response channel. */
function servePage(service: ComputeService, ready: { backend: string; adapter: typeof ADAPTER | null; error: string | null }, calls: string[]) {
  state.page = (request, sender) => {
    calls.push(request.method);
    const respond = (response: Record<string, unknown>) => state.listeners.get('learngene-compute:response')?.({ sender }, { id: request.id, ...response });
    const work = request.method === 'ready' ? Promise.resolve(ready) : service.call(request.method, request.args);
    work.then((result) => respond({ result }), (error: Error) => respond({ error: error.message }));
  };
}

const PAGE_URL = 'file:///opt/learngene/renderer-dist/index.html';

/** A studio API call as the window makes it (through the IPC handlers the shell registered). */
async function ipc<T>(method: string, ...args: unknown[]): Promise<T> {
  const handler = state.handles.get(`learngene:${method}`);
  if (!handler) throw new Error(`no IPC handler for ${method}`);
  const result = (await handler({ senderFrame: { url: PAGE_URL } }, ...args)) as RpcResult<T>;
  if (!result.ok) throw new Error(result.error.message);
  return result.value;
}

async function settled(id: string): Promise<JobInfo> {
  for (;;) {
    const info = await ipc<JobInfo | null>('get', id);
    if (info && ['done', 'error', 'cancelled'].includes(info.status)) return info;
    await new Promise((r) => setTimeout(r, 50));
  }
}

function stepsOf(events: ProgressEvent[]): Extract<ProgressEvent, { type: 'step' }>[] {
  return events.filter((e): e is Extract<ProgressEvent, { type: 'step' }> => e.type === 'step');
}

const root = mkdtempSync(path.join(os.tmpdir(), 'lg-compute-wiring-'));
state.userData = path.join(root, 'user');
state.documents = path.join(root, 'docs');
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('desktop GPU path (Electron mocked)', () => {
  it('WebGPU switches before ready; the compute window probed at start; a webgpu job trains through it like wasm', async () => {
    await useBackend('wasm');
    const calls: string[] = [];
    servePage(new ComputeService(), { backend: 'webgpu', adapter: ADAPTER, error: null }, calls);
    const electron = await import('electron');
    const { startShell } = await import('../../main/electron-main.js');
    const { COMPUTE_PAGE } = await import('../../main/compute-window.js');
    await startShell(electron as never);
    expect(state.order.slice(0, 3)).toEqual(['switch enable-unsafe-webgpu', 'switch enable-features=Vulkan', 'ready']);

    // The studio window, and the hidden compute window opened at start to ask for its adapter.
    const compute = state.windows.find((w) => w.options.show === false && (w.options.webPreferences as { backgroundThrottling?: boolean }).backgroundThrottling === false)!;
    expect(compute.loaded).toEqual([[COMPUTE_PAGE, { query: { backend: 'webgpu' } }]]);
    const backends = await ipc<{ name: string; usable: boolean; detail: string }[]>('backends');
    await useBackend('wasm'); // the probe switched this thread's backend; the "window" computes here
    expect(backends.find((b) => b.name === 'webgpu')).toMatchObject({ name: 'webgpu', usable: true, detail: 'test in-process ComputeService wasm (WebGPU in the hidden compute window)' });

    const project = (await ipc<{ dir: string }>('project')).dir;
    const request = tinyTrain(path.join(project, 'model-gpu'), { limit: 96, epochs: 1 });
    const onGpu = await ipc<JobInfo>('submit', request, { backend: 'webgpu' });
    const gpuInfo = await settled(onGpu.id);
    expect(gpuInfo.status, JSON.stringify(gpuInfo.error)).toBe('done');
    const onWasm = await ipc<JobInfo>('submit', { ...request, out: path.join(project, 'model-wasm') }, { backend: 'wasm' });
    expect((await settled(onWasm.id)).status).toBe('done');

    const gpuSteps = stepsOf(await ipc<ProgressEvent[]>('events', onGpu.id));
    const wasmSteps = stepsOf(await ipc<ProgressEvent[]>('events', onWasm.id));
    console.log(`first step loss: compute window ${gpuSteps[0]!.losses.total} · wasm ${wasmSteps[0]!.losses.total}; ${gpuSteps.length} steps`);
    expect(gpuSteps.length).toBeGreaterThan(2);
    expect(calls.filter((c) => c === 'gradients')).toHaveLength(gpuSteps.length); // every step went through the window
    expect(gpuSteps.length).toBe(wasmSteps.length);
    gpuSteps.forEach((s, i) => expect(Math.abs(s.losses.total! - wasmSteps[i]!.losses.total!), `step ${i}`).toBeLessThan(1e-3));
    // One window for the probe and every job.
    expect(state.windows.filter((w) => w.loaded.some((l) => Array.isArray(l)))).toHaveLength(1);

    // Quitting stops the jobs, then closes the compute window.
    state.appHandlers.get('before-quit')!({ preventDefault: vi.fn() });
    await vi.waitFor(() => expect(electron.app.quit).toHaveBeenCalled());
    expect(compute.destroyed).toBe(true);
  });

  it('a window without an adapter is closed after the probe and reported as "no adapter"; a crashed one is reopened', async () => {
    const electron = await import('electron');
    const { openComputeWindow } = await import('../../main/compute-window.js');
    const { OnDemandComputeHost, linkFor } = await import('../../node/compute/source.js');
    const calls: string[] = [];
    servePage(new ComputeService(), { backend: 'cpu', adapter: null, error: 'no WebGPU adapter' }, calls);
    const before = state.windows.length;
    const none = new OnDemandComputeHost(() => openComputeWindow(electron as never), 'the hidden compute window');
    expect(await none.status()).toEqual({ usable: false, detail: 'no adapter' });
    expect(state.windows.at(-1)!.destroyed).toBe(true);
    expect(await linkFor(none, 'auto')).toMatchObject({ status: { usable: false }, port: null });

    servePage(new ComputeService(), { backend: 'webgpu', adapter: ADAPTER, error: null }, calls);
    const source = new OnDemandComputeHost(() => openComputeWindow(electron as never), 'the hidden compute window');
    expect((await source.status()).usable).toBe(true);
    const first = await source.acquire();
    const win = state.windows.at(-1)! as unknown as { webContents: { handlers: Map<string, (...a: unknown[]) => void> } };
    win.webContents.handlers.get('render-process-gone')!({}, { reason: 'crashed' });
    await expect(first.call('info', null)).rejects.toThrow(/renderer stopped \(crashed\)/);
    const second = await source.acquire();
    expect(second).not.toBe(first);
    expect(state.windows.length).toBe(before + 3);
    await source.close();
  });
});
