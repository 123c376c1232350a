// Issue 14's probes, replayed against the real studio server on a real studio backend
// confined to its project (browser mode). After every probe the server still answers,
// nothing outside the project was written or removed, and folders that were there are
// intact (hashed before and after).

import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync, existsSync } from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import sharp from 'sharp';
import WebSocket from 'ws';
import { startStudioServer, type StudioServer } from '../../server/studio-server.js';
import { openStudioBackend, type StudioBackend } from '../../node/studio/backend.js';
import { openSettings, type SettingsStore } from '../../node/studio/settings.js';
import { browserHost } from '../../node/studio/browser-host.js';
import type { StudioApi } from '../../shared/api.js';
import type { ProgressEvent } from '../../shared/events.js';
import type { RpcMessage, RpcResult } from '../../shared/rpc.js';
import { hashTree, requireBuild } from '../helpers/jobs.js';
import { tinyTrain as trainOn } from '../helpers/requests.js';
import { clientFrame, closeCode, rawUpgrade } from '../helpers/raw-ws.js';

requireBuild();

/** A tiny train request on the embedded sample (a dataset name, not a path outside the project). */
function tinyTrain(out: string) {
  const request = trainOn(out);
  return { ...request, data: { ...request.data, path: 'sample:fashion-mnist' } };
}

let root: string;
let project: string;
let outside: string;
let settings: SettingsStore;
let backend: StudioBackend;
let server: StudioServer;
let origin: string;
let outsideBefore: Record<string, string>;

beforeAll(async () => {
  root = mkdtempSync(path.join(os.tmpdir(), 'lg-probes-'));
  project = path.join(root, 'project');
  outside = path.join(root, 'outside');
  const staticDir = path.join(root, 'static');
  mkdirSync(path.join(staticDir, 'assets'), { recursive: true });
  writeFileSync(path.join(staticDir, 'index.html'), '<!doctype html><title>studio</title>');
  // What must survive: a folder of the user's models, a file, and a run folder of another project.
  mkdirSync(path.join(outside, 'models', 'important'), { recursive: true });
  writeFileSync(path.join(outside, 'models', 'important', 'weights.bin'), 'precious');
  writeFileSync(path.join(outside, 'keep.txt'), 'keep me');
  mkdirSync(path.join(outside, 'runs', 'evil'), { recursive: true });
  writeFileSync(path.join(outside, 'runs', 'evil', 'request.json'), JSON.stringify(trainOn(path.join(outside, 'models', 'important'))));
  for (const name of ['dark', 'light']) {
    mkdirSync(path.join(project, 'data', name), { recursive: true });
    for (let i = 0; i < 2; i++) await sharp(Buffer.alloc(64, name === 'dark' ? 10 : 240), { raw: { width: 8, height: 8, channels: 1 } }).png().toFile(path.join(project, 'data', name, `${i}.png`));
  }
  mkdirSync(path.join(project, 'notes'), { recursive: true });
  writeFileSync(path.join(project, 'notes', 'todo.txt'), 'my notes');
  symlinkSync(outside, path.join(project, 'link'));
  outsideBefore = await hashTree(outside);
  settings = openSettings(path.join(root, 'config'));
  backend = await openStudioBackend({ projectDir: project, confine: { allowedFolders: [] }, detectBackends: async () => [{ name: 'wasm', usable: true, detail: 'test' }] });
  server = await startStudioServer({ api: backend, host: browserHost(settings), staticDir, projectDir: project, port: 0 });
  origin = `http://127.0.0.1:${server.port}`;
});

afterAll(async () => {
  await server.close();
  await backend.close();
  rmSync(root, { recursive: true, force: true });
});

/** The server still serves its page and answers a call. */
async function stillUp(): Promise<void> {
  expect((await fetch(server.url)).status).toBe(200);
  const client = await connect();
  expect(await client.call('project', [])).toEqual({ ok: true, value: { dir: project, name: 'project' } });
  client.ws.close();
}

