// Data-parallel training on the CPU: N worker threads, each with its own tfjs wasm
// instance (the wasm backend is single-threaded in Node) and a replica of the network.
// A step: the weights go to shared memory (the workers reload them when they changed),
// each worker differentiates the mean loss of its slice of the batch, and the gradients
// are averaged weighted by slice size — the gradient of the full batch's mean loss —
// before the Trainer clips them and takes its one AdamW step here. Drop-path masks are
// drawn for the full batch and sliced, and teacher logits are computed for the full
// batch (or by a replica of the teacher in each worker), so the result equals
// single-worker training up to float rounding, and a resumed run with the same worker
// count is bit-exact (fixed slices, fixed reduction order).

import { existsSync } from 'node:fs';
import os from 'node:os';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import * as tf from '@tensorflow/tfjs-core';
import { copyTensorInto } from '../../engine/kernels/wasm-kernels.js';
import { networkSpec } from '../../engine/model/spec.js';
import { attnDim, mlpHidden, numTokens } from '../../shared/config.js';
import type { Batch } from '../../engine/data/types.js';
import type { Network } from '../../engine/model/vit.js';
import { forward, sliceDropPath } from '../../engine/model/vit.js';
import {
  type GradientComputer,
  LocalGradients,
  setDefaultGradientComputer,
  type StepGradients,
  type StepRequest,
  type TeacherLike,
} from '../../engine/train/gradients.js';
import { NetworkTeacher } from '../../engine/train/model-teacher.js';
import { CachedTeacher, resolveTeacherLogits } from '../../engine/train/teacher-cache.js';
import { type FromWorker, layoutOf, type TensorLayout, type ToWorker, type WorkerInit } from './worker-protocol.js';

export interface ParallelOptions {
  /** Worker threads (default: LEARNGENE_TRAIN_WORKERS or the number of cores). */
  workers?: number;
  /** Steps smaller than this many GFLOP (estimated) train locally: messaging would cost more than it saves. */
  minStepGflop?: number;
  /** The compiled worker script (default: gradient-worker.js beside this module, or under dist/ when running from sources). */
  workerFile?: URL;
  /** Where to say that the pool could not start (it then trains locally). */
  log?: (message: string) => void;
  /** Evaluate plain ViTs in onnxruntime (default true); false splits them over the workers. */
  evaluateWithOnnx?: boolean;
}

/** Below ~0.3 GFLOP a step takes ~10 ms on one core; the pool's fixed cost is a few ms. */
const DEFAULT_MIN_STEP_GFLOP = 0.3;

export function defaultWorkerFile(): URL {
  if (import.meta.url.endsWith('.ts')) return new URL('../../dist/node/train/gradient-worker.js', import.meta.url);
  return new URL('./gradient-worker.js', import.meta.url);
}

/** Worker count: LEARNGENE_TRAIN_WORKERS when set, else the cores this process may use. */
export function defaultWorkerCount(): number {
  const env = Number(process.env.LEARNGENE_TRAIN_WORKERS);
  if (Number.isInteger(env) && env >= 1) return env;
  return typeof os.availableParallelism === 'function' ? os.availableParallelism() : os.cpus().length;
}

/** Multiply-adds ×2 ×3 (forward + backward) of one training step, roughly, in GFLOP. */
export function estimateStepGflop(network: Network, batchSize: number): number {
  const c = network.config;
  const tokens = numTokens(c);
  const perToken = c.depth * (4 * c.dim * attnDim(c) + 2 * c.dim * mlpHidden(c) + 2 * tokens * attnDim(c));
  return (6 * perToken * tokens * batchSize) / 1e9;
}

interface WorkerHandle {
  worker: Worker;
  grads: Float32Array;
  pending: Map<number, { resolve(message: FromWorker): void; reject(error: Error): void }>;
}

/**
 * Σᵢ weights[i]·parts[i] element by element, in a fixed order (left to right), in one pass
 * (the reduction is on the critical path of every step). Two parts — the common case —
 * are combined in double precision and rounded once.
 */
export function weightedSum(parts: Float32Array[], weights: number[], length: number): Float32Array {
  const out = new Float32Array(length);
  if (parts.length === 2) {
    const [g0, g1] = parts as [Float32Array, Float32Array];
    const w0 = weights[0]!;
    const w1 = weights[1]!;
    for (let j = 0; j < length; j++) out[j] = w0 * g0[j]! + w1 * g1[j]!;
    return out;
  }
  for (let i = 0; i < parts.length; i++) {
    const g = parts[i]!;
    const w = weights[i]!;
    for (let j = 0; j < length; j++) out[j] = out[j]! + w * g[j]!;
  }
  return out;
}

