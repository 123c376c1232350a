// Browser mode: this page offers its GPU to the studio's jobs ("the page itself" is the
// compute host). It starts a dedicated Worker from the compute bundle the studio server
// serves under the token path (compute-host/compute.js, built from compute/page.ts —
// never imported into this bundle: the renderer loads no TensorFlow.js). The worker
// asks for a WebGPU adapter, reports it to the server over its own WebSocket
// (/<token>/compute) and then answers the server's compute calls; jobs on webgpu train
// through it. This resolves once the server has taken note of the offer, so the backend
// status asked for afterwards includes it.
import { pageBase } from './ws-client.js';

export interface ComputeOffer {
  /** The tfjs backend the worker runs ('webgpu' when it found an adapter). */
  backend: string;
  adapter: { vendor: string; architecture: string; description: string; fallback: boolean } | null;
  /** Why the page cannot compute (no WebGPU, no adapter, the bundle did not load). */
  error: string | null;
  /** 'host': jobs use this page; 'standby': another page came first; 'none': nothing offered. */
  role: 'host' | 'standby' | 'none';
}

/** The running worker (kept while it serves). */
let worker: Worker | null = null;

export function offerPageCompute(location: Location, timeoutMs = 60_000): Promise<ComputeOffer> {
  return new Promise((resolve) => {
    let ready: Omit<ComputeOffer, 'role'> | null = null;
    let settled = false;
    const finish = (offer: ComputeOffer) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      // Nothing to offer: the worker (and its copy of tfjs) can go.
      if (offer.role === 'none') {
        worker?.terminate();
        worker = null;
      }
      resolve(offer);
    };
    const failed = (error: string) => finish({ backend: ready?.backend ?? 'none', adapter: ready?.adapter ?? null, error, role: 'none' });
    const timer = setTimeout(() => failed('the compute worker did not answer in time'), timeoutMs);
    try {
      worker = new Worker(new URL('compute-host/compute.js', pageBase(location)));
    } catch (error) {
      failed(`the compute worker could not start: ${error instanceof Error ? error.message : String(error)}`);
      return;
    }
    worker.onmessage = (event: MessageEvent<{ type: string; backend?: string; adapter?: ComputeOffer['adapter']; error?: string | null; role?: ComputeOffer['role'] }>) => {
      const message = event.data;
      if (message.type === 'ready') ready = { backend: message.backend ?? 'none', adapter: message.adapter ?? null, error: message.error ?? null };
      else if (message.type === 'offered') finish({ ...(ready ?? { backend: 'none', adapter: null, error: null }), role: message.role ?? 'none' });
      else if (message.type === 'closed' && !settled) failed(ready?.error ?? 'the studio server refused the compute connection');
    };
    worker.onerror = (event: ErrorEvent) => {
      event.preventDefault();
      failed(`the compute worker failed: ${event.message || 'its script did not load'}`);
    };
  });
}
