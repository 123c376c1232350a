// Does an onnxruntime execution provider work here, and how fast? Runs a small training
// step (a 2-layer ViT, the same graph builder as real jobs) on the EP and on the CPU EP,
// checks that they agree, and times both. Run in a child process (`probeOnnxBackend`):
// GPU drivers print to stderr and can crash natively, and neither may reach the caller.
//   node dist/node/train/onnx-probe.js <backend>   → one JSON line (OnnxProbeResult)

import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { buildTrainGraph, paramLayout, STEP_IO } from '../../engine/onnx/train-graph.js';
import { decays } from '../../engine/train/adamw.js';
import { vitParamShapes } from '../../engine/model/vit.js';
import { defaultViTConfig, type ViTConfig } from '../../shared/config.js';
import { vitTrainFlops } from '../../shared/flops.js';
import { isOnnxBackend, loadOrt, ONNX_BACKENDS, type OnnxBackendName, sessionOptions } from './onnx-runtime.js';

export interface OnnxProbeResult {
  usable: boolean;
  /** Why not, or what was found. */
  detail: string;
  /** Median ms of the probe step on the EP and on the CPU EP (when usable). */
  stepMs?: number;
  cpuStepMs?: number;
  /**
   * Training GFLOP/s measured on the EP with a small-but-real step (MEASURE_CONFIG, batch
   * MEASURE_BATCH; FLOPs as shared/flops.ts counts them): what cost estimates divide by.
   * A GPU EP slower than the CPU EP on the probe step is rated by that step instead.
   */
  trainGflops?: number;
}

// Small, so an emulated adapter answers in seconds; a GPU that beats the CPU here beats it on real models.
const PROBE_BATCH = 8;
const PROBE_CONFIG = defaultViTConfig({ imageSize: 16, channels: 3, patchSize: 4, dim: 32, depth: 2, heads: 2, numClasses: 10 });
// The throughput measurement: the size of the studio's small models (a 64-token, dim-64
// ViT), large enough that the step's matrix products, not per-op overhead, set the time.
const MEASURE_BATCH = 32;
export const MEASURE_CONFIG = defaultViTConfig({ imageSize: 32, channels: 3, patchSize: 4, dim: 64, depth: 4, heads: 4, numClasses: 10 });

function firstLine(text: string): string {
  const line = (text.split('\n').find((l) => l.trim()) ?? text).trim();
  return line.length > 200 ? line.slice(0, 197) + '...' : line;
}

/** Why an EP failed to start, in words a user can act on. */
export function explainOnnxFailure(backend: OnnxBackendName, message: string): string {
  if (backend === 'onnxruntime-cuda' && /providers_(shared|cuda)|shared library/i.test(message)) {
    return 'the CUDA 12 execution provider libraries are not installed (they are a separate download: ONNXRUNTIME_NODE_INSTALL=cuda12 node node_modules/onnxruntime-node/script/install; needs an NVIDIA driver with CUDA 12 and cuDNN 9)';
  }
  if (/backend not found/i.test(message)) {
    const where = backend === 'onnxruntime-dml' ? 'Windows' : backend === 'onnxruntime-coreml' ? 'macOS' : 'this platform';
    return `not in this onnxruntime-node build (it ships with the ${where} build)`;
  }
  if (backend === 'onnxruntime-webgpu' && /adapter/i.test(message)) {
    return 'no WebGPU adapter (Dawn found no Vulkan / Metal / D3D12 GPU; on Linux it needs a Vulkan driver and libvulkan1)';
  }
  return firstLine(message);
}

