// onnxruntime-node as the engine's OrtRuntime (engine/onnx/executor.ts): one execution
// provider per backend — the CPU EP (MLAS kernels), WebGPU (Dawn: Vulkan / Metal /
// D3D12), CUDA, DirectML, CoreML — with the session settings every graph of a job uses.

import os from 'node:os';
import { createRequire } from 'node:module';
import type { OrtRuntime, OrtSessionLike } from '../../engine/onnx/executor.js';

type OrtModule = typeof import('onnxruntime-node');

/** Execution providers by our backend names. */
export const ONNX_BACKENDS = {
  onnxruntime: { ep: 'cpu', label: 'CPU', gpu: false },
  'onnxruntime-webgpu': { ep: 'webgpu', label: 'WebGPU', gpu: true },
  'onnxruntime-cuda': { ep: 'cuda', label: 'CUDA', gpu: true },
  'onnxruntime-dml': { ep: 'dml', label: 'DirectML', gpu: true },
  'onnxruntime-coreml': { ep: 'coreml', label: 'CoreML', gpu: true },
} as const;

export type OnnxBackendName = keyof typeof ONNX_BACKENDS;

export function isOnnxBackend(name: string): name is OnnxBackendName {
  return Object.hasOwn(ONNX_BACKENDS, name);
}

let ortModule: Promise<OrtModule> | null = null;

export function loadOrt(): Promise<OrtModule> {
  ortModule ??= import('onnxruntime-node');
  return ortModule;
}

export function ortVersion(): string {
  try {
    return (createRequire(import.meta.url)('onnxruntime-node/package.json') as { version: string }).version;
  } catch {
    return '?';
  }
}

/** Intra-op threads: LEARNGENE_THREADS when set, else the cores this process may use. */
export function defaultThreads(): number {
  const env = Number(process.env.LEARNGENE_THREADS);
  if (Number.isInteger(env) && env >= 1) return env;
  return typeof os.availableParallelism === 'function' ? os.availableParallelism() : os.cpus().length;
}

let activeBackend: OnnxBackendName | null = null;

/** The onnxruntime backend this thread's jobs run on (set by initBackend); null on a tfjs backend. */
export function setActiveOnnxBackend(backend: OnnxBackendName | null): void {
  activeBackend = backend;
}

/**
 * Session options for inference sessions (teachers, ONNX models): the active backend's
 * execution provider, or the CPU EP when training runs on tfjs.
 */
export function inferenceSessionOptions(): import('onnxruntime-node').InferenceSession.SessionOptions {
  // A teacher runs between training steps: its idle threads must not spin on the cores the
  // training session needs next (demo distillation steps: 33–36 ms spinning, 20 ms not).
  return { ...sessionOptions(activeBackend ?? 'onnxruntime'), extra: { session: { intra_op: { allow_spinning: '0' } } } };
}

export interface OrtRuntimeOptions {
  threads?: number;
  /** Write a per-node profile (onnxruntime's enableProfiling) with this file prefix. */
  profilePrefix?: string;
  /** Emit com.microsoft contrib ops (default: on the CPU EP only). */
  contribOps?: boolean;
}

/** Session options of a backend, shared by training graphs, evaluation and teachers. */
export function sessionOptions(backend: OnnxBackendName, options: OrtRuntimeOptions = {}): import('onnxruntime-node').InferenceSession.SessionOptions {
  const { ep } = ONNX_BACKENDS[backend];
  return {
    executionProviders: ep === 'cpu' ? ['cpu'] : [ep, 'cpu'],
    intraOpNumThreads: options.threads ?? defaultThreads(),
    interOpNumThreads: 1,
    executionMode: 'sequential',
    graphOptimizationLevel: 'all',
    // Errors only: the GPU EPs warn about every shape op they leave to the CPU.
    logSeverityLevel: 3,
    ...(options.profilePrefix ? { enableProfiling: true, profileFilePrefix: options.profilePrefix } : {}),
  };
}

export async function createOrtRuntime(backend: OnnxBackendName, options: OrtRuntimeOptions = {}): Promise<OrtRuntime & { ort: OrtModule }> {
  const ort = await loadOrt();
  const settings = sessionOptions(backend, options);
  const { label, ep } = ONNX_BACKENDS[backend];
  return {
    ort,
    description: `onnxruntime ${ortVersion()} · ${label}${ep === 'cpu' ? ` · ${settings.intraOpNumThreads} threads` : ''}`,
    contribOps: options.contribOps ?? ep === 'cpu',
    // onnxruntime-node hands out device tensors for WebGPU ('gpu-buffer'); other EPs copy outputs to the host.
    deviceOutputs: ep === 'webgpu',
    createSession: async (bytes, session) => {
      const deviceOutputs = ep === 'webgpu' ? session?.deviceOutputs ?? [] : [];
      const preferred = deviceOutputs.length > 0 ? { preferredOutputLocation: Object.fromEntries(deviceOutputs.map((name) => [name, 'gpu-buffer' as const])) } : {};
      return (await ort.InferenceSession.create(bytes, { ...settings, ...preferred })) as unknown as OrtSessionLike;
    },
    tensor: (data, dims) => new ort.Tensor('float32', data, dims),
  };
}
