// Which TensorFlow.js backends load and work on this machine, fastest first.
// tfjs-node-gpu and tfjs-node are optional dependencies: absent or broken, they are
// reported with the reason and skipped; wasm and cpu always ship.

import '../engine/tf-env.js';
import * as tf from '@tensorflow/tfjs-core';
import { createRequire } from 'node:module';

export type BackendName = 'tensorflow-gpu' | 'tensorflow' | 'wasm' | 'cpu';

export interface BackendStatus {
  name: BackendName;
  usable: boolean;
  /** One line: what it is when usable ("wasm · SIMD · 1 thread"), why not otherwise. */
  detail: string;
}

/** Fastest first: the default is the first usable one. */
export const BACKEND_PREFERENCE: BackendName[] = ['tensorflow-gpu', 'tensorflow', 'wasm', 'cpu'];

const require = createRequire(import.meta.url);

function isInstalled(pkg: string): boolean {
  try {
    require.resolve(`${pkg}/package.json`);
    return true;
  } catch {
    return false;
  }
}

function explainNativeFailure(pkg: string, error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  if (/libcud|cudnn|libcublas|libcufft|libcurand|libcusolver|libcusparse/i.test(message)) {
    return `${pkg} is installed but the CUDA 11.2 / cuDNN 8.1 libraries were not found (${firstLine(message)})`;
  }
  if (/tfjs_binding|napi-v\d|libtensorflow/i.test(message)) {
    return `${pkg} is installed but its native libtensorflow binding is missing (its install step could not download it: ${firstLine(message)})`;
  }
  return `${pkg} failed to load: ${firstLine(message)}`;
}

function firstLine(text: string): string {
  const line = text.split('\n')[0] ?? text;
  return line.length > 160 ? line.slice(0, 157) + '...' : line;
}

/** Runs a tiny matmul on the active backend and checks the answer. */
async function smokeTest(): Promise<void> {
  const result = tf.tidy(() => tf.matMul(tf.tensor2d([1, 2, 3, 4], [2, 2]), tf.tensor2d([5, 6, 7, 8], [2, 2])));
  const values = await result.data();
  result.dispose();
  if (values.join(',') !== '19,22,43,50') throw new Error(`wrong matmul result ${values.join(',')}`);
}

let tensorflowLoad: Promise<{ gpu: boolean } | Error> | null = null;

/** Imports tfjs-node-gpu (or tfjs-node) once; both register the 'tensorflow' backend. */
async function loadTensorflow(gpu: boolean): Promise<true | string> {
  const pkg = gpu ? '@tensorflow/tfjs-node-gpu' : '@tensorflow/tfjs-node';
  if (!isInstalled(pkg)) {
    return gpu
      ? 'tfjs-node-gpu not installed (optional; needs Linux x64 with CUDA 11.2 and cuDNN 8.1: npm install @tensorflow/tfjs-node-gpu)'
      : 'tfjs-node not installed (optional: npm install @tensorflow/tfjs-node; its install downloads libtensorflow)';
  }
  tensorflowLoad ??= import(pkg).then(
    () => ({ gpu }),
    (error: unknown) => (error instanceof Error ? error : new Error(String(error))),
  );
  const loaded = await tensorflowLoad;
  if (loaded instanceof Error) return explainNativeFailure(pkg, loaded);
  if (loaded.gpu !== gpu) return `${pkg} not loaded: ${loaded.gpu ? 'tfjs-node-gpu' : 'tfjs-node'} already provides the tensorflow backend`;
  return true;
}

async function probe(name: BackendName): Promise<BackendStatus> {
  try {
    if (name === 'tensorflow-gpu' || name === 'tensorflow') {
      const loaded = await loadTensorflow(name === 'tensorflow-gpu');
      if (loaded !== true) return { name, usable: false, detail: loaded };
      if (!(await tf.setBackend('tensorflow'))) return { name, usable: false, detail: 'tensorflow backend did not initialize' };
      await smokeTest();
      return { name, usable: true, detail: name === 'tensorflow-gpu' ? 'libtensorflow with CUDA' : 'libtensorflow on CPU, all cores' };
    }
    if (name === 'wasm') {
      await import('@tensorflow/tfjs-backend-wasm');
      if (!(await tf.setBackend('wasm'))) return { name, usable: false, detail: 'wasm backend did not initialize' };
      await smokeTest();
      const simd = tf.env().getBool('WASM_HAS_SIMD_SUPPORT');
      const threads = tf.env().getBool('WASM_HAS_MULTITHREAD_SUPPORT') ? 'multi-threaded' : '1 thread';
      return { name, usable: true, detail: `WebAssembly${simd ? ' · SIMD' : ''} · ${threads} (XNNPACK)` };
    }
    await import('@tensorflow/tfjs-backend-cpu');
    if (!(await tf.setBackend('cpu'))) return { name, usable: false, detail: 'cpu backend did not initialize' };
    await smokeTest();
    return { name, usable: true, detail: 'plain JavaScript (slow; for checking results)' };
  } catch (error) {
    return { name, usable: false, detail: firstLine(error instanceof Error ? error.message : String(error)) };
  }
}

/** Probes every backend (switching tfjs's active backend as it goes). */
export async function detectBackends(): Promise<BackendStatus[]> {
  const statuses: BackendStatus[] = [];
  for (const name of BACKEND_PREFERENCE) statuses.push(await probe(name));
  return statuses;
}

/**
 * Activates `requested`, or the fastest usable backend. A requested backend that does
 * not work is an error naming why, never a silent fallback.
 */
export async function initBackend(requested?: string): Promise<BackendStatus> {
  if (requested !== undefined && requested !== 'auto') {
    if (!BACKEND_PREFERENCE.includes(requested as BackendName)) {
      throw new Error(`--backend: unknown backend "${requested}"; choose one of ${BACKEND_PREFERENCE.join(', ')} or auto`);
    }
    const status = await probe(requested as BackendName);
    if (!status.usable) throw new Error(`--backend ${requested}: unusable here: ${status.detail}`);
    return status;
  }
  for (const name of BACKEND_PREFERENCE) {
    const status = await probe(name);
    if (status.usable) return status;
  }
  throw new Error('no TensorFlow.js backend works on this machine');
}

/** tfjs's name for a backend ('tensorflow' for both native ones). */
export function tfBackendName(name: BackendName): string {
  return name === 'tensorflow-gpu' ? 'tensorflow' : name;
}
