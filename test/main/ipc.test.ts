import { describe, expect, it, vi } from 'vitest';
import { forwardEvents, IPC_CHANNELS, registerStudioIpc, type InvokeEventLike, type IpcMainLike } from '../../main/ipc.js';
import { STUDIO_METHODS, type StudioApi } from '../../shared/api.js';
import { EVENT_CHANNEL, HOST_METHODS, type StudioHost } from '../../shared/host.js';
import { ConfigError } from '../../shared/config.js';
import type { ProgressEvent } from '../../shared/events.js';

type Handler = (event: InvokeEventLike, ...args: unknown[]) => unknown;

function fakeIpcMain() {
  const handlers = new Map<string, Handler>();
  const ipc: IpcMainLike = {
    handle: (channel, listener) => {
      if (handlers.has(channel)) throw new Error(`second handler for ${channel}`);
      handlers.set(channel, listener as Handler);
    },
    removeHandler: (channel) => void handlers.delete(channel),
  };
  return { ipc, handlers };
}

function fakeApi() {
  const listeners = new Set<(e: ProgressEvent) => void>();
  const api = {
    submit: vi.fn(async (request: unknown) => ({ id: 'run-1', request })),
    list: vi.fn(async () => []),
    get: vi.fn(async (id: string) => (id === 'x' ? { id } : null)),
    cancel: vi.fn(async () => undefined),
    resume: vi.fn(async (id: string) => ({ id })),
    events: vi.fn(async () => []),
    inspect: vi.fn(async (p: string) => ({ kind: 'dataset', path: p })),
    backends: vi.fn(async () => [{ name: 'wasm', usable: true, detail: 'WebAssembly' }]),
    project: vi.fn(async () => ({ dir: '/p', name: 'p' })),
    on: (l: (e: ProgressEvent) => void) => {
      listeners.add(l);
      return () => listeners.delete(l);
    },
  };
  return { api: api as unknown as StudioApi & typeof api, listeners };
}

const host: Omit<StudioHost, 'kind'> = {
  openDialog: vi.fn(async () => '/picked'),
  reveal: vi.fn(async () => true),
  getSettings: vi.fn(async () => ({ theme: 'dark' }) as never),
  setSettings: vi.fn(async (patch) => patch as never),
};

const page = { senderFrame: { url: 'file:///app/renderer-dist/index.html' } };

