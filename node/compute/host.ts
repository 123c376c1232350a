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
  usable: boolean;
  detail: string;
}

/** The plain-words status for an adapter (or its absence). */
export function describeAdapter(info: ComputeInfo | null, error: string | null): WebGpuStatus {
  if (error) return { usable: false, detail: error };
  const a = info?.adapter;
  if (!a) return { usable: false, detail: 'no adapter' };
  const name = [a.vendor, a.architecture, a.description].filter(Boolean).join(' ') || 'unknown adapter';
  // SwiftShader is Chromium's CPU emulation of a GPU: right answers, no speed.
  if (a.fallback || /swiftshader/i.test(name)) return { usable: false, detail: 'no adapter (SwiftShader only in tests)' };
  return { usable: true, detail: `WebGPU on ${name} (Chromium compute host)` };
}
