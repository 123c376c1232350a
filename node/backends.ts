// Which compute backends load and work on this machine, fastest first.
//  - onnxruntime (the default wherever it loads): whole training steps as one ONNX graph
//    (engine/onnx/) on an onnxruntime-node execution provider — the CPU EP (MLAS), and
//    where the machine has one, WebGPU (Dawn: Vulkan / Metal / D3D12), CUDA 12, DirectML
//    or CoreML. `auto` takes a GPU EP only when it has a real adapter and its probe step
//    runs faster than the CPU EP's.
//  - TensorFlow.js (the fallback, and the parity oracle in tests): tfjs-node-gpu and
//    tfjs-node (opt-in: not installed by `npm ci`, each downloads a libtensorflow build;
//    absent or broken, reported with how to add it and skipped), wasm (our SIMD kernels)
//    and cpu (always shipped).

import '../engine/tf-env.js';
import { BACKEND_NAMES, type BackendName } from '../shared/api.js';
import * as tf from '@tensorflow/tfjs-core';
import { createRequire } from 'node:module';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { wasmKernelsActive, wasmKernelsFailure } from '../engine/kernels/wasm-kernels.js';
import { setDefaultLogitsRunner, setDefaultStepExecutor } from '../engine/train/executor.js';
import { createOrtRuntime, isOnnxBackend, ONNX_BACKENDS, type OnnxBackendName, ortVersion, setActiveOnnxBackend } from './train/onnx-runtime.js';
import type { OnnxProbeResult } from './train/onnx-probe.js';
import { writeFileAtomic } from './fs/atomic.js';

export type { BackendName };
export type TfjsBackendName = Exclude<BackendName, OnnxBackendName>;

export interface BackendStatus {
  name: BackendName;
  usable: boolean;
  /** One line: what it is when usable ("onnxruntime 1.30.0 · CPU execution provider (MLAS) · 2 threads"), why not otherwise. */
  detail: string;
  /** The engine behind it. */
  engine: 'onnxruntime' | 'tfjs';
  /** Runs on a GPU (or a GPU API). */
  gpu: boolean;
  /** A CPU emulation of a GPU API (SwiftShader): right answers, no speed; `auto` never picks it. */
  emulated?: boolean;
  /** ms of the probe's training step here and on the CPU EP (onnxruntime backends). */
  probeStepMs?: number;
  cpuProbeStepMs?: number;
  /** Measured training GFLOP/s (onnxruntime backends; node/train/onnx-probe.ts), for cost estimates. */
  trainGflops?: number;
  /** What `auto` picks (set by detectBackends). */
  default?: boolean;
}

/**
 * Fastest first, in the order `auto` considers them: GPU execution providers (only with a
 * real adapter that measured faster than the CPU EP), the CPU EP, then the tfjs backends.
 */
export const BACKEND_PREFERENCE: readonly BackendName[] = BACKEND_NAMES;

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
      ? 'tfjs-node-gpu not installed (opt-in, Linux x64 with CUDA 11.2 and cuDNN 8.1; add it with: npm install @tensorflow/tfjs-node-gpu, which downloads libtensorflow with CUDA, about 400 MB)'
      : 'tfjs-node not installed (opt-in; add it with: npm install @tensorflow/tfjs-node, which downloads libtensorflow for this CPU, about 100 MB)';
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

interface ProbeContext {
  /** Asked for by name: an emulated GPU (SwiftShader) will do. */
  byName?: boolean;
}

type TfjsStatus = Omit<BackendStatus, 'engine' | 'gpu'>;

async function probeTfjs(name: TfjsBackendName): Promise<TfjsStatus> {
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
      const kernels = wasmKernelsActive() ? 'Learngene SIMD kernels' : `XNNPACK only (${wasmKernelsFailure() ?? 'kernels off'})`;
      return { name, usable: true, detail: `TensorFlow.js WebAssembly${simd ? ' · SIMD' : ''} · ${threads} · ${kernels}` };
    }
    await import('@tensorflow/tfjs-backend-cpu');
    if (!(await tf.setBackend('cpu'))) return { name, usable: false, detail: 'cpu backend did not initialize' };
    await smokeTest();
    return { name, usable: true, detail: 'TensorFlow.js plain JavaScript (slow; for checking results)' };
  } catch (error) {
    return { name, usable: false, detail: firstLine(error instanceof Error ? error.message : String(error)) };
  }
}

