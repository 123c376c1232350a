// Browser mode of the studio: serves the built window and, over a WebSocket, the same
// calls as Electron's IPC, on 127.0.0.1 only. A thin adapter: every call goes to the one
// dispatch (node/studio/dispatch.ts) of the studio backend, as main/ipc.ts does.
//
// Guard: every URL starts with a random token, http://127.0.0.1:<port>/<token>/ (the
// window is built with relative asset URLs, so its files and its WebSocket carry the
// token without knowing it). A request without the token gets 401; a WebSocket whose
// Origin is not this server's own, or an upload from another Origin, gets 403; a Host
// header that is not 127.0.0.1/localhost:<port> (DNS rebinding) gets 403.
//
// Staying up: no input can end the process. A URL that does not parse or a malformed
// %-encoding gets 400; every socket has an 'error' handler; a frame over the payload
// limit is closed with 1009 (a reserved opcode, invalid UTF-8: 1002, 1007); a reader
// too slow for its replies and events is dropped once its send buffer passes the cap;
// there is a cap on connections and on calls in flight per connection; echoed values
// are cut short.
//
// Wire: shared/rpc.ts. Browser → {type:'call', id, method, args}; server →
// {type:'result', id, result: RpcResult} and {type:'event', event} for every progress
// event. Uploads (drag and drop of folders, archives, IDX files): one POST per file to
// /<token>/upload?batch=B&path=relative/name, then POST /<token>/upload-done?batch=B
// answers the folder (project/uploads/B/...) to inspect and train on.

import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { createReadStream, createWriteStream, promises as fs } from 'node:fs';
import { randomBytes, timingSafeEqual } from 'node:crypto';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import type { AddressInfo, Socket } from 'node:net';
import { WebSocketServer, type WebSocket } from 'ws';
import type { StudioApi } from '../shared/api.js';
import type { RpcMessage } from '../shared/rpc.js';
import { truncate } from '../shared/schema.js';
import { UPLOADS_FOLDER } from '../node/studio/backend.js';
import { createDispatch, type HostCalls } from '../node/studio/dispatch.js';
import { isInside, realTarget } from '../node/studio/paths.js';
import { findStaticFile, safeRelativePath, studioCsp } from '../node/studio/static-files.js';

export interface ServerLimits {
  /** Largest WebSocket frame; a bigger one closes the connection with 1009. */
  maxPayloadBytes: number;
  /** Replies and events a connection may have waiting; a reader that falls further behind is dropped (one larger reply still goes to a reader that is keeping up). */
  maxBufferedBytes: number;
  /** WebSocket connections at once; more are refused with 503. */
  maxConnections: number;
  /** Calls one connection may have unanswered; more are answered with an error at once. */
  maxCallsInFlight: number;
}

export const DEFAULT_LIMITS: ServerLimits = {
  maxPayloadBytes: 1024 * 1024,
  maxBufferedBytes: 16 * 1024 * 1024,
  maxConnections: 16,
  maxCallsInFlight: 64,
};

export interface StudioServerOptions {
  /** The studio backend (node/studio/backend.ts), confined to the project in browser mode. */
  api: StudioApi;
  /** The host calls (node/studio/browser-host.ts). */
  host: HostCalls;
  /** The built renderer (index.html + assets/). */
  staticDir: string;
  projectDir: string;
  /** 0: any free port. */
  port?: number;
  /** Fixed token (tests); default 32 random bytes, hex. */
  token?: string;
  /** Largest single uploaded file, bytes. */
  maxUploadBytes?: number;
  limits?: Partial<ServerLimits>;
}

export interface StudioServer {
  /** http://127.0.0.1:<port>/<token>/ */
  url: string;
  port: number;
  token: string;
  /** Open WebSocket connections (what the caps act on). */
  connections(): number;
  close(): Promise<void>;
}

const HOST = '127.0.0.1';
const BATCH_PATTERN = /^[A-Za-z0-9_-]{1,64}$/;
const SECURITY_HEADERS = { 'X-Content-Type-Options': 'nosniff', 'Referrer-Policy': 'no-referrer', 'Cache-Control': 'no-store' };