function connect(target: StudioServer = server): Promise<{ ws: WebSocket; call(method: string, args: unknown[]): Promise<RpcResult>; raw: Buffer[] }> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`ws://127.0.0.1:${target.port}/${target.token}/ws`, { headers: { Origin: `http://127.0.0.1:${target.port}` } });
    const waiting = new Map<number, (result: RpcResult) => void>();
    const raw: Buffer[] = [];
    let nextId = 1;
    ws.on('message', (data) => {
      raw.push(Buffer.from(data as Buffer));
      const message = JSON.parse(String(data)) as RpcMessage;
      if (message.type === 'result') waiting.get(message.id)?.(message.result);
    });
    ws.on('error', reject);
    ws.on('open', () =>
      resolve({
        ws,
        raw,
        call: (method, args) =>
          new Promise((done) => {
            const id = nextId++;
            waiting.set(id, done);
            ws.send(JSON.stringify({ type: 'call', id, method, args }));
          }),
      }),
    );
  });
}

function get(target: string): Promise<number> {
  return new Promise((resolve, reject) => {
    http.get({ host: '127.0.0.1', port: server.port, path: target, headers: { Host: `127.0.0.1:${server.port}` } }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    }).on('error', reject);
  });
}

function issues(result: RpcResult): { field: string; message: string }[] {
  if (result.ok) throw new Error(`expected a refusal, got ${JSON.stringify(result.value)}`);
  return result.error.issues ?? [];
}

describe('probe 1: an upgrade whose URL does not parse (no token needed)', () => {
  it('answers 400 to ws://127.0.0.1:PORT//x:99999/ and stays up', async () => {
    const answer = await rawUpgrade(server.port, '//x:99999/', { Origin: origin });
    expect(answer.status).toBe(400);
    answer.socket.destroy();
    expect(await get('//x:99999/')).toBe(400);
    await stillUp();
  });
});

describe('probe 2: bad frames on the API socket (with the token)', () => {
  it.each([
    ['a frame announcing 17 MiB (over the payload limit)', clientFrame(0x1, Buffer.alloc(0), { declaredLength: 17 * 1024 * 1024 }), 1009],
    ['a reserved opcode', clientFrame(0x3, Buffer.from('x')), 1002],
    ['invalid UTF-8 in a text frame', clientFrame(0x1, Buffer.from([0xff, 0xfe, 0xfd])), 1007],
  ])('closes the connection on %s and stays up', async (_name, frame, code) => {
    const upgraded = await rawUpgrade(server.port, `/${server.token}/ws`, { Origin: origin });
    expect(upgraded.status).toBe(101);
    const closed = closeCode(upgraded.socket, upgraded.rest);
    upgraded.socket.write(frame);
    expect(await closed).toBe(code);
    await stillUp();
  });

  it('closes a frame that is not a call with 1003, and one that is not JSON', async () => {
    for (const text of ['{"type":"call"}', 'not json']) {
      const upgraded = await rawUpgrade(server.port, `/${server.token}/ws`, { Origin: origin });
      const closed = closeCode(upgraded.socket, upgraded.rest);
      upgraded.socket.write(clientFrame(0x1, Buffer.from(text)));
      expect(await closed).toBe(1003);
    }
    await stillUp();
  });
});

