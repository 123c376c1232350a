// The compute host page: starts tfjs on WebGPU (or the backend named in ?backend=) and
// serves engine/compute/service.ts to whoever drives the page:
//   - headless Chromium via Playwright (node/compute/chromium.ts): the driver calls
//     `learngeneCompute.invoke(method, message)`; tensors travel as binary blobs fetched
//     from / posted to the driver's loopback HTTP server (./__blob/…, ./__upload/…);
//   - a hidden Electron window (main/compute-window.ts): requests arrive through the
//     preload's `learngeneComputeBridge` (IPC, typed arrays structured-cloned);
//   - a dedicated Worker of the studio page in browser mode (renderer/src/lib/
//     compute-offer.ts): it opens a WebSocket to the studio server's /<token>/compute,
//     says what adapter it has, and answers calls sent as binary frames (wire.ts;
//     server/compute-pages.ts is the other end).
// No UI; the page never touches the network beyond those routes.

import '../engine/tf-env.js';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-webgpu';
import '@tensorflow/tfjs-backend-cpu';
import { ComputeService, type ComputeInfo } from '../engine/compute/service.js';
import { blobIds, decodeFrame, encodeFrame, extractBlobs, insertBlobs } from '../engine/compute/wire.js';

interface Bridge {
  onRequest(handler: (request: { id: number; method: string; args: unknown }) => void): void;
  respond(id: number, response: { result?: unknown; error?: string }): void;
}

declare global {
  // eslint-disable-next-line no-var
  var learngeneCompute: {
    ready: Promise<ComputeInfo & { error: string | null }>;
    invoke(method: string, message: unknown): Promise<unknown>;
  };
  // eslint-disable-next-line no-var
  var learngeneComputeBridge: Bridge | undefined;
}

const service = new ComputeService();

async function start(): Promise<ComputeInfo & { error: string | null }> {
  const wanted = new URLSearchParams(location.search).get('backend') ?? 'webgpu';
  try {
    if (wanted === 'webgpu') {
      const gpu = (navigator as Navigator & { gpu?: { requestAdapter(o?: object): Promise<{ info?: Record<string, unknown> } | null> } }).gpu;
      if (!gpu) throw new Error('this browser has no WebGPU (navigator.gpu is missing)');
      const adapter = await gpu.requestAdapter({ powerPreference: 'high-performance' });
      if (!adapter) throw new Error('no WebGPU adapter');
      const info = adapter.info ?? {};
      service.adapter = {
        vendor: String(info.vendor ?? ''),
        architecture: String(info.architecture ?? ''),
        description: String(info.description ?? ''),
        fallback: Boolean(info.isFallbackAdapter),
      };
    }
    if (!(await tf.setBackend(wanted))) throw new Error(`the ${wanted} backend did not initialize`);
    await tf.ready();
    return { backend: tf.getBackend(), adapter: service.adapter, error: null };
  } catch (error) {
    return { backend: tf.getBackend() ?? 'none', adapter: service.adapter, error: (error as Error).message ?? String(error) };
  }
}

const ready = start();

async function invoke(method: string, message: unknown): Promise<unknown> {
  const info = await ready;
  if (info.error) throw new Error(`compute host not ready: ${info.error}`);
  const ids = blobIds(message);
  const fetched = new Map<string, Uint8Array>();
  await Promise.all(
    ids.map(async (id) => {
      const response = await fetch(`./__blob/${id}`);
      if (!response.ok) throw new Error(`compute host: blob ${id} unavailable (${response.status})`);
      fetched.set(id, new Uint8Array(await response.arrayBuffer()));
    }),
  );
  const args = insertBlobs(message, (id) => fetched.get(id)!);
  const result = await service.call(method, args);
  const { message: out, blobs } = extractBlobs(result, 'r');
  await Promise.all(blobs.map((b) => fetch(`./__upload/${b.id}`, { method: 'POST', body: b.bytes as BufferSource })));
  return out;
}

globalThis.learngeneCompute = { ready, invoke };

const bridge = globalThis.learngeneComputeBridge;
if (bridge) {
  bridge.onRequest(({ id, method, args }) => {
    ready
      .then((info) => {
        if (info.error && method !== 'info') throw new Error(`compute host not ready: ${info.error}`);
        return method === 'ready' ? info : service.call(method, args);
      })
      .then(
        (result) => bridge.respond(id, { result }),
        (error: unknown) => bridge.respond(id, { error: (error as Error).message ?? String(error) }),
      );
  });
}

// ---------------------------------------------------------------- in a studio page's Worker

/** A dedicated Worker (not a page, not Electron's window). */
function inWorker(): boolean {
  return typeof (globalThis as { WorkerGlobalScope?: unknown }).WorkerGlobalScope !== 'undefined' && typeof (globalThis as { document?: unknown }).document === 'undefined';
}

/** Messages to the page that started this worker. */
function tellPage(message: { type: 'ready' | 'offered' | 'closed'; [key: string]: unknown }): void {
  (globalThis as unknown as { postMessage(m: unknown): void }).postMessage(message);
}

/** Calls served over the studio socket, by method (what a test reads to see the steps ran here). */
const served: Record<string, number> = {};
(globalThis as unknown as { learngeneComputeServed: typeof served }).learngeneComputeServed = served;

/** Offers this worker's adapter to the studio server and serves its calls; reconnects while it has one. */
function offer(info: ComputeInfo & { error: string | null }, attempt: number): void {
  const url = new URL('../compute', location.href);
  url.search = '';
  url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
  const ws = new WebSocket(url);
  ws.binaryType = 'arraybuffer';
  const capable = !info.error && info.adapter !== null;
  ws.onopen = () => {
    attempt = 0;
    ws.send(encodeFrame({ type: 'hello', backend: info.backend, adapter: info.adapter, error: info.error }));
  };
  ws.onmessage = (event: MessageEvent) => {
    const message = decodeFrame(new Uint8Array(event.data as ArrayBuffer)) as { type?: string; role?: string; id?: number; method?: string; args?: unknown };
    if (message.type === 'welcome') {
      // The server has taken note: the page may now ask for the backend status.
      tellPage({ type: 'offered', role: message.role ?? 'none' });
      return;
    }
    const { id, method, args } = message;
    if (typeof id !== 'number' || typeof method !== 'string') return;
    served[method] = (served[method] ?? 0) + 1;
    service.call(method, args).then(
      (result) => ws.send(encodeFrame({ id, result })),
      (error: unknown) => ws.send(encodeFrame({ id, error: (error as Error).message ?? String(error) })),
    );
  };
  ws.onclose = () => {
    tellPage({ type: 'closed' });
    if (!capable) return;
    // The studio server may be restarting: offer again, slower each time.
    setTimeout(() => offer(info, Math.min(attempt + 1, 6)), 250 * 2 ** attempt);
  };
}

if (inWorker()) {
  void ready.then((info) => {
    tellPage({ type: 'ready', ...info });
    offer(info, 0);
  });
}