/** Equal slices of a batch over `workers` (the first ones one larger), as [start, end). */
export function sliceBatch(size: number, workers: number): [number, number][] {
  const n = Math.min(workers, size);
  const slices: [number, number][] = [];
  let start = 0;
  for (let i = 0; i < n; i++) {
    const length = Math.floor(size / n) + (i < size % n ? 1 : 0);
    slices.push([start, start + length]);
    start += length;
  }
  return slices;
}

export class ParallelGradients implements GradientComputer {
  readonly workerCount: number;
  private readonly minStepGflop: number;
  private readonly workerFile: URL;
  private readonly log: (message: string) => void;
  private readonly local = new LocalGradients();
  private workers: WorkerHandle[] | null = null;
  private starting: Promise<WorkerHandle[] | null> | null = null;
  private paramLayout: TensorLayout | null = null;
  private paramView: Float32Array | null = null;
  private gradLayout: TensorLayout | null = null;
  private replicatedTeacher: TeacherLike | null = null;
  private lastDataIds: object[] = [];
  private version = 0;
  private nextId = 1;
  private broken: Error | null = null;
  /** Why this pool trains locally, if it does. */
  localReason: string | null = null;
  /** How the last `logits` call ran. */
  lastEvaluation: 'onnxruntime' | 'workers' | 'local' | null = null;
  private readonly evaluateWithOnnx: boolean;

  constructor(readonly network: Network, options: ParallelOptions = {}) {
    this.workerCount = options.workers ?? defaultWorkerCount();
    this.minStepGflop = options.minStepGflop ?? DEFAULT_MIN_STEP_GFLOP;
    this.workerFile = options.workerFile ?? defaultWorkerFile();
    this.log = options.log ?? (() => undefined);
    this.evaluateWithOnnx = options.evaluateWithOnnx ?? true;
  }

  get description(): string {
    return this.workers ? `${this.workers.length} wasm workers (data-parallel)` : this.localReason ? `local (${this.localReason})` : `up to ${this.workerCount} wasm workers`;
  }

  async compute(request: StepRequest): Promise<StepGradients> {
    if (this.broken) throw this.broken;
    if (request.network !== this.network) return this.local.compute(request);
    const workers = await this.ensureStarted(request);
    if (!workers) return this.local.compute(request);
    const { batch } = request;
    const slices = sliceBatch(batch.size, workers.length);
    this.syncWeights();

    // Teacher logits: cached, from the replicas in the workers, or computed here for the whole batch.
    const { teacherLogits, runTeacher, cache } = await resolveTeacherLogits(request.teacher, batch, (t) => this.replicatedTeacher === t);
    const k = request.teacher?.numClasses ?? 0;
    const imageFloats = batch.images.length / batch.size;
    const replies = await Promise.all(
      slices.map(([start, end], i) =>
        this.send(workers[i]!, {
          type: 'step',
          id: this.nextId++,
          version: this.version,
          images: batch.images.slice(start * imageFloats, end * imageFloats),
          labels: batch.labels.slice(start, end),
          size: end - start,
          dropPath: request.dropPath ? sliceDropPath(request.dropPath, start, end) : null,
          teacherLogits: teacherLogits ? teacherLogits.slice(start * k, end * k) : null,
          runTeacher,
          labelSmoothing: request.labelSmoothing,
          distill: request.distill,
        }),
      ),
    );
    if (runTeacher && cache) {
      const all = new Float32Array(batch.size * k);
      replies.forEach((r, i) => {
        if (r.type === 'step' && r.teacherLogits) all.set(r.teacherLogits, slices[i]![0] * k);
      });
      cache.store(batch, all);
    }

    // Σ (slice / batch) · gradient of the slice's mean loss, in a fixed order.
    const layout = this.gradLayout!;
    const weights = slices.map(([start, end]) => (end - start) / batch.size);
    const sum = weightedSum(workers.slice(0, slices.length).map((w) => w.grads), weights, layout.floats);
    const losses: Record<string, number> = {};
    slices.forEach((_, i) => {
      const reply = replies[i]!;
      if (reply.type === 'step') for (const [name, value] of Object.entries(reply.losses)) losses[name] = (losses[name] ?? 0) + weights[i]! * value;
    });
    const grads = new Map<string, tf.Tensor>();
    for (const e of layout.entries) grads.set(e.name, tf.tensor(sum.subarray(e.offset, e.offset + e.size), e.shape));
    return { losses, grads };
  }

