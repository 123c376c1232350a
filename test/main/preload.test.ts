// Loads main/preload.cts the way Electron runs a sandboxed preload: compiled to
// CommonJS and called with (require, process, exports, module), where require knows
// only Electron's sandbox modules.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { compileFunction } from 'node:vm';
import ts from 'typescript';
import { describe, expect, it, vi } from 'vitest';
import { STUDIO_METHODS } from '../../shared/api.js';
import { EVENT_CHANNEL, HOST_METHODS } from '../../shared/host.js';

const SOURCE = path.resolve(__dirname, '../../main/preload.cts');

function loadPreload() {
  const compiled = ts.transpileModule(readFileSync(SOURCE, 'utf8'), {
    compilerOptions: { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2022 },
  }).outputText;
  const exposed: Record<string, Record<string, unknown>> = {};
  const listeners = new Map<string, ((...a: unknown[]) => void)[]>();
  const ipcRenderer = {
    invoke: vi.fn(async (channel: string, ...args: unknown[]) => ({ ok: true, value: { channel, args } })),
    on: vi.fn((channel: string, l: (...a: unknown[]) => void) => listeners.set(channel, [...(listeners.get(channel) ?? []), l])),
    removeListener: vi.fn((channel: string, l: (...a: unknown[]) => void) => listeners.set(channel, (listeners.get(channel) ?? []).filter((x) => x !== l))),
    send: vi.fn(),
    sendSync: vi.fn(),
  };
  const electron = {
    contextBridge: { exposeInMainWorld: vi.fn((key: string, value: Record<string, unknown>) => void (exposed[key] = value)) },
    ipcRenderer,
    webUtils: { getPathForFile: vi.fn(() => '/dropped/file.zip') },
  };
  const required: string[] = [];
  const sandboxRequire = (name: string) => {
    required.push(name);
    if (name === 'electron') return electron;
    throw new Error(`module not found: ${name}`);
  };
  const exports = {};
  const fn = compileFunction(compiled, ['require', 'process', 'exports', 'module'], { filename: 'preload.cjs' });
  fn(sandboxRequire, { platform: 'linux' }, exports, { exports });
  return { exposed, electron, ipcRenderer, listeners, required };
}

describe('preload', () => {
  it('runs as a sandboxed CommonJS preload needing only electron', () => {
    const { required, electron } = loadPreload();
    expect(required).toEqual(['electron']);
    expect(electron.contextBridge.exposeInMainWorld).toHaveBeenCalledTimes(1);
  });

  it('exposes exactly one function per API and host call, plus on and pathForFile', () => {
    const { exposed } = loadPreload();
    expect(Object.keys(exposed)).toEqual(['learngene']);
    const bridge = exposed.learngene!;
    const functions = Object.keys(bridge).filter((k) => typeof bridge[k] === 'function').sort();
    expect(functions).toEqual([...STUDIO_METHODS, ...HOST_METHODS, 'on', 'pathForFile'].sort());
    expect(bridge.host).toBe('electron');
    expect(Object.keys(bridge).sort()).toEqual([...functions, 'host'].sort());
  });

  it('never hands out the raw ipcRenderer', () => {
    const { exposed, ipcRenderer } = loadPreload();
    for (const value of Object.values(exposed.learngene!)) {
      expect(value).not.toBe(ipcRenderer);
      expect(value).not.toBe(ipcRenderer.invoke);
      expect(value).not.toBe(ipcRenderer.send);
    }
  });

  it('invokes learngene:<method> with the arguments given', async () => {
    const { exposed, ipcRenderer } = loadPreload();
    const bridge = exposed.learngene as Record<string, (...a: unknown[]) => Promise<unknown>>;
    const request = { kind: 'export', model: 'm', format: 'onnx', out: 'e' };
    expect(await bridge.submit!(request, { backend: 'wasm' })).toEqual({ ok: true, value: { channel: 'learngene:submit', args: [request, { backend: 'wasm' }] } });
    await bridge.getSettings!();
    expect(ipcRenderer.invoke).toHaveBeenLastCalledWith('learngene:getSettings');
    for (const method of [...STUDIO_METHODS, ...HOST_METHODS]) {
      await bridge[method]!('arg');
      expect(ipcRenderer.invoke).toHaveBeenLastCalledWith(`learngene:${method}`, 'arg');
    }
  });

  it('on(cb) delivers events without the IPC event object and unsubscribes', () => {
    const { exposed, listeners } = loadPreload();
    const received: unknown[] = [];
    const off = (exposed.learngene!.on as (cb: (e: unknown) => void) => () => void)((e) => received.push(e));
    const event = { type: 'log', message: 'hi', jobId: 'j', time: 1 };
    for (const l of listeners.get(EVENT_CHANNEL)!) l({ sender: 'ipc-event' }, event);
    expect(received).toEqual([event]);
    off();
    expect(listeners.get(EVENT_CHANNEL)).toEqual([]);
  });

  it('gives the path of a dropped file through webUtils', () => {
    const { exposed } = loadPreload();
    expect((exposed.learngene!.pathForFile as (f: unknown) => string)({})).toBe('/dropped/file.zip');
  });
});
