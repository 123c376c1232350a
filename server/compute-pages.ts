// Browser mode's GPU: the studio page offers itself as a compute host. The renderer
// starts a dedicated Worker from the compute bundle this server serves under the token
// path (compute-host/compute.js, built from compute/page.ts); the worker runs
// engine/compute/service.ts on tfjs WebGPU and opens its own WebSocket to
// /<token>/compute. Its first frame says what it has ({backend, adapter, error}); the
// first page with an adapter becomes the compute host (later ones wait their turn) and
// ComputeHost calls are relayed to it as binary frames (engine/compute/wire.ts). Jobs
// reach it as in the desktop app: a MessagePort into the job's worker
// (node/compute/source.ts, node/jobs/service.ts).
//
// A page that goes away (closed, reloaded, offline) fails the calls waiting on it and
// every later one with a ComputeHostLost error: the job fails, saying so, and can be
// resumed (on wasm, or on webgpu once a page offers a GPU again).

import type { WebSocket } from 'ws';
import type { ComputeInfo } from '../engine/compute/service.js';
import { decodeFrame, encodeFrame } from '../engine/compute/wire.js';
import { describeAdapter, type WebGpuStatus } from '../node/compute/host.js';
import { describeOpenFailure, type ClosableHost, type ComputeHostSource } from '../node/compute/source.js';

const WHERE = 'the studio page';

export class ComputeHostLost extends Error {
  override name = 'ComputeHostLost';
}

/** What the page's worker sends first. */
interface Hello {
  type: 'hello';
  backend: string;
  adapter: ComputeInfo['adapter'];
  error: string | null;
}

type Answer = { id: number; result?: unknown; error?: string };

class PageHost implements ClosableHost {
  readonly pending = new Map<number, { resolve(v: unknown): void; reject(e: Error): void }>();
  private nextId = 1;
  lost: string | null = null;

  constructor(readonly ws: WebSocket, readonly info: ComputeInfo) {}

  call<T>(method: string, args: unknown): Promise<T> {
    if (this.lost) return Promise.reject(new ComputeHostLost(this.lost));
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
      this.ws.send(encodeFrame({ id, method, args }), { binary: true }, (error) => {
        if (!error) return;
        this.pending.delete(id);
        reject(new ComputeHostLost(`could not reach the studio page hosting WebGPU: ${error.message}`));
      });
    });
  }

  answer(message: Answer): void {
    const waiting = this.pending.get(message.id);
    if (!waiting) return;
    this.pending.delete(message.id);
    if (message.error !== undefined) waiting.reject(new Error(`studio page: ${message.error}`));
    else waiting.resolve(message.result);
  }

  fail(reason: string): void {
    this.lost ??= reason;
    for (const p of this.pending.values()) p.reject(new ComputeHostLost(this.lost));
    this.pending.clear();
  }

  isClosed(): boolean {
    return this.lost !== null;
  }

  /** Jobs never close a page: it stays the studio's host until it goes away. */
  async close(): Promise<void> {}
}

/** The browser pages that offered to compute, as the job service's ComputeHostSource. */
export class PageComputeHosts implements ComputeHostSource {
  /** Pages with an adapter, in the order they offered; the first is the host. */
  private readonly pages: PageHost[] = [];
  /** What the last page said when none has an adapter now. */
  private report: WebGpuStatus | null = null;

  /** A /<token>/compute WebSocket (already admitted by the studio server). */
  attach(ws: WebSocket): void {
    let page: PageHost | null = null;
    // Sent once the offer is recorded: the page asks for the backend status after it.
    const welcome = (role: 'host' | 'standby' | 'none') => ws.send(encodeFrame({ type: 'welcome', role }), { binary: true });
    ws.on('message', (data, isBinary) => {
      if (!isBinary) return ws.close(1003, 'binary frames only');
      let message: unknown;
      try {
        const buffer = Array.isArray(data) ? Buffer.concat(data) : Buffer.isBuffer(data) ? data : Buffer.from(data as ArrayBuffer);
        message = decodeFrame(new Uint8Array(buffer.buffer, buffer.byteOffset, buffer.byteLength));
      } catch {
        return ws.close(1003, 'not a compute frame');
      }
      if (page) return page.answer(message as Answer);
      const hello = message as Hello;
      if (hello?.type !== 'hello') return ws.close(1003, 'hello first');
      const info: ComputeInfo = { backend: String(hello.backend), adapter: hello.adapter ?? null };
      if (hello.error || !info.adapter) {
        // Nothing to compute on: say why in the backend status, keep no connection.
        this.report = this.pages.length ? this.report : describeOpenFailure(hello.error ?? 'no adapter');
        welcome('none');
        return ws.close(1000, 'no adapter');
      }
      page = new PageHost(ws, info);
      this.pages.push(page);
      welcome(this.pages.length === 1 ? 'host' : 'standby');
    });
    ws.on('close', () => {
      if (!page) return;
      page.fail('the studio page that was computing on its GPU (WebGPU) went away: it was closed, reloaded or lost its connection. Resume the run to continue, on wasm if no other page offers a GPU');
      const i = this.pages.indexOf(page);
      if (i >= 0) this.pages.splice(i, 1);
      if (this.pages.length === 0) this.report = { usable: false, detail: 'no adapter (the studio page that offered one has closed)' };
    });
    ws.on('error', () => undefined);
  }

  /** The host's status: the first capable page's adapter, else what the last page said. */
  async status(): Promise<WebGpuStatus> {
    if (process.env.LEARNGENE_WEBGPU === '0') return { usable: false, detail: 'off (LEARNGENE_WEBGPU=0)' };
    const host = this.pages[0];
    if (host) return describeAdapter(host.info, null, WHERE);
    return this.report ?? { usable: false, detail: 'no adapter (no studio page has offered its GPU yet)' };
  }

  async acquire(): Promise<ClosableHost> {
    const host = this.pages[0];
    if (!host) throw new Error('no studio page with a WebGPU adapter is open');
    return host;
  }

  /** Pages connected with an adapter (tests, status). */
  get count(): number {
    return this.pages.length;
  }

  close(): void {
    for (const page of this.pages.splice(0)) {
      page.fail('the studio server stopped');
      page.ws.terminate();
    }
  }
}