describe('probe 3: nothing is written outside the project', () => {
  it('refuses outputs and inputs outside the project, through a relative path or a link', async () => {
    const client = await connect();
    const cases: [unknown, string, RegExp][] = [
      [tinyTrain('../outside/models/important'), 'out', /outside\/models\/important is outside the folders this studio may use/],
      [tinyTrain(path.join(outside, 'new-model')), 'out', /is outside/],
      [tinyTrain('link/models/important'), 'out', /is outside/],
      [{ ...tinyTrain('model'), data: { ...tinyTrain('model').data, path: '/etc' } }, 'data.path', /\/etc is outside/],
    ];
    for (const [request, field, message] of cases) {
      const found = issues(await client.call('submit', [request]));
      expect(found).toEqual([{ field, message: expect.stringMatching(message) }]);
    }
    client.ws.close();
    expect(await hashTree(outside)).toEqual(outsideBefore);
    expect(existsSync(path.join(project, 'runs'))).toBe(false);
  });

  it('never replaces a folder of the project that learngene did not write, and never forces', async () => {
    const client = await connect();
    const notes = await hashTree(path.join(project, 'notes'));
    expect(issues(await client.call('submit', [tinyTrain('notes')]))).toEqual([{ field: 'out', message: expect.stringMatching(/notes already exists and is a folder with files learngene did not write/) }]);
    expect(issues(await client.call('submit', [tinyTrain('model'), { force: true }]))).toEqual([{ field: 'force', message: expect.stringMatching(/never replaces/) }]);
    expect(await hashTree(path.join(project, 'notes'))).toEqual(notes);
    client.ws.close();
  });

  it('refuses ../ ids and outside folders for resume, get, events and cancel, and writes no status there', async () => {
    const client = await connect();
    for (const [method, id] of [['resume', '../../outside/runs/evil'], ['resume', path.join(outside, 'runs', 'evil')], ['get', '../x'], ['events', '../../outside/runs/evil'], ['cancel', '..']] as const) {
      expect(issues(await client.call(method, [id]))).toEqual([{ field: 'id', message: expect.stringMatching(/must be a run id/) }]);
    }
    client.ws.close();
    // The backend itself refuses the same, whatever adapter calls it.
    await expect(backend.get('../../outside/runs/evil')).rejects.toThrow(/id: must be a run id/);
    await expect(backend.events('../x')).rejects.toThrow(/id: must be a run id/);
    await expect(backend.resume('../../outside/runs/evil')).rejects.toThrow(/id: must be a run id/);
    expect(await hashTree(outside)).toEqual(outsideBefore);
  });

  it('inspects nothing outside the project', async () => {
    const client = await connect();
    for (const target of [outside, '../outside', 'link', '/']) {
      expect(issues(await client.call('inspect', [target]))).toEqual([{ field: 'path', message: expect.stringMatching(/is outside the folders this studio may use/) }]);
    }
    // Inside it: fine.
    expect(await client.call('inspect', ['data', { samples: false }])).toMatchObject({ ok: true, value: { kind: 'dataset', path: path.join(project, 'data') } });
    client.ws.close();
  });

  it('predicts with no model and no image outside the project, and shows no dataset image from outside', async () => {
    const client = await connect();
    const outsideMessage = expect.stringMatching(/is outside the folders this studio may use/);
    for (const model of [path.join(outside, 'models', 'important'), '../outside/models', 'link/models']) {
      expect(issues(await client.call('predict', [{ model, images: ['data/dark/0.png'] }]))).toEqual([{ field: 'model', message: outsideMessage }]);
    }
    expect(issues(await client.call('predict', [{ model: 'data', images: [path.join(outside, 'keep.txt')] }]))).toEqual([{ field: 'images', message: outsideMessage }]);
    expect(issues(await client.call('predict', [{ model: 'data', images: [{ dataset: 'link', split: 'train', index: 0 }] }]))).toEqual([{ field: 'images', message: outsideMessage }]);
    expect(issues(await client.call('datasetImages', [{ dataset: outside, split: 'train', indices: [0] }]))).toEqual([{ field: 'dataset', message: outsideMessage }]);
    // The shape is checked before anything is read.
    expect(issues(await client.call('predict', [{ model: 'data', images: [] }]))).toEqual([{ field: 'images', message: 'needs at least 1 entry' }]);
    expect(issues(await client.call('datasetImages', [{ dataset: 'data', split: 'val', indices: [-1] }]))).toEqual([
      { field: 'split', message: expect.stringMatching(/must be one of/) },
      { field: 'indices[0]', message: expect.stringMatching(/at least 0/) },
    ]);
    // Inside: the dataset's own images, labelled; an index past the end is named.
    const shown = await client.call('datasetImages', [{ dataset: 'data', split: 'train', indices: [0, 3], size: 16 }]);
    expect(shown).toMatchObject({ ok: true, value: [{ index: 0, label: 'dark' }, { index: 3, label: 'light' }] });
    expect(issues(await client.call('datasetImages', [{ dataset: 'data', split: 'train', indices: [4] }]))).toEqual([{ field: 'indices', message: expect.stringMatching(/has 4 train images; index 4 is past the end/) }]);
    client.ws.close();
    expect(await hashTree(outside)).toEqual(outsideBefore);
  });
});

