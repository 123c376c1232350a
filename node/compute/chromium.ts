// The compute host in headless Chromium, driven by playwright-core: for tests, the
// benchmark and the CLI where Chromium is installed. The page (dist/compute-host/, built
// by `npm run build:compute`) and the binary blobs tensors travel in are served by a
// loopback HTTP server on 127.0.0.1 (a secure context, so WebGPU is exposed) under a
// random path token; Chromium's DevTools channel only carries small JSON messages.
//
// SwiftShader (`swiftshader: true`) gives a CPU-emulated WebGPU adapter for correctness
// tests; real adapters need Chromium's GPU process (no --disable-gpu).

import { randomBytes } from 'node:crypto';
import { existsSync, promises as fs } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Browser, Page } from 'playwright-core';
import type { ComputeInfo } from '../../engine/compute/service.js';
import { extractBlobs, insertBlobs } from '../../engine/compute/wire.js';
import { type ComputeHost, describeAdapter, type WebGpuStatus } from './host.js';

export const DEFAULT_CHROMIUM = '/usr/bin/chromium';

const BASE_FLAGS = ['--headless', '--no-sandbox', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];
const WEBGPU_FLAGS = ['--enable-unsafe-webgpu', '--enable-features=Vulkan'];
const SWIFTSHADER_FLAGS = ['--disable-gpu', '--use-webgpu-adapter=swiftshader'];

export interface ChromiumHostOptions {
  /** Chromium binary (default LEARNGENE_CHROMIUM or /usr/bin/chromium). */
  executablePath?: string;
  /** tfjs backend in the page: 'webgpu' (default) or 'cpu'. */
  backend?: 'webgpu' | 'cpu';
  /** Use SwiftShader's CPU WebGPU adapter (tests; correctness, not speed). */
  swiftshader?: boolean;
  /** The built page folder (default dist/compute-host beside this build). */
  pageDir?: string;
}

export function chromiumPath(options: ChromiumHostOptions = {}): string {
  return options.executablePath ?? process.env.LEARNGENE_CHROMIUM ?? DEFAULT_CHROMIUM;
}

export function defaultPageDir(): string {
  // dist/node/compute/chromium.js → dist/compute-host; from sources (vitest) → <repo>/dist/compute-host
  const here = path.dirname(fileURLToPath(import.meta.url));
  return import.meta.url.endsWith('.ts') ? path.resolve(here, '../../dist/compute-host') : path.resolve(here, '../../compute-host');
}

/** What compute/page.ts puts on the page's globalThis. */
interface PageGlobals {
  learngeneCompute: { ready: Promise<ComputeInfo & { error: string | null }>; invoke(method: string, message: unknown): Promise<unknown> };
}

const CONTENT_TYPES: Record<string, string> = { '.html': 'text/html', '.js': 'text/javascript' };

class ChromiumComputeHost implements ComputeHost {
  readonly outgoing = new Map<string, Uint8Array>();
  readonly incoming = new Map<string, Buffer>();
  page: Page | null = null;
  info: ComputeInfo = { backend: 'none', adapter: null };

  constructor(private readonly browser: Browser, private readonly server: http.Server) {}

  async call<T>(method: string, args: unknown): Promise<T> {
    const { message, blobs } = extractBlobs(args, 'q');
    for (const b of blobs) this.outgoing.set(b.id, b.bytes);
    try {
      const result = await this.page!.evaluate(([m, msg]) => (globalThis as unknown as PageGlobals).learngeneCompute.invoke(m as string, msg), [method, message] as const);
      return insertBlobs(result, (id) => {
        const bytes = this.incoming.get(id);
        this.incoming.delete(id);
        if (!bytes) throw new Error(`compute host: result blob ${id} never arrived`);
        return new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
      }) as T;
    } finally {
      for (const b of blobs) this.outgoing.delete(b.id);
    }
  }

