// The compute host page: starts tfjs on WebGPU (or the backend named in ?backend=) and
// serves engine/compute/service.ts to whoever drives the page:
//   - headless Chromium via Playwright (node/compute/chromium.ts): the driver calls
//     `learngeneCompute.invoke(method, message)`; tensors travel as binary blobs fetched
//     from / posted to the driver's loopback HTTP server (./__blob/…, ./__upload/…);
//   - a hidden Electron window (main/compute-window.ts): requests arrive through the
//     preload's `learngeneComputeBridge` (IPC, typed arrays structured-cloned).
// No UI; the page never touches the network beyond those routes.

import '../engine/tf-env.js';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-webgpu';
import '@tensorflow/tfjs-backend-cpu';
import { ComputeService, type ComputeInfo } from '../engine/compute/service.js';
import { blobIds, extractBlobs, insertBlobs } from '../engine/compute/wire.js';

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
