// Browser mode's guard: token in the URL, own Origin, own Host. Real HTTP and a real
// ws client against a server on 127.0.0.1.
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import WebSocket from 'ws';
import { startStudioServer, type StudioServer } from '../../server/studio-server.js';
import { openSettings } from '../../node/studio/settings.js';
import { browserHost } from '../../node/studio/browser-host.js';
import { safeRelativePath } from '../../node/studio/static-files.js';
import type { StudioApi } from '../../shared/api.js';
import type { ProgressEvent } from '../../shared/events.js';
import type { RpcMessage } from '../../shared/rpc.js';

let root: string;
let server: StudioServer;
let origin: string;
const listeners = new Set<(e: ProgressEvent) => void>();
const api = {
  submit: vi.fn(async () => ({ id: 'job-1' })),
  list: vi.fn(async () => [{ id: 'job-1' }]),
  get: vi.fn(async () => null),
  cancel: vi.fn(async () => undefined),
  resume: vi.fn(async () => ({ id: 'job-1' })),
  events: vi.fn(async () => []),
  inspect: vi.fn(async (p: string) => ({ kind: 'dataset', path: p })),
  on: (l: (e: ProgressEvent) => void) => {
    listeners.add(l);
    return () => listeners.delete(l);
  },
} as unknown as StudioApi;

beforeAll(async () => {
  root = mkdtempSync(path.join(os.tmpdir(), 'lg-server-'));
  const staticDir = path.join(root, 'static');
  mkdirSync(path.join(staticDir, 'assets'), { recursive: true });
  writeFileSync(path.join(staticDir, 'index.html'), '<!doctype html><title>studio</title><script type="module" src="./assets/app.js"></script>');
  writeFileSync(path.join(staticDir, 'assets', 'app.js'), 'console.log(1)');
  const projectDir = path.join(root, 'project');
  mkdirSync(projectDir);
  writeFileSync(path.join(projectDir, 'model.onnx'), 'onnx bytes');
  writeFileSync(path.join(root, 'secret.txt'), 'outside');
  server = await startStudioServer({ api, host: browserHost(openSettings(path.join(root, 'config'))), staticDir, projectDir, port: 0 });
  origin = `http://127.0.0.1:${server.port}`;
});
afterAll(async () => {
  await server.close();
  rmSync(root, { recursive: true, force: true });
});

function connect(url: string, headers: Record<string, string> = {}): Promise<{ ws: WebSocket; messages: RpcMessage[] } | { status: number }> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { headers });
    const messages: RpcMessage[] = [];
    ws.on('message', (data) => messages.push(JSON.parse(String(data)) as RpcMessage));
    ws.on('open', () => resolve({ ws, messages }));
    ws.on('unexpected-response', (_req, res) => {
      resolve({ status: res.statusCode ?? 0 });
      ws.terminate();
    });
    ws.on('error', (error) => reject(error));
  });
}

