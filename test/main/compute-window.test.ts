// The hidden compute window with Electron mocked: secure preferences, IPC plumbing
// (requests out, only our window's answers in), a crash rejecting pending calls, and a
// real ComputeService (on wasm) standing in for the page so a training step goes
// through end to end.

import { describe, expect, it, vi } from 'vitest';
import '../../engine/gradients.js';
import { ComputeService } from '../../engine/compute/service.js';
import { createViT, disposeParams } from '../../engine/model/vit.js';
import { LocalGradients, stepDropPath } from '../../engine/train/gradients.js';
import { ComputeHostGradients } from '../../node/compute/gradients.js';
import { useBackend } from '../helpers/fixtures.js';

const state = vi.hoisted(() => ({
  listeners: new Map<string, (event: { sender: unknown }, ...args: unknown[]) => void>(),
  windows: [] as { options: Record<string, unknown>; destroyed: boolean; loaded: unknown[] }[],
  page: null as null | ((request: { id: number; method: string; args: unknown }, sender: unknown) => void),
}));

vi.mock('electron', () => {
  class BrowserWindow {
    destroyed = false;
    loaded: unknown[] = [];
    webContents: Record<string, unknown> & { handlers: Map<string, (...a: unknown[]) => void> };
    constructor(public options: Record<string, unknown>) {
      const handlers = new Map<string, (...a: unknown[]) => void>();
      const contents: Record<string, unknown> & { handlers: typeof handlers } = {
        handlers,
        on: (name: string, fn: (...a: unknown[]) => void) => handlers.set(name, fn),
        setWindowOpenHandler: (fn: (...a: unknown[]) => void) => handlers.set('window-open', fn),
        send: (channel: string, request: { id: number; method: string; args: unknown }) => {
          if (channel === 'learngene-compute:request') state.page?.(request, contents);
        },
      };
      this.webContents = contents;
      state.windows.push(this as never);
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
  }
  return {
    BrowserWindow,
    ipcMain: {
      on: (channel: string, fn: (event: { sender: unknown }, ...args: unknown[]) => void) => state.listeners.set(channel, fn),
      removeListener: (channel: string) => state.listeners.delete(channel),
    },
    app: { commandLine: { appendSwitch: vi.fn() } },
  };
});

/** The page: a ComputeService answering through the response channel, as the preload would. */
function servePage(service: ComputeService) {
  state.page = (request, sender) => {
    const respond = (response: Record<string, unknown>) => state.listeners.get('learngene-compute:response')?.({ sender }, { id: request.id, ...response });
    const work = request.method === 'ready' ? Promise.resolve({ backend: 'wasm', adapter: null, error: null }) : service.call(request.method, request.args);
    work.then((result) => respond({ result }), (error: Error) => respond({ error: error.message }));
  };
}

describe('compute window (Electron mocked)', () => {
  it('opens a hidden, sandboxed window on the compute page and trains a step through it', async () => {
    await useBackend('wasm');
    const electron = await import('electron');
    const { openComputeWindow, COMPUTE_PAGE, enableWebGpuSwitches } = await import('../../main/compute-window.js');
    servePage(new ComputeService());
    const host = await openComputeWindow(electron as never);
    const win = state.windows.at(-1)!;
    expect(win.options).toMatchObject({ show: false, webPreferences: { contextIsolation: true, sandbox: true, nodeIntegration: false, backgroundThrottling: false } });
    expect(win.loaded).toEqual([[COMPUTE_PAGE, { query: { backend: 'webgpu' } }]]);
    expect(host.info.backend).toBe('wasm');

    const config = { imageSize: 8, channels: 1, patchSize: 4, dim: 16, depth: 2, heads: 2, mlpRatio: 2, qkvBias: true, pooling: 'avg' as const, layerNormEps: 1e-6, gelu: 'exact' as const, dropPath: 0.1, numClasses: 3 };
    const net = createViT(config, 1);
    const batch = { images: new Float32Array(3 * 64).map((_, i) => Math.cos(i)), labels: Int32Array.from([0, 1, 2]), size: 3 };
    const request = { network: net, trainable: new Map(net.params), batch, dropPath: stepDropPath(net, 1, 0, 3), teacher: null, labelSmoothing: 0, distill: { alpha: 1, tau: 1 } };
    const here = await new LocalGradients().compute(request);
    const there = await new ComputeHostGradients(host, net).compute(request);
    expect(there.losses.total).toBe(here.losses.total);
    for (const [name, g] of here.grads) expect(Array.from(there.grads.get(name)!.dataSync()), name).toEqual(Array.from(g.dataSync()));
    disposeParams(net.params);

    const app = { commandLine: { appendSwitch: vi.fn() } };
    enableWebGpuSwitches(app as never);
    expect(app.commandLine.appendSwitch).toHaveBeenCalledWith('enable-unsafe-webgpu');

    await host.close();
    expect(win.destroyed).toBe(true);
    expect(state.listeners.has('learngene-compute:response')).toBe(false);
    await expect(host.call('info', null)).rejects.toThrow(/closed/);
  });

  it('ignores answers from other windows and rejects pending calls when the renderer goes away', async () => {
    const electron = await import('electron');
    const { openComputeWindow } = await import('../../main/compute-window.js');
    let hold: ((sender: unknown) => void) | null = null;
    state.page = (request, sender) => {
      const answer = (from: unknown, response: Record<string, unknown>) => state.listeners.get('learngene-compute:response')?.({ sender: from }, { id: request.id, ...response });
      if (request.method === 'ready') answer(sender, { result: { backend: 'webgpu', adapter: null, error: null } });
      else hold = () => answer({ other: true }, { result: 'forged' });
    };
    const host = await openComputeWindow(electron as never);
    const win = state.windows.at(-1)!;
    const pendingCall = host.call('info', null);
    hold!(null); // a forged answer from another sender is ignored
    (win as unknown as { webContents: { handlers: Map<string, (...a: unknown[]) => void> } }).webContents.handlers.get('render-process-gone')!({}, { reason: 'crashed' });
    await expect(pendingCall).rejects.toThrow(/renderer stopped \(crashed\)/);
    await host.close();
  });

  it('reports a page whose backend did not start', async () => {
    const electron = await import('electron');
    const { openComputeWindow } = await import('../../main/compute-window.js');
    state.page = (request, sender) => state.listeners.get('learngene-compute:response')?.({ sender }, { id: request.id, result: { backend: 'cpu', adapter: null, error: 'no WebGPU adapter' } });
    await expect(openComputeWindow(electron as never)).rejects.toThrow(/no WebGPU adapter/);
    expect(state.windows.at(-1)!.destroyed).toBe(true);
  });
});