/** Probes a backend in this process (the child's job). */
export async function probeHere(backend: OnnxBackendName): Promise<OnnxProbeResult> {
  let ort;
  try {
    ort = await loadOrt();
  } catch (error) {
    return { usable: false, detail: `onnxruntime-node does not load: ${firstLine((error as Error).message)}` };
  }
  const step = (config: ViTConfig, batch: number, contribOps: boolean) =>
    buildTrainGraph({
      spec: { kind: 'vit', config },
      batchSize: batch,
      trainable: paramLayout(vitParamShapes(config)),
      frozen: null,
      contribOps,
      distill: null,
      optimizer: { beta1: 0.9, beta2: 0.999, eps: 1e-8, clipGradNorm: 1, weightDecay: 0.05, decays },
    }).bytes;
  const feedsFor = (config: ViTConfig, batch: number) => {
    const { floats } = paramLayout(vitParamShapes(config));
    const { channels: c, imageSize: s, numClasses: k } = config;
    return {
      [STEP_IO.params]: new ort.Tensor('float32', new Float32Array(floats).map((_, i) => Math.sin(i) * 0.05), [floats]),
      [STEP_IO.adamM]: new ort.Tensor('float32', new Float32Array(floats), [floats]),
      [STEP_IO.adamV]: new ort.Tensor('float32', new Float32Array(floats), [floats]),
      [STEP_IO.images]: new ort.Tensor('float32', new Float32Array(batch * c * s * s).map((_, i) => Math.cos(i * 0.3)), [batch, c, s, s]),
      [STEP_IO.targets]: new ort.Tensor('float32', new Float32Array(batch * k).map((_, i) => (i % k === Math.floor(i / k) % k ? 1 : 0)), [batch, k]),
      [STEP_IO.stepSize]: new ort.Tensor('float32', Float32Array.of(0.01), []),
      [STEP_IO.bias2Sqrt]: new ort.Tensor('float32', Float32Array.of(Math.sqrt(0.001)), []),
      [STEP_IO.decay]: new ort.Tensor('float32', Float32Array.of(1 - 1e-3 * 0.05), []),
    };
  };
  const feeds = feedsFor(PROBE_CONFIG, PROBE_BATCH);
  const timeRuns = async (session: Awaited<ReturnType<typeof ort.InferenceSession.create>>, runFeeds = feeds) => {
    let out = await session.run(runFeeds); // warm-up (shader compilation on GPUs)
    const times: number[] = [];
    for (let i = 0; i < 3; i++) {
      const start = performance.now();
      out = await session.run(runFeeds);
      times.push(performance.now() - start);
    }
    return { out, ms: times.sort((a, b) => a - b)[1]! };
  };
  const epOptions = backend === 'onnxruntime' ? sessionOptions('onnxruntime') : { ...sessionOptions(backend), executionProviders: [ONNX_BACKENDS[backend].ep] };
  /** Training GFLOP/s of a MEASURE_CONFIG step on the EP. */
  const measure = async () => {
    const { ms } = await timeRuns(await ort.InferenceSession.create(step(MEASURE_CONFIG, MEASURE_BATCH, backend === 'onnxruntime'), epOptions), feedsFor(MEASURE_CONFIG, MEASURE_BATCH));
    return (vitTrainFlops(MEASURE_CONFIG) * MEASURE_BATCH) / (ms / 1000) / 1e9;
  };
  const cpu = await timeRuns(await ort.InferenceSession.create(step(PROBE_CONFIG, PROBE_BATCH, true), sessionOptions('onnxruntime')));
  if (backend === 'onnxruntime') {
    return { usable: true, detail: `CPU execution provider (MLAS) · ${sessionOptions('onnxruntime').intraOpNumThreads} threads`, stepMs: cpu.ms, cpuStepMs: cpu.ms, trainGflops: await measure() };
  }
  let ep;
  try {
    ep = await timeRuns(await ort.InferenceSession.create(step(PROBE_CONFIG, PROBE_BATCH, false), epOptions));
  } catch (error) {
    return { usable: false, detail: explainOnnxFailure(backend, (error as Error).message) };
  }
  // The EP must compute what the CPU EP computes.
  const a = ep.out[STEP_IO.paramsOut]!.data as Float32Array;
  const b = cpu.out[STEP_IO.paramsOut]!.data as Float32Array;
  let diff = 0;
  let scale = 1e-6;
  for (let i = 0; i < b.length; i++) {
    diff = Math.max(diff, Math.abs(a[i]! - b[i]!));
    scale = Math.max(scale, Math.abs(b[i]!));
  }
  if (!(diff / scale < 1e-3)) return { usable: false, detail: `runs, but a training step differs from the CPU EP by ${(diff / scale).toExponential(1)} (relative)` };
  // The larger measurement only where the EP beat the CPU EP (an emulated adapter takes
  // minutes on it); a slower one is rated by the probe step itself.
  const trainGflops = ep.ms < cpu.ms ? await measure() : (vitTrainFlops(PROBE_CONFIG) * PROBE_BATCH) / (ep.ms / 1000) / 1e9;
  return { usable: true, detail: `${ONNX_BACKENDS[backend].label} execution provider`, stepMs: ep.ms, cpuStepMs: cpu.ms, trainGflops };
}

function probeScript(): string {
  const here = fileURLToPath(import.meta.url);
  return here.endsWith('.ts') ? here.replace(/\/node\/train\/onnx-probe\.ts$/, '/dist/node/train/onnx-probe.js') : here;
}

/** Probes a backend in a child process (stderr captured; a native crash is an answer, not our crash). */
export function probeOnnxBackend(backend: OnnxBackendName, env: NodeJS.ProcessEnv = process.env): Promise<OnnxProbeResult> {
  const script = probeScript();
  if (!existsSync(script)) return Promise.resolve({ usable: false, detail: `${script} is missing (npm run build)` });
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [script, backend], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 120_000);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      const line = stdout.trim().split('\n').pop() ?? '';
      try {
        const answer: OnnxProbeResult = JSON.parse(line);
        resolve(answer);
      } catch {
        const why = signal ? `the probe was killed by ${signal}` : `the probe exited with code ${code}`;
        resolve({ usable: false, detail: `${why}${stderr.trim() ? `: ${firstLine(stderr.trim().split('\n').reverse().find((l) => /error|fail/i.test(l)) ?? stderr)}` : ''}` });
      }
    });
  });
}

// As a script: probe argv[2] and print the result.
if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const backend = process.argv[2] ?? '';
  const result: Promise<OnnxProbeResult> = isOnnxBackend(backend)
    ? probeHere(backend).catch((error: unknown) => ({ usable: false, detail: explainOnnxFailure(backend, (error as Error).message) }))
    : Promise.resolve({ usable: false, detail: `unknown onnxruntime backend ${JSON.stringify(backend)}` });
  void result.then((r) => {
    process.stdout.write(JSON.stringify(r) + '\n');
    process.exit(0);
  });
}
