// The window's two transports, in Node: the Electron one over a fake preload bridge, the
// browser one against the real studio server (ws stands in for the browser's WebSocket,
// and fetch gets the Origin header a browser would send).
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import WS from 'ws';
import { electronTransport, type Bridge } from '../../renderer/src/lib/electron.js';
import { wsTransport } from '../../renderer/src/lib/ws-client.js';
import { startStudioServer, type StudioServer } from '../../server/studio-server.js';
import { openSettings } from '../../node/studio/settings.js';
import { browserHost } from '../../node/studio/browser-host.js';
import { tinyTrain } from '../helpers/requests.js';
import { ConfigError } from '../../shared/config.js';
import { RemoteError } from '../../shared/rpc.js';
import type { StudioApi } from '../../shared/api.js';
import type { ProgressEvent } from '../../shared/events.js';

describe('electron transport', () => {
  it('unwraps envelopes, keeps field issues, and gives dropped items their own paths', async () => {
    const bridge = {
      host: 'electron',
      list: vi.fn(async () => ({ ok: true, value: [{ id: 'a' }] })),
      submit: vi.fn(async () => ({ ok: false, error: { name: 'ConfigError', message: 'stages: bad', issues: [{ field: 'stages', message: 'bad' }] } })),
      getSettings: vi.fn(async () => ({ ok: true, value: { theme: 'dark' } })),
      on: vi.fn(() => () => undefined),
      pathForFile: (file: File) => `/data/${file.name}`,
    } as unknown as Bridge;
    const { api, host } = electronTransport(bridge);
    expect(await api.list()).toEqual([{ id: 'a' }]);
    const error = await api.submit({} as never).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RemoteError);
    expect((error as RemoteError).issues).toEqual([{ field: 'stages', message: 'bad' }]);
    expect(await host.getSettings()).toEqual({ theme: 'dark' });
    const files = [new File(['x'], 'train-images-idx3-ubyte.gz'), new File(['y'], 'train-labels-idx1-ubyte.gz')];
    expect(await host.receiveFiles({ top: files, files: async () => [] })).toBe('/data');
    expect(host.downloadUrl('/p/x.onnx')).toBeNull();
  });
});

describe('browser transport against the studio server', () => {
  let root: string;
  let server: StudioServer;
  const listeners = new Set<(e: ProgressEvent) => void>();
  const realFetch = globalThis.fetch;
  const api = {
    submit: vi.fn(async () => {
      throw new ConfigError([{ field: 'optim.lr', message: 'must be greater than 0' }]);
    }),
    list: vi.fn(async () => [{ id: 'run-1' }]),
    get: vi.fn(async () => null),
    cancel: vi.fn(async () => undefined),
    resume: vi.fn(async () => ({ id: 'run-1' })),
    events: vi.fn(async () => []),
    on: (l: (e: ProgressEvent) => void) => {
      listeners.add(l);
      return () => listeners.delete(l);
    },
  } as unknown as StudioApi;

  beforeAll(async () => {
    root = mkdtempSync(path.join(os.tmpdir(), 'lg-transport-'));
    mkdirSync(path.join(root, 'static'));
    writeFileSync(path.join(root, 'static', 'index.html'), '<!doctype html>');
    server = await startStudioServer({ api, host: browserHost(openSettings(path.join(root, 'config'))), staticDir: path.join(root, 'static'), projectDir: path.join(root, 'project') });
    const origin = `http://127.0.0.1:${server.port}`;
    (globalThis as Record<string, unknown>).WebSocket = class extends WS {
      constructor(url: string | URL) {
        super(url, { origin });
      }
    };
    globalThis.fetch = ((input: RequestInfo | URL, init: RequestInit = {}) => realFetch(input, { ...init, headers: { ...(init.headers as Record<string, string>), Origin: origin } })) as typeof fetch;
  });
  afterAll(async () => {
    globalThis.fetch = realFetch;
    delete (globalThis as Record<string, unknown>).WebSocket;
    await server.close();
    rmSync(root, { recursive: true, force: true });
  });

  it('calls, errors with issues, events and uploads go through the token URL', async () => {
    const url = new URL(server.url);
    const t = wsTransport({ origin: url.origin, pathname: url.pathname } as Location);
    expect(await t.api.list()).toEqual([{ id: 'run-1' }]);
    // The backend's own refusal crosses with its issues …
    const error = (await t.api.submit(tinyTrain('m')).catch((e: unknown) => e)) as RemoteError;
    expect(error.name).toBe('ConfigError');
    expect(error.issues).toEqual([{ field: 'optim.lr', message: 'must be greater than 0' }]);
    // … and so does the server's, for a request that never reaches the backend.
    const shape = (await t.api.submit({} as never).catch((e: unknown) => e)) as RemoteError;
    expect(shape.issues).toEqual([{ field: 'kind', message: expect.stringMatching(/^is required/) }]);
    expect(api.submit).toHaveBeenCalledTimes(1);
    expect((await t.host.getSettings()).theme).toBe('system');
    expect(await t.host.openDialog({ pick: 'folder' })).toBeNull();

    const received: ProgressEvent[] = [];
    t.api.on((e) => received.push(e));
    const event = { type: 'log', level: 'info', message: 'hi', jobId: 'run-1', time: 1 } as ProgressEvent;
    for (const l of listeners) l(event);
    await vi.waitFor(() => expect(received).toEqual([event]));

    const progress: number[] = [];
    const folder = await t.host.receiveFiles(
      { top: [], files: async () => [{ file: new File(['a'], 'a.png'), relativePath: 'shapes/circle/a.png' }, { file: new File(['b'], 'b.png'), relativePath: 'shapes/cross/b.png' }] },
      (done) => progress.push(done),
    );
    expect(folder).toMatch(new RegExp(`${path.join(root, 'project', 'uploads').replace(/[/\\]/g, '.')}.[^/]+.shapes$`));
    expect(readFileSync(path.join(folder, 'cross', 'b.png'), 'utf8')).toBe('b');
    expect(progress.at(-1)).toBe(2);
    expect(t.host.downloadUrl('/p/x.onnx')).toBe(`${server.url}download?path=%2Fp%2Fx.onnx`);
  });
});
