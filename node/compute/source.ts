// Where the studio's jobs find a compute host: the desktop app's hidden compute window
// (main/compute-window.ts) or a studio page in a browser (server/compute-pages.ts). The
// job service (node/jobs/service.ts) asks the source what it has, opens the host when a
// job wants webgpu, and hands the job's worker a MessagePort served from it (relay.ts);
// the worker's `initBackend` trains through that port instead of launching Chromium.

import { MessageChannel, type MessagePort } from 'node:worker_threads';
import { describeAdapter, type ComputeHost, type WebGpuStatus } from './host.js';
import { serveComputeHost } from './relay.js';

export interface ComputeHostSource {
  /** What a probe found (cheap after the first call): `usable` lets `auto` pick webgpu. */
  status(): Promise<WebGpuStatus>;
  /** The host a job runs on, opened on first use; rejects with the reason when there is none. */
  acquire(): Promise<ComputeHost>;
}

/** A host that can tell it has gone away (a crashed window, a closed page). */
export interface ClosableHost extends ComputeHost {
  isClosed?(): boolean;
}

function firstLine(error: unknown): string {
  return ((error as Error)?.message ?? String(error)).split('\n')[0]!;
}

/** The status for a host that did not open: "no adapter" when that is why. */
export function describeOpenFailure(error: unknown): WebGpuStatus {
  const message = firstLine(error);
  return describeAdapter(null, /no WebGPU adapter/i.test(message) ? 'no adapter' : message);
}

/**
 * A host opened when first needed (the desktop app's hidden window): `status()` opens it
 * once to ask for its adapter, and closes it again when it has no real GPU (a job that
 * asks for webgpu by name reopens it); a host that went away is opened again.
 */
export class OnDemandComputeHost implements ComputeHostSource {
  private host: Promise<ClosableHost> | null = null;
  private probed: Promise<WebGpuStatus> | null = null;

  constructor(private readonly open: () => Promise<ClosableHost>, private readonly where: string) {}

  status(): Promise<WebGpuStatus> {
    if (process.env.LEARNGENE_WEBGPU === '0') return Promise.resolve({ usable: false, detail: 'off (LEARNGENE_WEBGPU=0)' });
    this.probed ??= this.acquire().then(
      async (host) => {
        const status = describeAdapter(host.info, null, this.where);
        if (!status.usable) await this.close();
        return status;
      },
      describeOpenFailure,
    );
    return this.probed;
  }

  async acquire(): Promise<ComputeHost> {
    if (this.host) {
      const current = await this.host.catch(() => null);
      if (!current || current.isClosed?.()) this.host = null;
    }
    this.host ??= this.open().catch((error: unknown) => {
      this.host = null;
      throw error;
    });
    return this.host;
  }

  async close(): Promise<void> {
    const host = this.host;
    this.host = null;
    await host?.then((h) => h.close(), () => undefined);
  }
}

/** What a job's worker gets: the status its `auto` decides on, and a port to the host when one was opened. */
export interface ComputeLink {
  status: WebGpuStatus;
  port: MessagePort | null;
  /** Stops serving (the job ended). */
  stop(): void;
}

/** Serves `host` on a fresh MessageChannel; the returned port goes to a worker (transferList). */
export function channelFor(host: ComputeHost): { port: MessagePort; stop(): void } {
  const { port1, port2 } = new MessageChannel();
  const stop = serveComputeHost(host, port1);
  return { port: port2, stop };
}

/**
 * The link for a job that runs on `backend`: null when it will not consider webgpu;
 * otherwise the source's status, and a port when the job will (or may, for `auto`) use
 * it — `auto` only for a real adapter, `webgpu` by name also for SwiftShader.
 */
export async function linkFor(source: ComputeHostSource, backend: string): Promise<ComputeLink | null> {
  if (backend !== 'auto' && backend !== 'webgpu') return null;
  const none = () => undefined;
  const status = await source.status().catch(describeOpenFailure);
  if (!(status.usable || (backend === 'webgpu' && status.fallback))) return { status, port: null, stop: none };
  try {
    const { port, stop } = channelFor(await source.acquire());
    return { status, port, stop };
  } catch (error) {
    return { status: { usable: false, detail: `the compute host did not open: ${firstLine(error)}` }, port: null, stop: none };
  }
}
