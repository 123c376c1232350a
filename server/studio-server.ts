// Browser mode of the studio: serves the built renderer and the same API as Electron's
// IPC over a WebSocket, on 127.0.0.1 only.
//
// Guard: every URL starts with a random token, http://127.0.0.1:<port>/<token>/ (the
// renderer is built with relative asset URLs, so its files and its WebSocket carry the
// token without knowing it). A request without the token gets 401; a WebSocket whose
// Origin is not this server's own, or an upload from another Origin, gets 403; a Host
// header that is not 127.0.0.1/localhost:<port> (DNS rebinding) gets 403.
//
// Wire: shared/rpc.ts. Browser → {type:'call', id, method, args}; server →
// {type:'result', id, result: RpcResult} and {type:'event', event} for every progress
// event. Uploads (drag and drop of folders, archives, IDX files): one POST per file to
// /<token>/upload?batch=B&path=relative/name, then POST /<token>/upload-done?batch=B
// answers the folder (project/uploads/B/...) to inspect and train on.
//
// GPU: /<token>/compute-host/compute.js is the compute bundle (dist/compute-host/); the
// page runs it in a dedicated Worker that connects to /<token>/compute and offers its
// WebGPU adapter (server/compute-pages.ts); jobs on webgpu then train through it.

import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { createReadStream, createWriteStream, promises as fs } from 'node:fs';
import { randomBytes, timingSafeEqual } from 'node:crypto';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import type { AddressInfo } from 'node:net';
import { WebSocketServer, type WebSocket } from 'ws';
import { STUDIO_METHODS, type StudioApi } from '../shared/api.js';
import { HOST_METHODS, type OpenDialogOptions, type SettingsPatch } from '../shared/host.js';
import { settle, type RpcCall, type RpcMessage } from '../shared/rpc.js';
import type { SettingsStore } from '../main/settings.js';
import type { PageComputeHosts } from './compute-pages.js';

export interface StudioServerOptions {
  api: StudioApi;
  settings: SettingsStore;
  /** The built renderer (index.html + assets/). */
  staticDir: string;
  projectDir: string;
  /** 0: any free port. */
  port?: number;
  /** Fixed token (tests); default 32 random bytes, hex. */
  token?: string;
  /** Largest single uploaded file, bytes. */
  maxUploadBytes?: number;
  /** Pages that offer their GPU (the job service's compute host); without it /compute is refused. */
  computePages?: PageComputeHosts;
  /** The built compute bundle (dist/compute-host/ with compute.js); without it the page computes nothing. */
  computeDir?: string | null;
}

export interface StudioServer {
  /** http://127.0.0.1:<port>/<token>/ */
  url: string;
  port: number;
  token: string;
  close(): Promise<void>;
}

const HOST = '127.0.0.1';
const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.woff2': 'font/woff2',
  '.wasm': 'application/wasm',
  '.map': 'application/json; charset=utf-8',
  '.txt': 'text/plain; charset=utf-8',
};
const BATCH_PATTERN = /^[A-Za-z0-9_-]{1,64}$/;