// ---- onnxruntime execution providers ------------------------------------------------

/** Where probe answers for onnxruntime EPs are kept between commands. */
function onnxProbeCacheFile(): string {
  const base = process.env.XDG_CACHE_HOME || path.join(os.homedir(), '.cache');
  return path.join(base, 'learngene-studio', 'onnx-probe.json');
}

/** What an EP's answer depends on: the onnxruntime build, the GPU driver selection, the cores. */
function onnxProbeKey(backend: OnnxBackendName): string {
  const env = ['VK_ICD_FILENAMES', 'VK_DRIVER_FILES', 'CUDA_VISIBLE_DEVICES', 'LEARNGENE_THREADS'].map((k) => `${k}=${process.env[k] ?? ''}`).join(';');
  // v2: answers carry trainGflops.
  return `v2|${backend}|${ortVersion()}|${os.platform()}-${os.arch()}|${os.cpus()[0]?.model ?? ''}|${env}`;
}

/** Whether an EP can exist in this build at all (no child process needed to say no). */
function onnxUnavailableHere(backend: OnnxBackendName): string | null {
  const platform = os.platform();
  if (backend === 'onnxruntime-dml' && platform !== 'win32') return 'DirectML is Windows only';
  if (backend === 'onnxruntime-coreml' && platform !== 'darwin') return 'CoreML is macOS only';
  if (backend === 'onnxruntime-cuda' && !(platform === 'linux' && os.arch() === 'x64') && platform !== 'win32') return 'CUDA builds of onnxruntime-node are for Linux x64 and Windows';
  return null;
}

const onnxProbes = new Map<OnnxBackendName, Promise<OnnxProbeResult>>();

/**
 * The probe answer of an onnxruntime backend: kept for a week per machine setting (the
 * GPU probes start a child process and compile shaders), asked afresh by `learngene backends`.
 */
async function onnxProbe(backend: OnnxBackendName, fresh: boolean): Promise<OnnxProbeResult> {
  const notHere = onnxUnavailableHere(backend);
  if (notHere) return { usable: false, detail: notHere };
  let pending = onnxProbes.get(backend);
  if (!pending || fresh) {
    pending = (async () => {
      const file = onnxProbeCacheFile();
      const key = onnxProbeKey(backend);
      let kept: Record<string, { at: number; result: OnnxProbeResult }> = {};
      try {
        kept = JSON.parse(await fs.readFile(file, 'utf8')) as typeof kept;
      } catch {
        // nothing kept yet
      }
      const entry = kept[key];
      if (!fresh && entry && Date.now() - entry.at < 7 * 24 * 3600 * 1000) return entry.result;
      const { probeOnnxBackend } = await import('./train/onnx-probe.js');
      const result = await probeOnnxBackend(backend);
      kept[key] = { at: Date.now(), result };
      // Atomic: jobs starting together read and write this file at once. A cache, so a failed write is no error.
      await fs.mkdir(path.dirname(file), { recursive: true }).then(() => writeFileAtomic(file, JSON.stringify(kept, null, 1))).catch(() => undefined);
      return result;
    })();
    onnxProbes.set(backend, pending);
  }
  return pending;
}

/** SwiftShader is a CPU emulation of Vulkan: Dawn takes it as an adapter, but it is no GPU. */
function emulatedGpu(backend: OnnxBackendName): boolean {
  const icd = `${process.env.VK_ICD_FILENAMES ?? ''}${process.env.VK_DRIVER_FILES ?? ''}`;
  return backend === 'onnxruntime-webgpu' && /swiftshader|lvp_icd|lavapipe/i.test(icd);
}