describe('probe 5: settings over the socket', () => {
  it('refuses a bad window, unknown folders keys, too many recent projects and new allowed folders; the file stays as it was', async () => {
    const client = await connect();
    const before = readFileSync(settings.path, 'utf8');
    const cases: [unknown, string][] = [
      [{ window: { x: 'a', width: 800, height: 600 } }, 'settings.window.x'],
      [{ window: { width: 1e12, height: 600 } }, 'settings.window.width'],
      [{ folders: { evil: '/' } }, 'settings.folders.evil'],
      [{ recentProjects: Array.from({ length: 11 }, (_, i) => `/p${i}`) }, 'settings.recentProjects'],
      [{ allowedFolders: ['/'] }, 'settings.allowedFolders'],
      [{ theme: 'dark', extra: 1 }, 'settings.extra'],
    ];
    for (const [patch, field] of cases) {
      expect(issues(await client.call('setSettings', [patch])).map((i) => i.field)).toEqual([field]);
    }
    expect(readFileSync(settings.path, 'utf8')).toBe(before);
    client.ws.close();
  });
});

describe('probe 6: malformed requests get field errors, malformed URLs 400', () => {
  it('names the field of an unknown kind, a missing nested field, an extra field and a mistyped one', async () => {
    const client = await connect();
    const train = tinyTrain('model');
    const { augment: _augment, ...dataWithoutAugment } = train.data;
    const cases: [unknown, { field: string; message: string }][] = [
      [{ kind: 'x' }, { field: 'kind', message: expect.stringMatching(/^must be one of train, distill, .*got "x"$/) }],
      [{}, { field: 'kind', message: expect.stringMatching(/^is required/) }],
      [null, { field: 'request', message: 'must be an object, got null' }],
      [{ ...train, data: dataWithoutAugment }, { field: 'data.augment', message: 'is required' }],
      [{ ...train, bogus: true }, { field: 'bogus', message: expect.stringMatching(/is not a known field/) }],
      [{ ...train, optim: { ...train.optim, lr: 'fast' } }, { field: 'optim.lr', message: 'must be a number, got "fast"' }],
      [{ ...train, model: { depth: [1] } }, { field: 'model.depth', message: 'must be an integer, got [1]' }],
    ];
    for (const [request, issue] of cases) {
      const result = await client.call('submit', [request]);
      expect(result).toMatchObject({ ok: false, error: { name: 'ConfigError' } });
      expect(issues(result)).toEqual([issue]);
    }
    expect(issues(await client.call('submit', [train, { backend: 'quantum' }]))).toEqual([{ field: 'backend', message: expect.stringMatching(/^unknown backend "quantum"; choose one of auto, /) }]);
    expect(issues(await client.call('list', [1]))).toEqual([{ field: 'arguments', message: 'list takes no arguments, got 1' }]);
    client.ws.close();
  });

  it('answers 400 to a malformed %-encoding', async () => {
    expect((await fetch(`${server.url}%E0%A4%A`)).status).toBe(400);
    expect((await fetch(`${server.url}assets/%ZZ.js`)).status).toBe(400);
    await stillUp();
  });
});