async function until(check: () => boolean, ms = 3000) {
  const start = Date.now();
  while (!check()) {
    if (Date.now() - start > ms) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe('studio server', () => {
  it('listens on 127.0.0.1 with the token in its URL', () => {
    expect(server.url).toBe(`http://127.0.0.1:${server.port}/${server.token}/`);
    expect(server.token).toMatch(/^[0-9a-f]{64}$/);
  });

  it('refuses HTTP without the token or with a wrong one', async () => {
    expect((await fetch(`${origin}/`)).status).toBe(401);
    expect((await fetch(`${origin}/index.html`)).status).toBe(401);
    expect((await fetch(`${origin}/${'0'.repeat(64)}/`)).status).toBe(401);
    expect((await fetch(`${origin}/assets/app.js`)).status).toBe(401);
  });

  it('serves the renderer with the token, with a CSP and no referrer', async () => {
    const page = await fetch(server.url);
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('<title>studio</title>');
    expect(page.headers.get('content-security-policy')).toContain("default-src 'none'; script-src 'self'");
    expect(page.headers.get('referrer-policy')).toBe('no-referrer');
    const script = await fetch(`${server.url}assets/app.js`);
    expect(script.status).toBe(200);
    expect(script.headers.get('content-type')).toContain('text/javascript');
    expect((await fetch(`${server.url}assets/missing.js`)).status).toBe(404);
  });

  it('refuses HTTP from a foreign Origin or Host', async () => {
    expect((await fetch(server.url, { headers: { Origin: 'https://evil.example' } })).status).toBe(403);
    // fetch may not set Host; a rebinding attack's request carries the attacker's host name.
    const status = await new Promise<number>((resolve, reject) => {
      http.get({ host: '127.0.0.1', port: server.port, path: `/${server.token}/`, headers: { Host: `evil.example:${server.port}` } }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      }).on('error', reject);
    });
    expect(status).toBe(403);
  });

  it('refuses a WebSocket without the token', async () => {
    expect(await connect(`ws://127.0.0.1:${server.port}/ws`, { Origin: origin })).toEqual({ status: 401 });
    expect(await connect(`ws://127.0.0.1:${server.port}/${'f'.repeat(64)}/ws`, { Origin: origin })).toEqual({ status: 401 });
  });

  it('refuses a WebSocket with the token from a foreign or missing Origin', async () => {
    expect(await connect(`ws://127.0.0.1:${server.port}/${server.token}/ws`, { Origin: 'https://evil.example' })).toEqual({ status: 403 });
    expect(await connect(`ws://127.0.0.1:${server.port}/${server.token}/ws`, { Origin: `http://127.0.0.1:${server.port + 1}` })).toEqual({ status: 403 });
    expect(await connect(`ws://127.0.0.1:${server.port}/${server.token}/ws`)).toEqual({ status: 403 });
  });

  it('accepts a WebSocket with the token and its own Origin: calls map to the API, events are pushed', async () => {
    const connected = await connect(`ws://127.0.0.1:${server.port}/${server.token}/ws`, { Origin: origin });
    if (!('ws' in connected)) throw new Error(`refused with ${connected.status}`);
    const { ws, messages } = connected;
    await until(() => messages.some((m) => m.type === 'hello'));
    ws.send(JSON.stringify({ type: 'call', id: 1, method: 'list', args: [] }));
    const grow = { kind: 'grow', learngene: 'lg', depth: 2, out: 'd2', seed: 0 };
    ws.send(JSON.stringify({ type: 'call', id: 2, method: 'submit', args: [grow, { backend: 'wasm' }] }));
    ws.send(JSON.stringify({ type: 'call', id: 3, method: 'submit', args: [{ kind: 'grow' }] }));
    ws.send(JSON.stringify({ type: 'call', id: 4, method: 'getSettings', args: [] }));
    ws.send(JSON.stringify({ type: 'call', id: 5, method: 'constructor', args: [] }));
    await until(() => messages.filter((m) => m.type === 'result').length === 5);
    const result = (id: number) => (messages.find((m) => m.type === 'result' && m.id === id) as Extract<RpcMessage, { type: 'result' }>).result;
    expect(result(1)).toEqual({ ok: true, value: [{ id: 'job-1' }] });
    expect(api.submit).toHaveBeenCalledWith(grow, { backend: 'wasm' });
    // A malformed request never reaches the backend: one issue per missing field.
    expect(result(3)).toMatchObject({ ok: false, error: { name: 'ConfigError', issues: [{ field: 'learngene', message: 'is required' }, { field: 'depth', message: 'is required' }, { field: 'out', message: 'is required' }, { field: 'seed', message: 'is required' }] } });
    expect(api.submit).toHaveBeenCalledTimes(1);
    expect(result(4)).toMatchObject({ ok: true, value: { theme: 'system' } });
    expect(result(5)).toMatchObject({ ok: false, error: { issues: [{ field: 'method', message: 'unknown method "constructor"' }] } });
    const event = { type: 'log', level: 'info', message: 'hello', jobId: 'job-1', time: 1 } as ProgressEvent;
    for (const l of listeners) l(event);
    await until(() => messages.some((m) => m.type === 'event'));
    expect(messages.find((m) => m.type === 'event')).toEqual({ type: 'event', event });
    ws.close();
  });

  it('takes uploads into project/uploads with its own Origin only, never outside', async () => {
    const post = (query: string, body: string, headers: Record<string, string> = { Origin: origin }) =>
      fetch(`${server.url}upload?${query}`, { method: 'POST', body, headers });
    expect((await post('batch=b1&path=shirts/a.png', 'x', {})).status).toBe(403);
    expect((await post('batch=b1&path=shirts/a.png', 'x', { Origin: 'https://evil.example' })).status).toBe(403);
    expect((await post('batch=b1&path=../../escape.png', 'x')).status).toBe(400);
    expect((await post('batch=../b&path=a.png', 'x')).status).toBe(400);
    const ok = await post('batch=b1&path=' + encodeURIComponent('clothes/shirts/a.png'), 'png bytes');
    expect(ok.status).toBe(200);
    await post('batch=b1&path=' + encodeURIComponent('clothes/shoes/b.png'), 'png bytes');
    const done = await fetch(`${server.url}upload-done?batch=b1`, { method: 'POST', headers: { Origin: origin } });
    const { path: folder } = (await done.json()) as { path: string };
    expect(folder).toBe(path.join(root, 'project', 'uploads', 'b1', 'clothes'));
    expect(readFileSync(path.join(folder, 'shirts', 'a.png'), 'utf8')).toBe('png bytes');
  });

  it('downloads files inside the project only', async () => {
    const inside = await fetch(`${server.url}download?path=${encodeURIComponent(path.join(root, 'project', 'model.onnx'))}`);
    expect(inside.status).toBe(200);
    expect(await inside.text()).toBe('onnx bytes');
    expect((await fetch(`${server.url}download?path=${encodeURIComponent(path.join(root, 'secret.txt'))}`)).status).toBe(403);
    expect((await fetch(`${server.url}download?path=..%2Fsecret.txt`)).status).toBe(403);
  });

  it('splits upload paths safely', () => {
    expect(safeRelativePath('a/b.png')).toEqual(['a', 'b.png']);
    for (const bad of ['', '/abs', 'a/../b', 'a//b', 'C:/x', 'a\\b', '.']) expect(safeRelativePath(bad)).toBeNull();
  });
});