describe('registerStudioIpc', () => {
  it('registers exactly one channel per API and host call', () => {
    const { ipc, handlers } = fakeIpcMain();
    const { api } = fakeApi();
    registerStudioIpc(ipc, api, host);
    expect([...handlers.keys()].sort()).toEqual([...IPC_CHANNELS].sort());
    expect(IPC_CHANNELS).toHaveLength(STUDIO_METHODS.length + HOST_METHODS.length);
    expect(handlers.has('learngene:on')).toBe(false);
  });

  it('forwards arguments to the job service and answers with an envelope', async () => {
    const { ipc, handlers } = fakeIpcMain();
    const { api } = fakeApi();
    registerStudioIpc(ipc, api, host);
    const request = { kind: 'grow', learngene: 'lg', depth: 3, out: 'd3', seed: 0 };
    // Only well-formed calls reach the backend: the one dispatch checks them first.
    expect(await handlers.get('learngene:submit')!(page, { ...request, depth: '3' })).toMatchObject({ ok: false, error: { name: 'ConfigError', issues: [{ field: 'depth', message: 'must be an integer, got "3"' }] } });
    expect(await handlers.get('learngene:resume')!(page, '/p/runs/run-1')).toMatchObject({ ok: false, error: { issues: [{ field: 'id' }] } });
    expect(api.submit).not.toHaveBeenCalled();
    expect(await handlers.get('learngene:submit')!(page, request, { backend: 'wasm' })).toEqual({ ok: true, value: { id: 'run-1', request } });
    expect(api.submit).toHaveBeenCalledWith(request, { backend: 'wasm' });
    expect(await handlers.get('learngene:get')!(page, 'x')).toEqual({ ok: true, value: { id: 'x' } });
    await handlers.get('learngene:cancel')!(page, 'run-1');
    expect(api.cancel).toHaveBeenCalledWith('run-1');
    await handlers.get('learngene:resume')!(page, 'run-1', { backend: 'wasm' });
    expect(api.resume).toHaveBeenCalledWith('run-1', { backend: 'wasm' });
    expect(await handlers.get('learngene:inspect')!(page, '/data')).toEqual({ ok: true, value: { kind: 'dataset', path: '/data' } });
    expect(await handlers.get('learngene:openDialog')!(page, { pick: 'folder' })).toEqual({ ok: true, value: '/picked' });
    expect(host.openDialog).toHaveBeenCalledWith({ pick: 'folder' });
    await handlers.get('learngene:setSettings')!(page, { theme: 'light' });
    expect(host.setSettings).toHaveBeenCalledWith({ theme: 'light' });
  });

  it('keeps validation issues of a rejected request', async () => {
    const { ipc, handlers } = fakeIpcMain();
    const { api } = fakeApi();
    api.submit.mockRejectedValueOnce(new ConfigError([{ field: 'stages', message: 'must list at least one stage, e.g. 3,3,4,3,3' }]));
    registerStudioIpc(ipc, api, host);
    const answer = (await handlers.get('learngene:submit')!(page, { kind: 'grow', learngene: 'lg', depth: 3, out: 'd3', seed: 0 })) as { ok: false; error: { name: string; issues: unknown[] } };
    expect(answer.ok).toBe(false);
    expect(answer.error.name).toBe('ConfigError');
    expect(answer.error.issues).toEqual([{ field: 'stages', message: 'must list at least one stage, e.g. 3,3,4,3,3' }]);
  });

  it('answers a host call the host fails with its error, and an unknown channel method never', async () => {
    const { ipc, handlers } = fakeIpcMain();
    const { api } = fakeApi();
    registerStudioIpc(ipc, api, { ...host, reveal: async () => Promise.reject(new Error('no file manager')) });
    expect(await handlers.get('learngene:reveal')!(page, '/x')).toMatchObject({ ok: false, error: { message: 'no file manager' } });
    expect(await handlers.get('learngene:getSettings')!(page, 'extra')).toMatchObject({ ok: false, error: { issues: [{ field: 'arguments', message: 'getSettings takes no arguments, got 1' }] } });
  });

  it('refuses calls from a page that is not the studio', async () => {
    const { ipc, handlers } = fakeIpcMain();
    const { api } = fakeApi();
    registerStudioIpc(ipc, api, host, { isTrustedUrl: (url) => url.startsWith('file:///app/renderer-dist/') });
    const answer = (await handlers.get('learngene:list')!({ senderFrame: { url: 'https://evil.example/' } })) as { ok: boolean };
    expect(answer.ok).toBe(false);
    expect(api.list).not.toHaveBeenCalled();
    expect(await handlers.get('learngene:list')!({ senderFrame: null })).toMatchObject({ ok: false });
    expect(await handlers.get('learngene:list')!(page)).toEqual({ ok: true, value: [] });
  });

  it('removes every handler when disposed', () => {
    const { ipc, handlers } = fakeIpcMain();
    const { api } = fakeApi();
    const dispose = registerStudioIpc(ipc, api, host);
    dispose();
    expect(handlers.size).toBe(0);
  });
});

describe('forwardEvents', () => {
  it('sends every event to live windows on the event channel and stops when unsubscribed', () => {
    const { api, listeners } = fakeApi();
    const live = { send: vi.fn(), isDestroyed: () => false };
    const dead = { send: vi.fn(), isDestroyed: () => true };
    const stop = forwardEvents(api, () => [live, dead]);
    const event = { type: 'log', level: 'info', message: 'hi', jobId: 'j', time: 1 } as ProgressEvent;
    for (const l of listeners) l(event);
    expect(live.send).toHaveBeenCalledWith(EVENT_CHANNEL, event);
    expect(dead.send).not.toHaveBeenCalled();
    stop();
    expect(listeners.size).toBe(0);
  });
});