  async close(): Promise<void> {
    await this.browser.close().catch(() => undefined);
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

/** The loopback server: the page's files and the blob endpoints, under /<token>/. */
function serve(pageDir: string, token: string, host: () => ChromiumComputeHost | null): http.Server {
  return http.createServer((request, response) => {
    const url = new URL(request.url ?? '/', 'http://127.0.0.1');
    const prefix = `/${token}/`;
    if (!url.pathname.startsWith(prefix)) {
      response.writeHead(404).end();
      return;
    }
    const rest = url.pathname.slice(prefix.length);
    const h = host();
    const blob = /^__blob\/([\w-]+)$/.exec(rest);
    const upload = /^__upload\/([\w-]+)$/.exec(rest);
    if (blob && h && request.method === 'GET') {
      const bytes = h.outgoing.get(blob[1]!);
      if (!bytes) {
        response.writeHead(404).end();
        return;
      }
      h.outgoing.delete(blob[1]!);
      response.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': bytes.byteLength });
      response.end(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
      return;
    }
    if (upload && h && request.method === 'POST') {
      const chunks: Buffer[] = [];
      request.on('data', (c: Buffer) => chunks.push(c));
      request.on('end', () => {
        h.incoming.set(upload[1]!, Buffer.concat(chunks));
        response.writeHead(204).end();
      });
      return;
    }
    const file = path.join(pageDir, path.normalize(rest || 'index.html'));
    if (!file.startsWith(pageDir + path.sep) || request.method !== 'GET') {
      response.writeHead(403).end();
      return;
    }
    fs.readFile(file).then(
      (body) => response.writeHead(200, { 'content-type': CONTENT_TYPES[path.extname(file)] ?? 'application/octet-stream' }).end(body),
      () => response.writeHead(404).end(),
    );
  });
}

/** Starts headless Chromium with the compute page; rejects when the page's backend does not start. */
export async function launchChromiumHost(options: ChromiumHostOptions = {}): Promise<ComputeHost> {
  const executablePath = chromiumPath(options);
  if (!existsSync(executablePath)) throw new Error(`Chromium not found at ${executablePath} (set LEARNGENE_CHROMIUM)`);
  const pageDir = path.resolve(options.pageDir ?? defaultPageDir());
  if (!existsSync(path.join(pageDir, 'compute.js'))) throw new Error(`the compute page is not built (${pageDir}/compute.js missing: npm run build:compute)`);
  const token = randomBytes(16).toString('hex');
  let host: ChromiumComputeHost | null = null;
  const server = serve(pageDir, token, () => host);
  await new Promise<void>((resolve, reject) => server.once('error', reject).listen(0, '127.0.0.1', () => resolve()));
  const { port } = server.address() as AddressInfo;
  const { chromium } = await import('playwright-core');
  const args = [...BASE_FLAGS, ...WEBGPU_FLAGS, ...(options.swiftshader ? SWIFTSHADER_FLAGS : [])];
  let browser: Browser;
  try {
    browser = await chromium.launch({ executablePath, args });
  } catch (error) {
    server.close();
    throw error;
  }
  host = new ChromiumComputeHost(browser, server);
  try {
    const page = await browser.newPage();
    host.page = page;
    await page.goto(`http://127.0.0.1:${port}/${token}/index.html?backend=${options.backend ?? 'webgpu'}`);
    const ready = await page.evaluate(() => (globalThis as unknown as PageGlobals).learngeneCompute.ready);
    if (ready.error) throw new Error(ready.error);
    host.info = { backend: ready.backend, adapter: ready.adapter };
    return host;
  } catch (error) {
    await host.close();
    throw error;
  }
}

/**
 * Whether WebGPU on a real adapter is available through Chromium here. SwiftShader's CPU
 * adapter does not count ("webgpu: no adapter (SwiftShader only …)").
 */
export async function probeWebGpu(options: ChromiumHostOptions = {}): Promise<WebGpuStatus> {
  const executablePath = chromiumPath(options);
  if (!existsSync(executablePath)) return { usable: false, detail: `no Chromium to host it (${executablePath} not found; set LEARNGENE_CHROMIUM)` };
  let host: ComputeHost | null = null;
  try {
    host = await launchChromiumHost({ ...options, swiftshader: false });
    return describeAdapter(host.info, null);
  } catch (error) {
    const message = (error as Error).message;
    return describeAdapter(null, /no WebGPU adapter/i.test(message) ? 'no adapter' : message.split('\n')[0]!);
  } finally {
    await host?.close();
  }
}
