// A compute host as seen from Node: something that runs engine/compute/service.ts on
// its own tfjs backend (WebGPU in Chromium) and answers `call(method, args)`. Two
// transports implement it: headless Chromium through Playwright (chromium.ts) and a
// hidden Electron window (main/compute-window.ts).

import type { ComputeInfo } from '../../engine/compute/service.js';

export interface ComputeHost {
  /** The backend the page runs and its WebGPU adapter. */
  readonly info: ComputeInfo;
  /** Calls a compute-service method; typed arrays travel as binary. */
  call<T = unknown>(method: string, args: unknown): Promise<T>;
  close(): Promise<void>;
}

/** What a probe for WebGPU found, in one line for `learngene backends`. */
export interface WebGpuStatus {
  /** A real GPU adapter: `auto` may pick webgpu. */
  usable: boolean;
  detail: string;
  /**
   * Only a CPU-emulated adapter (SwiftShader): right answers, no speed. `auto` never
   * picks it; asking for `webgpu` by name still runs on it (that is how the tests run).
   */
  fallback?: boolean;
}

/** The adapter's name in words ("NVIDIA ampere …"). */
export function adapterName(info: ComputeInfo | null): string | null {
  const a = info?.adapter;
  if (!a) return null;
  return [a.vendor, a.architecture, a.description].filter(Boolean).join(' ') || 'unknown adapter';
}

/**
 * The plain-words status for an adapter (or its absence). `where` names the host
 * ("Chromium compute host", "the hidden compute window", "the studio page").
 */
export function describeAdapter(info: ComputeInfo | null, error: string | null, where = 'Chromium compute host'): WebGpuStatus {
  if (error) return { usable: false, detail: error };
  const name = adapterName(info);
  if (!name) return { usable: false, detail: 'no adapter' };
  // SwiftShader is Chromium's CPU emulation of a GPU: right answers, no speed.
  const a = info!.adapter!;
  if (a.fallback || /swiftshader/i.test(name)) {
    return { usable: false, fallback: true, detail: `no adapter (SwiftShader only: a CPU emulation in ${where}, used only when webgpu is asked for by name, as the tests do)` };
  }
  return { usable: true, detail: `${name} (WebGPU in ${where})` };
}