  /**
   * Inference logits of the pool's network (evaluation): a plain ViT runs in onnxruntime
   * on an in-memory export of the current weights (~2.5× our forward on all cores); other
   * networks are split over the workers.
   */
  async logits(network: Network, batch: Batch): Promise<Float32Array> {
    const onnx = network === this.network && this.evaluateWithOnnx ? await this.onnxFor(network) : null;
    if (onnx) {
      this.lastEvaluation = 'onnxruntime';
      return onnx.run(batch);
    }
    const workers = network === this.network && !this.broken ? this.workers : null;
    const { channels, imageSize, numClasses } = network.config;
    this.lastEvaluation = workers ? 'workers' : 'local';
    if (!workers) {
      const out = tf.tidy(() => forward(network, tf.tensor4d(batch.images, [batch.size, channels, imageSize, imageSize]), { training: false }));
      const values = (await out.data()) as Float32Array;
      out.dispose();
      return values;
    }
    this.syncWeights();
    const slices = sliceBatch(batch.size, workers.length);
    const imageFloats = batch.images.length / batch.size;
    const replies = await Promise.all(
      slices.map(([start, end], i) =>
        this.send(workers[i]!, { type: 'logits', id: this.nextId++, version: this.version, images: batch.images.slice(start * imageFloats, end * imageFloats), size: end - start }),
      ),
    );
    const out = new Float32Array(batch.size * numClasses);
    replies.forEach((r, i) => {
      if (r.type === 'logits') out.set(r.values, slices[i]![0] * numClasses);
    });
    return out;
  }

  private onnx: { version: number; run(batch: Batch): Promise<Float32Array>; release(): Promise<void> } | null = null;
  private onnxFailed = false;

  /** An onnxruntime session of the network's current weights (re-exported when they change). */
  private async onnxFor(network: Network): Promise<{ run(batch: Batch): Promise<Float32Array> } | null> {
    if (this.onnxFailed || !this.paramLayout || networkSpec(network)?.kind !== 'vit') return null;
    this.syncWeights();
    if (this.onnx?.version === this.version) return this.onnx;
    try {
      await this.onnx?.release();
      this.onnx = null;
      const ort = await import('onnxruntime-node');
      const { encodeOnnx } = await import('../export/onnx.js');
      const { buildInferenceGraph } = await import('../../engine/export/graph.js');
      const { toStorageLayout } = await import('../../engine/model/params.js');
      const { tensorsFromParams } = await import('../../engine/model/vit.js');
      const config = network.config;
      const session = await ort.InferenceSession.create(encodeOnnx(buildInferenceGraph(config, toStorageLayout(tensorsFromParams(network.params), config))), { graphOptimizationLevel: 'all' });
      this.onnx = {
        version: this.version,
        run: async (batch) => {
          const input = new ort.Tensor('float32', batch.images, [batch.size, config.channels, config.imageSize, config.imageSize]);
          const out = await session.run({ [session.inputNames[0]!]: input });
          const t = out[session.outputNames[0]!]!;
          const values = (t.data as Float32Array).slice();
          t.dispose?.();
          return values;
        },
        release: () => session.release(),
      };
      return this.onnx;
    } catch (error) {
      this.onnxFailed = true;
      this.log(`evaluation stays in tfjs (onnxruntime: ${(error as Error).message})`);
      return null;
    }
  }

  dispose(): void {
    void this.onnx?.release().catch(() => undefined);
    this.onnx = null;
    const workers = this.workers;
    this.workers = null;
    this.starting = null;
    for (const w of workers ?? []) void w.worker.terminate();
  }

  /** Writes the network's weights to shared memory when any variable changed since the last step. */
  private syncWeights(): void {
    const layout = this.paramLayout!;
    const view = this.paramView!;
    const ids = layout.entries.map((e) => this.network.params.get(e.name)!.dataId);
    if (ids.length === this.lastDataIds.length && ids.every((id, i) => id === this.lastDataIds[i])) return;
    for (const e of layout.entries) copyTensorInto(this.network.params.get(e.name)!, view, e.offset);
    this.lastDataIds = ids;
    this.version += 1;
  }

  private send(handle: WorkerHandle, message: ToWorker): Promise<FromWorker> {
    return new Promise((resolve, reject) => {
      handle.pending.set(message.id, { resolve, reject });
      handle.worker.ref();
      handle.worker.postMessage(message, [message.images.buffer as ArrayBuffer]);
    }).finally(() => {
      if (handle.pending.size === 0) handle.worker.unref();
    }) as Promise<FromWorker>;
  }

  private ensureStarted(request: StepRequest): Promise<WorkerHandle[] | null> {
    if (this.workers) return Promise.resolve(this.workers);
    if (this.localReason) return Promise.resolve(null);
    this.starting ??= this.start(request).catch((error: unknown) => {
      this.localReason = `workers did not start: ${(error as Error).message}`;
      this.log(`data-parallel training unavailable, training on one thread: ${(error as Error).message}`);
      return null;
    });
    return this.starting;
  }