function sameSecret(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

export async function startStudioServer(options: StudioServerOptions): Promise<StudioServer> {
  const token = options.token ?? randomBytes(32).toString('hex');
  const projectDir = path.resolve(options.projectDir);
  const uploadsDir = path.join(projectDir, UPLOADS_FOLDER);
  const staticDir = path.resolve(options.staticDir);
  const maxUpload = options.maxUploadBytes ?? 4 * 1024 ** 3;
  const limits: ServerLimits = { ...DEFAULT_LIMITS, ...options.limits };
  const dispatch = createDispatch(options.api, options.host);
  let port = 0;

  const allowedHosts = () => [`${HOST}:${port}`, `localhost:${port}`];
  const allowedOrigins = () => allowedHosts().map((h) => `http://${h}`);

  /** Checks host and token: the refusal, or the path after /<token> and the query. */
  const admit = (req: IncomingMessage): { status: number; reason: string } | { rest: string; query: URLSearchParams } => {
    if (!allowedHosts().includes(req.headers.host ?? '')) return { status: 403, reason: 'unexpected Host header' };
    let url: URL;
    try {
      url = new URL(req.url ?? '/', `http://${HOST}`);
    } catch {
      return { status: 400, reason: 'bad request URL' };
    }
    const [, first, ...rest] = url.pathname.split('/');
    if (!first || !sameSecret(first, token)) return { status: 401, reason: 'missing or wrong token' };
    return { rest: '/' + rest.join('/'), query: url.searchParams };
  };
  const originOk = (req: IncomingMessage, required: boolean) => {
    const origin = req.headers.origin;
    if (origin === undefined) return !required;
    return allowedOrigins().includes(origin);
  };

  const send = (res: ServerResponse, status: number, body: string, type = 'text/plain; charset=utf-8') => {
    res.writeHead(status, { 'Content-Type': type, ...SECURITY_HEADERS });
    res.end(body);
  };
  const json = (res: ServerResponse, status: number, value: unknown) => send(res, status, JSON.stringify(value), 'application/json; charset=utf-8');

  async function serveStatic(res: ServerResponse, rest: string): Promise<void> {
    const found = await findStaticFile(staticDir, rest);
    if ('status' in found) return send(res, found.status, found.reason);
    const csp = studioCsp([`ws://${HOST}:${port}`, `ws://localhost:${port}`]);
    res.writeHead(200, { 'Content-Type': found.type, 'Content-Length': String(found.size), ...SECURITY_HEADERS, ...(found.type.startsWith('text/html') ? { 'Content-Security-Policy': csp } : {}) });
    await pipeline(createReadStream(found.file), res);
  }

  async function upload(req: IncomingMessage, res: ServerResponse, query: URLSearchParams): Promise<void> {
    const batch = query.get('batch') ?? '';
    const parts = safeRelativePath(query.get('path') ?? '');
    if (!BATCH_PATTERN.test(batch) || !parts) return json(res, 400, { error: 'upload needs batch=[A-Za-z0-9_-]+ and a relative path without .. segments' });
    const length = Number(req.headers['content-length'] ?? NaN);
    if (Number.isFinite(length) && length > maxUpload) return json(res, 413, { error: `file larger than ${maxUpload} bytes` });
    const target = path.join(uploadsDir, batch, ...parts);
    // A link planted inside uploads/ must not carry the file elsewhere.
    if (!isInside(await realTarget(target), await realTarget(uploadsDir))) return json(res, 400, { error: 'upload path leaves the upload folder' });
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
      return json(res, 400, { error: `upload failed: ${truncate((error as Error).message, 200)}` });
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
    if (!real || !isInside(real, await fs.realpath(projectDir))) return send(res, 403, 'only files inside the project can be downloaded');
    const stat = await fs.stat(real);
    if (!stat.isFile()) return send(res, 400, 'not a file');
    res.writeHead(200, {
      'Content-Type': 'application/octet-stream',
      'Content-Length': String(stat.size),
      'Content-Disposition': `attachment; filename="${path.basename(real).replace(/[^A-Za-z0-9._-]/g, '_')}"`,
      ...SECURITY_HEADERS,
    });
    await pipeline(createReadStream(real), res);
  }

  const server = createServer((req, res) => {
    req.on('error', () => undefined);
    res.on('error', () => undefined);
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
      return serveStatic(res, rest);
    })().catch((error: unknown) => {
      if (!res.headersSent) send(res, 500, `internal error: ${truncate(error instanceof Error ? error.message : String(error), 200)}`);
      else res.destroy();
    });
  });
  server.on('clientError', (_error, socket) => {
    if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
    else socket.destroy();
  });

  const wss = new WebSocketServer({ noServer: true, maxPayload: limits.maxPayloadBytes });
  wss.on('error', () => undefined);
  server.on('upgrade', (req: IncomingMessage, socket: Socket, head: Buffer) => {
    socket.on('error', () => undefined);
    const refuse = (status: number, reason: string) => {
      if (socket.writable) socket.write(`HTTP/1.1 ${status} ${reason}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
      socket.destroy();
    };
    try {
      const admitted = admit(req);
      if ('status' in admitted) return refuse(admitted.status, { 400: 'Bad Request', 401: 'Unauthorized' }[admitted.status] ?? 'Forbidden');
      if (admitted.rest !== '/ws') return refuse(404, 'Not Found');
      if (!originOk(req, true)) return refuse(403, 'Forbidden');
      if (wss.clients.size >= limits.maxConnections) return refuse(503, 'Service Unavailable');
      wss.handleUpgrade(req, socket, head, (ws) => wss.emit('connection', ws, req));
    } catch {
      refuse(400, 'Bad Request');
    }
  });

  /**
   * Sends, or drops a reader that cannot keep up: one whose unsent data would pass the
   * cap. A reader with nothing waiting still gets a reply larger than the cap (the
   * events of a long run), so what waits is bounded by the cap plus one reply.
   */
  const post = (ws: WebSocket, message: RpcMessage | string) => {
    if (ws.readyState !== ws.OPEN) return;
    const text = typeof message === 'string' ? message : JSON.stringify(message);
    if (ws.bufferedAmount > 0 && ws.bufferedAmount + Buffer.byteLength(text) > limits.maxBufferedBytes) {
      ws.terminate();
      return;
    }
    ws.send(text, (error) => {
      if (error) ws.terminate();
    });
  };

  wss.on('connection', (ws: WebSocket) => {
    // Oversized frames (1009), reserved opcodes (1002), invalid UTF-8 (1007): ws closes
    // the connection with the right code and reports it here; the server carries on.
    ws.on('error', () => undefined);
    let inFlight = 0;
    post(ws, { type: 'hello', host: 'browser', version: 1 });
    ws.on('message', (data, isBinary) => {
      if (isBinary) return ws.close(1003, 'text frames only');
      let message: unknown;
      try {
        message = JSON.parse(String(data));
      } catch {
        return ws.close(1003, 'not JSON');
      }
      const call = message as { type?: unknown; id?: unknown; method?: unknown; args?: unknown };
      if (call?.type !== 'call' || typeof call.id !== 'number' || !Number.isSafeInteger(call.id)) return ws.close(1003, 'not a call');
      const id = call.id;
      if (inFlight >= limits.maxCallsInFlight) {
        return post(ws, { type: 'result', id, result: { ok: false, error: { name: 'Busy', message: `more than ${limits.maxCallsInFlight} calls are waiting for an answer; wait for them` } } });
      }
      inFlight += 1;
      void dispatch(call.method, call.args).then((result) => {
        inFlight -= 1;
        post(ws, { type: 'result', id, result });
      });
    });
  });

  const unsubscribe = options.api.on((event) => {
    const text = JSON.stringify({ type: 'event', event } satisfies RpcMessage);
    for (const client of wss.clients) post(client, text);
  });

  server.maxConnections = limits.maxConnections * 8;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, HOST, () => {
      server.off('error', reject);
      resolve();
    });
  });
  server.on('error', () => undefined);
  port = (server.address() as AddressInfo).port;

  return {
    url: `http://${HOST}:${port}/${token}/`,
    port,
    token,
    connections: () => wss.clients.size,
    close: async () => {
      unsubscribe();
      for (const client of wss.clients) client.terminate();
      wss.close();
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      await closed;
    },
  };
}