function sameSecret(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/** A relative upload path split into safe segments, or null. */
export function safeRelativePath(relative: string): string[] | null {
  if (typeof relative !== 'string' || relative.length === 0 || relative.length > 1024) return null;
  const parts = relative.split('/');
  for (const part of parts) {
    if (part === '' || part === '.' || part === '..' || part.includes('\\') || part.includes('\0') || /^[A-Za-z]:/.test(part)) return null;
  }
  return parts;
}

export async function startStudioServer(options: StudioServerOptions): Promise<StudioServer> {
  const token = options.token ?? randomBytes(32).toString('hex');
  const projectDir = path.resolve(options.projectDir);
  const uploadsDir = path.join(projectDir, 'uploads');
  const staticDir = path.resolve(options.staticDir);
  const maxUpload = options.maxUploadBytes ?? 4 * 1024 ** 3;
  let port = 0;

  const allowedHosts = () => [`${HOST}:${port}`, `localhost:${port}`];
  const allowedOrigins = () => allowedHosts().map((h) => `http://${h}`);

  /** Checks host and token; answers the refusal itself and returns null, or the path after /<token>. */
  const admit = (req: IncomingMessage): { status: number; reason: string } | { rest: string; query: URLSearchParams } => {
    if (!allowedHosts().includes(req.headers.host ?? '')) return { status: 403, reason: 'unexpected Host header' };
    const url = new URL(req.url ?? '/', `http://${HOST}`);
    const [, first, ...rest] = url.pathname.split('/');
    if (!first || !sameSecret(first, token)) return { status: 401, reason: 'missing or wrong token' };
    return { rest: '/' + rest.join('/'), query: url.searchParams };
  };
  const originOk = (req: IncomingMessage, required: boolean) => {
    const origin = req.headers.origin;
    if (origin === undefined) return !required;
    return allowedOrigins().includes(origin);
  };

  const send = (res: ServerResponse, status: number, body: string | Buffer, type = 'text/plain; charset=utf-8', extra: Record<string, string> = {}) => {
    res.writeHead(status, {
      'Content-Type': type,
      'X-Content-Type-Options': 'nosniff',
      // The token is in the URL: never send it to another site.
      'Referrer-Policy': 'no-referrer',
      'Cache-Control': 'no-store',
      ...extra,
    });
    res.end(body);
  };
  const json = (res: ServerResponse, status: number, value: unknown) => send(res, status, JSON.stringify(value), 'application/json; charset=utf-8');

  const csp = () =>
    [
      "default-src 'self'",
      "script-src 'self'",
      "style-src 'self' 'unsafe-inline'",
      "img-src 'self' data: blob:",
      `connect-src 'self' ws://${HOST}:${port} ws://localhost:${port}`,
      // The compute Worker (compute-host/compute.js) is a same-origin script.
      "worker-src 'self'",
      "object-src 'none'",
      "base-uri 'none'",
      "frame-ancestors 'none'",
    ].join('; ');

  /** The compute bundle, for the page's compute Worker: compute.js and nothing else. */
  async function serveCompute(res: ServerResponse, rest: string): Promise<void> {
    const dir = options.computeDir ? path.resolve(options.computeDir) : null;
    if (!dir || rest !== '/compute-host/compute.js') return send(res, 404, 'not found');
    const file = path.join(dir, 'compute.js');
    const stat = await fs.stat(file).catch(() => null);
    if (!stat) return send(res, 404, `the compute bundle is not built: ${file} is missing (run npm run build:compute)`);
    res.writeHead(200, {
      'Content-Type': 'text/javascript; charset=utf-8',
      'Content-Length': String(stat.size),
      'X-Content-Type-Options': 'nosniff',
      'Referrer-Policy': 'no-referrer',
      'Cache-Control': 'no-store',
      // The worker's own policy: it talks to this server's /compute socket and nothing else.
      'Content-Security-Policy': `default-src 'none'; connect-src ws://${HOST}:${port} ws://localhost:${port}`,
    });
    await pipeline(createReadStream(file), res);
  }

  async function serveStatic(res: ServerResponse, rest: string): Promise<void> {
    const relative = decodeURIComponent(rest).replace(/^\/+/, '') || 'index.html';
    const parts = safeRelativePath(relative);
    let file = parts ? path.join(staticDir, ...parts) : null;
    let stat = file ? await fs.stat(file).catch(() => null) : null;
    if (!file || !stat || !stat.isFile()) {
      // Unknown non-asset paths get the app (it has one page); missing assets are 404.
      if (relative.startsWith('assets/')) return send(res, 404, 'not found');
      file = path.join(staticDir, 'index.html');
      stat = await fs.stat(file).catch(() => null);
      if (!stat) return send(res, 500, `the studio is not built: ${file} is missing (run npm run build:renderer)`);
    }
    const type = CONTENT_TYPES[path.extname(file).toLowerCase()] ?? 'application/octet-stream';
    const extra: Record<string, string> = type.startsWith('text/html') ? { 'Content-Security-Policy': csp() } : {};
    res.writeHead(200, { 'Content-Type': type, 'Content-Length': String(stat.size), 'X-Content-Type-Options': 'nosniff', 'Referrer-Policy': 'no-referrer', 'Cache-Control': 'no-store', ...extra });
    await pipeline(createReadStream(file), res);
  }

  async function upload(req: IncomingMessage, res: ServerResponse, query: URLSearchParams): Promise<void> {
    const batch = query.get('batch') ?? '';
    const parts = safeRelativePath(query.get('path') ?? '');
    if (!BATCH_PATTERN.test(batch) || !parts) return json(res, 400, { error: 'upload needs batch=[A-Za-z0-9_-]+ and a relative path without .. segments' });
    const length = Number(req.headers['content-length'] ?? NaN);
    if (Number.isFinite(length) && length > maxUpload) return json(res, 413, { error: `file larger than ${maxUpload} bytes` });
    const target = path.join(uploadsDir, batch, ...parts);
    await fs.mkdir(path.dirname(target), { recursive: true });
    const temp = `${target}.part-${randomBytes(4).toString('hex')}`;
    let received = 0;
    req.on('data', (chunk: Buffer) => {
      received += chunk.length;
      if (received > maxUpload) req.destroy(new Error('upload too large'));
    });
    try {
      await pipeline(req, createWriteStream(temp));
      await fs.rename(temp, target);
    } catch (error) {
      await fs.rm(temp, { force: true });
      return json(res, 400, { error: `upload failed: ${(error as Error).message}` });
    }
    json(res, 200, { path: target, bytes: received });
  }

  async function uploadDone(res: ServerResponse, query: URLSearchParams): Promise<void> {
    const batch = query.get('batch') ?? '';
    if (!BATCH_PATTERN.test(batch)) return json(res, 400, { error: 'bad batch' });
    const dir = path.join(uploadsDir, batch);
    const entries = (await fs.readdir(dir).catch(() => [] as string[])).filter((n) => !n.includes('.part-'));
    if (entries.length === 0) return json(res, 404, { error: `nothing was uploaded in batch ${batch}` });
    // One dropped folder or archive: that item; several files (e.g. IDX files): their folder.
    json(res, 200, { path: entries.length === 1 ? path.join(dir, entries[0]!) : dir });
  }

  async function download(res: ServerResponse, query: URLSearchParams): Promise<void> {
    const wanted = path.resolve(projectDir, query.get('path') ?? '');
    const real = await fs.realpath(wanted).catch(() => null);
    const root = await fs.realpath(projectDir);
    if (!real || !(real === root || real.startsWith(root + path.sep))) return send(res, 403, 'only files inside the project can be downloaded');
    const stat = await fs.stat(real);
    if (!stat.isFile()) return send(res, 400, 'not a file');
    res.writeHead(200, {
      'Content-Type': 'application/octet-stream',
      'Content-Length': String(stat.size),
      'Content-Disposition': `attachment; filename="${path.basename(real).replace(/[^A-Za-z0-9._-]/g, '_')}"`,
      'X-Content-Type-Options': 'nosniff',
      'Referrer-Policy': 'no-referrer',
    });
    await pipeline(createReadStream(real), res);
  }

  const server = createServer((req, res) => {
    void (async () => {
      const admitted = admit(req);
      if ('status' in admitted) return send(res, admitted.status, admitted.reason);
      const { rest, query } = admitted;
      if (req.method === 'POST') {
        // Uploads change the project: a page of another site must not be able to post here.
        if (!originOk(req, true)) return send(res, 403, 'foreign or missing Origin');
        if (rest === '/upload') return upload(req, res, query);
        if (rest === '/upload-done') return uploadDone(res, query);
        return send(res, 404, 'not found');
      }
      if (!originOk(req, false)) return send(res, 403, 'foreign Origin');
      if (req.method !== 'GET' && req.method !== 'HEAD') return send(res, 405, 'method not allowed');
      if (rest === '/download') return download(res, query);
      if (rest.startsWith('/compute-host/')) return serveCompute(res, rest);
      return serveStatic(res, rest);
    })().catch((error: unknown) => {
      if (!res.headersSent) send(res, 500, `internal error: ${(error as Error).message}`);
      else res.destroy();
    });
  });

  const wss = new WebSocketServer({ noServer: true, maxPayload: 16 * 1024 * 1024 });
  // Gradients of a large model come back in one frame.
  const computeWss = new WebSocketServer({ noServer: true, maxPayload: 1024 * 1024 * 1024 });
  server.on('upgrade', (req, socket, head) => {
    const refuse = (status: number, reason: string) => {
      socket.write(`HTTP/1.1 ${status} ${reason}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
      socket.destroy();
    };
    const admitted = admit(req);
    if ('status' in admitted) return refuse(admitted.status, admitted.status === 401 ? 'Unauthorized' : 'Forbidden');
    const pages = options.computePages;
    if (admitted.rest !== '/ws' && !(admitted.rest === '/compute' && pages)) return refuse(404, 'Not Found');
    if (!originOk(req, true)) return refuse(403, 'Forbidden');
    if (admitted.rest === '/compute') return computeWss.handleUpgrade(req, socket, head, (ws) => pages!.attach(ws));
    wss.handleUpgrade(req, socket, head, (ws) => wss.emit('connection', ws, req));
  });

  const post = (ws: WebSocket, message: RpcMessage) => {
    if (ws.readyState === ws.OPEN) ws.send(JSON.stringify(message));
  };

  const browserHost = {
    openDialog: async (_options: OpenDialogOptions) => null,
    reveal: async (_path: string) => false,
    getSettings: async () => options.settings.get(),
    setSettings: async (patch: SettingsPatch) => options.settings.set(patch),
  };

  const call = async (method: string, args: unknown[]): Promise<unknown> => {
    if ((STUDIO_METHODS as readonly string[]).includes(method)) {
      const fn = (options.api as unknown as Record<string, unknown>)[method];
      if (typeof fn !== 'function') throw new Error(`the job service does not offer "${method}"`);
      return (fn as (...a: unknown[]) => Promise<unknown>).apply(options.api, args);
    }
    if ((HOST_METHODS as readonly string[]).includes(method)) {
      return (browserHost[method as keyof typeof browserHost] as (...a: unknown[]) => Promise<unknown>)(...args);
    }
    throw new Error(`unknown method "${method}"`);
  };

  wss.on('connection', (ws) => {
    post(ws, { type: 'hello', host: 'browser', version: 1 });
    ws.on('message', (data) => {
      let message: RpcCall;
      try {
        message = JSON.parse(String(data)) as RpcCall;
      } catch {
        return ws.close(1003, 'not JSON');
      }
      if (message?.type !== 'call' || typeof message.id !== 'number' || typeof message.method !== 'string' || !Array.isArray(message.args)) {
        return ws.close(1003, 'not a call');
      }
      void settle(() => call(message.method, message.args)).then((result) => post(ws, { type: 'result', id: message.id, result }));
    });
  });

  const unsubscribe = options.api.on((event) => {
    const text = JSON.stringify({ type: 'event', event } satisfies RpcMessage);
    for (const client of wss.clients) if (client.readyState === client.OPEN) client.send(text);
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, HOST, () => {
      server.off('error', reject);
      resolve();
    });
  });
  port = (server.address() as AddressInfo).port;

  return {
    url: `http://${HOST}:${port}/${token}/`,
    port,
    token,
    close: async () => {
      unsubscribe();
      for (const client of wss.clients) client.terminate();
      wss.close();
      options.computePages?.close();
      for (const client of computeWss.clients) client.terminate();
      computeWss.close();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections?.();
    },
  };
}