async function probeOnnx(backend: OnnxBackendName, context: ProbeContext = {}): Promise<BackendStatus> {
  const { gpu } = ONNX_BACKENDS[backend];
  const result = await onnxProbe(backend, freshProbe);
  const status: BackendStatus = { name: backend, engine: 'onnxruntime', gpu, usable: result.usable, detail: `onnxruntime ${ortVersion()} · ${result.detail}` };
  if (result.stepMs !== undefined) status.probeStepMs = result.stepMs;
  if (result.cpuStepMs !== undefined) status.cpuProbeStepMs = result.cpuStepMs;
  if (result.trainGflops !== undefined) status.trainGflops = result.trainGflops;
  if (!result.usable || !gpu) return status;
  if (emulatedGpu(backend)) {
    status.emulated = true;
    status.detail += ' on SwiftShader, a CPU emulation of Vulkan (right answers, no speed)';
    if (!context.byName) status.detail += '; auto never picks it';
  } else if (result.stepMs !== undefined && result.cpuStepMs !== undefined && result.stepMs >= result.cpuStepMs) {
    status.detail += ` (probe step ${result.stepMs.toFixed(1)} ms vs ${result.cpuStepMs.toFixed(1)} ms on the CPU EP: auto keeps the CPU)`;
  }
  return status;
}

/** Whether `auto` may choose this usable status. */
function autoEligible(status: BackendStatus): boolean {
  if (!status.usable || status.emulated) return false;
  if (status.engine === 'onnxruntime' && status.gpu) return status.probeStepMs !== undefined && status.cpuProbeStepMs !== undefined && status.probeStepMs < status.cpuProbeStepMs;
  return true;
}

async function probe(name: BackendName, context: ProbeContext = {}): Promise<BackendStatus> {
  if (isOnnxBackend(name)) return probeOnnx(name, context);
  return { ...(await probeTfjs(name)), engine: 'tfjs', gpu: name === 'tensorflow-gpu' };
}

/** `learngene backends` asks afresh; everything else may use the kept onnxruntime EP answers. */
let freshProbe = false;

/** Probes every backend (switching tfjs's active backend as it goes); marks what `auto` picks. */
export async function detectBackends(): Promise<BackendStatus[]> {
  freshProbe = true;
  const statuses: BackendStatus[] = [];
  for (const name of BACKEND_PREFERENCE) statuses.push(await probe(name));
  const chosen = autoChoice(statuses);
  if (chosen) chosen.default = true;
  return statuses;
}

/** The backend `auto` picks among probed statuses (null: none usable). */
export function autoChoice(statuses: BackendStatus[]): BackendStatus | null {
  return BACKEND_PREFERENCE.map((name) => statuses.find((s) => s.name === name)).find((s): s is BackendStatus => s !== undefined && autoEligible(s)) ?? null;
}

/**
 * Activates `requested`, or the fastest usable backend. A requested backend that does
 * not work is an error naming why, never a silent fallback.
 */
export async function initBackend(requested?: string): Promise<BackendStatus> {
  const status = await chooseBackend(requested);
  setDefaultStepExecutor(null);
  setDefaultLogitsRunner(null);
  setActiveOnnxBackend(null);
  if (status.engine === 'onnxruntime') {
    // Steps, evaluation and teachers run in onnxruntime; tfjs in this thread only holds
    // the weights between phases (and trains networks the graph builder does not know).
    const backend = status.name as OnnxBackendName;
    await probeTfjs('wasm');
    const [runtime, { OnnxStepExecutor, OnnxInference, onnxTrainable }] = await Promise.all([createOrtRuntime(backend), import('../engine/onnx/executor.js')]);
    setActiveOnnxBackend(backend);
    setDefaultStepExecutor((task) => (onnxTrainable(task.network) ? new OnnxStepExecutor(task, runtime) : null));
    const inference = new OnnxInference(runtime);
    setDefaultLogitsRunner((network, batch) => inference.logits(network, batch));
  }
  return status;
}

async function chooseBackend(requested: string | undefined): Promise<BackendStatus> {
  if (requested !== undefined && requested !== 'auto') {
    if (!BACKEND_PREFERENCE.includes(requested as BackendName)) {
      throw new Error(`--backend: unknown backend "${requested}"; choose one of ${BACKEND_PREFERENCE.join(', ')} or auto`);
    }
    const status = await probe(requested as BackendName, { byName: true });
    if (!status.usable) throw new Error(`--backend ${requested}: unusable here: ${status.detail}`);
    return status;
  }
  for (const name of BACKEND_PREFERENCE) {
    const status = await probe(name);
    if (autoEligible(status)) return status;
  }
  throw new Error('no compute backend works on this machine');
}