  private async start(request: StepRequest): Promise<WorkerHandle[] | null> {
    const spec = networkSpec(this.network);
    const gflop = estimateStepGflop(this.network, request.batch.size);
    if (!spec) this.localReason = 'not one of our network kinds';
    else if (tf.getBackend() !== 'wasm') this.localReason = `the ${tf.getBackend()} backend is not split across workers`;
    else if (this.workerCount < 2) this.localReason = 'one core';
    else if (request.batch.size < 2) this.localReason = 'batch of 1';
    else if (gflop < this.minStepGflop) this.localReason = `steps of ~${gflop.toFixed(2)} GFLOP are faster on one thread`;
    else if (!existsSync(fileURLToPath(this.workerFile))) this.localReason = `${fileURLToPath(this.workerFile)} is missing (npm run build)`;
    if (this.localReason || !spec) return null;

    const count = Math.min(this.workerCount, request.batch.size);
    const paramLayout = layoutOf([...this.network.params].map(([name, v]) => [name, v.shape] as [string, number[]]));
    const gradLayout = layoutOf([...request.trainable].map(([name, v]) => [name, v.shape] as [string, number[]]));
    const params = new SharedArrayBuffer(paramLayout.floats * 4);
    this.paramLayout = paramLayout;
    this.paramView = new Float32Array(params);
    this.gradLayout = gradLayout;
    this.lastDataIds = [];
    this.syncWeights();

    // A teacher that is one of our networks is replicated (its weights are frozen).
    let teacher: WorkerInit['teacher'] = null;
    const base = request.teacher instanceof CachedTeacher ? request.teacher.inner : request.teacher;
    const teacherSpec = base instanceof NetworkTeacher ? networkSpec(base.network) : null;
    if (base instanceof NetworkTeacher && teacherSpec) {
      const layout = layoutOf([...base.network.params].map(([name, v]) => [name, v.shape] as [string, number[]]));
      const weights = new SharedArrayBuffer(layout.floats * 4);
      const view = new Float32Array(weights);
      for (const e of layout.entries) copyTensorInto(base.network.params.get(e.name)!, view, e.offset);
      teacher = { spec: teacherSpec, layout, weights, from: base.from, to: base.to };
      this.replicatedTeacher = base;
    }

    const handles: WorkerHandle[] = [];
    try {
      await Promise.all(
        Array.from({ length: count }, async () => {
          const grads = new SharedArrayBuffer(gradLayout.floats * 4);
          const init: WorkerInit = { spec, paramLayout, params, gradLayout, grads, teacher };
          const worker = new Worker(this.workerFile, { workerData: init });
          const handle: WorkerHandle = { worker, grads: new Float32Array(grads), pending: new Map() };
          handles.push(handle);
          await new Promise<void>((resolve, reject) => {
            worker.on('message', (message: FromWorker) => {
              if (message.type === 'ready') resolve();
              else if (message.type === 'error' && message.id === null) reject(new Error(message.message));
              else if (message.type === 'error') {
                const waiting = handle.pending.get(message.id!);
                handle.pending.delete(message.id!);
                waiting?.reject(new Error(`gradient worker: ${message.message}`));
              } else {
                const waiting = handle.pending.get(message.id);
                handle.pending.delete(message.id);
                waiting?.resolve(message);
              }
            });
            const fail = (error: Error) => {
              reject(error);
              this.broken ??= new Error(`a gradient worker stopped: ${error.message}`);
              for (const p of handle.pending.values()) p.reject(this.broken);
              handle.pending.clear();
            };
            worker.on('error', fail);
            worker.on('exit', (code) => {
              if (this.workers?.includes(handle)) fail(new Error(`exit code ${code}`));
            });
          });
          worker.unref();
        }),
      );
    } catch (error) {
      for (const h of handles) void h.worker.terminate();
      throw error;
    }
    this.workers = handles;
    return handles;
  }
}

/**
 * Makes data-parallel workers the default gradient strategy of every Trainer created
 * afterwards in this thread (on the wasm backend, for our network kinds, when the step
 * is large enough to gain). `workers: 1` (or LEARNGENE_TRAIN_WORKERS=1) turns it off.
 */
export function installParallelTraining(options: ParallelOptions = {}): { workers: number } {
  const workers = options.workers ?? defaultWorkerCount();
  if (workers < 2) {
    setDefaultGradientComputer(null);
    return { workers: 1 };
  }
  const log = options.log ?? ((message: string) => console.warn(message));
  setDefaultGradientComputer((network) => (tf.getBackend() === 'wasm' ? new ParallelGradients(network, { ...options, workers, log }) : null));
  return { workers };
}