describe('probe 4: memory stays bounded', () => {
  let small: StudioServer;
  const listeners = new Set<(e: ProgressEvent) => void>();
  const never = new Promise<never>(() => undefined);
  const api = {
    list: vi.fn(() => never),
    project: vi.fn(async () => ({ dir: '/p', name: 'p' })),
    // The events of a long run: one reply larger than the whole send-buffer cap.
    events: vi.fn(async () => Array.from({ length: 20 }, (_, i) => ({ type: 'log', level: 'info', message: 'x'.repeat(64 * 1024), jobId: 'j', time: i }))),
    on: (l: (e: ProgressEvent) => void) => {
      listeners.add(l);
      return () => listeners.delete(l);
    },
  } as unknown as StudioApi;

  beforeAll(async () => {
    small = await startStudioServer({
      api,
      host: browserHost(settings),
      staticDir: path.join(root, 'static'),
      projectDir: project,
      limits: { maxBufferedBytes: 256 * 1024, maxConnections: 3, maxCallsInFlight: 8 },
    });
  });
  afterAll(() => small.close());

  it('drops a reader that stops reading once its send buffer passes the cap', async () => {
    await vi.waitFor(() => expect(small.connections()).toBe(0));
    const slow = await connect(small);
    const fast = await connect(small);
    expect(small.connections()).toBe(2);
    // The slow client stops reading; the server keeps sending events (64 KiB each).
    (slow.ws as unknown as { _socket: { pause(): void } })._socket.pause();
    const event = { type: 'log', level: 'info', message: 'x'.repeat(64 * 1024), jobId: 'j', time: 1 } as ProgressEvent;
    for (let i = 0; i < 600 && small.connections() === 2; i++) {
      for (const l of listeners) l(event);
      await new Promise((r) => setTimeout(r, 1));
    }
    expect(small.connections()).toBe(1);
    // The reader that keeps up is still served.
    expect(await fast.call('project', [])).toEqual({ ok: true, value: { dir: '/p', name: 'p' } });
    fast.ws.close();
    slow.ws.terminate();
  });

  it('still sends a reader that keeps up one reply larger than the cap', async () => {
    const client = await connect(small);
    const result = await client.call('events', ['j']);
    expect(result.ok && (result.value as unknown[]).length).toBe(20);
    expect(client.ws.readyState).toBe(WebSocket.OPEN);
    client.ws.close();
  });

  it('cuts echoed values short', async () => {
    const client = await connect(small);
    const huge = 'k'.repeat(100_000);
    for (const [method, args] of [[huge, []], ['submit', [{ kind: huge }]], ['submit', [{ kind: 'train', [huge]: 1 }]], ['get', [huge]]] as const) {
      client.raw.length = 0;
      const result = await client.call(method, [...args]);
      expect(result.ok).toBe(false);
      expect(client.raw[0]!.length).toBeLessThan(4096);
    }
    client.ws.close();
  });

  it('caps calls in flight per connection and connections at once', async () => {
    // The connections of the tests above are gone (closing takes a round trip).
    await vi.waitFor(() => expect(small.connections()).toBe(0));
    const client = await connect(small);
    // list never answers: eight calls fill the cap, the next two are refused at once.
    for (let i = 0; i < 8; i++) void client.call('list', []);
    const refused = await Promise.all([client.call('list', []), client.call('project', [])]);
    for (const r of refused) expect(r).toMatchObject({ ok: false, error: { name: 'Busy' } });
    const others = [await connect(small), await connect(small)];
    expect(small.connections()).toBe(3);
    const fourth = await rawUpgrade(small.port, `/${small.token}/ws`, { Origin: `http://127.0.0.1:${small.port}` });
    expect(fourth.status).toBe(503);
    fourth.socket.destroy();
    for (const o of [client, ...others]) o.ws.close();
  });
});
