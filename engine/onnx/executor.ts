// The Trainer's steps as one ONNX graph each (engine/onnx/train-graph.ts), run by an
// onnxruntime build the host hands in (onnxruntime-node in Node, onnxruntime-web in a
// page): weights and AdamW moments live here as flat float32 buffers; a step feeds them
// with the batch and gets them back updated, so nothing is copied into tfjs until a
// checkpoint, an evaluation or the end of the run asks for the weights (`syncWeights`).
// Evaluation runs a forward graph on the same device with the same flat weights.
// Isomorphic: the runtime is injected.

import * as tf from '@tensorflow/tfjs-core';
import type { Batch } from '../data/types.js';
import type { TensorMap } from '../io/safetensors.js';
import { networkSpec, type NetworkSpec } from '../model/spec.js';
import type { DropPathScales, Network } from '../model/vit.js';
import { decays } from '../train/adamw.js';
import type { ExecutorTask, StepExecutor, StepInput } from '../train/executor.js';
import { smoothedTargetValues } from '../train/loss.js';
import { buildEvalGraph, buildTrainGraph, type NetworkGraphConfig, type ParamLayout, paramLayout, STEP_IO } from './train-graph.js';

/** The part of an onnxruntime tensor the executor reads. */
export interface OrtTensorLike {
  readonly data: unknown;
  readonly dims: readonly number[];
  dispose?(): void;
}

export interface OrtSessionLike {
  run(feeds: Record<string, OrtTensorLike>): Promise<Record<string, OrtTensorLike>>;
  release(): Promise<void>;
}

/** An onnxruntime build with its session settings (execution provider, threads). */
export interface OrtRuntime {
  /** e.g. "onnxruntime 1.30 · CPU · 2 threads". */
  readonly description: string;
  /** Whether graphs may use com.microsoft contrib ops (the CPU EP runs them natively). */
  readonly contribOps: boolean;
  createSession(bytes: Uint8Array): Promise<OrtSessionLike>;
  tensor(data: Float32Array, dims: readonly number[]): OrtTensorLike;
}

function floats(t: OrtTensorLike | undefined, name: string): Float32Array {
  if (!t || !(t.data instanceof Float32Array)) throw new Error(`onnxruntime: the step returned no float32 "${name}"`);
  return t.data;
}

/** Reads variables into a flat buffer by layout. */
function readWeights(params: Network['params'], layout: ParamLayout): Float32Array {
  const out = new Float32Array(layout.floats);
  for (const e of layout.entries) out.set(params.get(e.name)!.dataSync() as Float32Array, e.offset);
  return out;
}

/** Drop-path scales as [depth, 2, B] (1 where a layer has none). */
function dropPathValues(scales: DropPathScales, batch: number): Float32Array {
  const out = new Float32Array(scales.length * 2 * batch).fill(1);
  scales.forEach((s, layer) => {
    if (!s) return;
    out.set(s.attn, layer * 2 * batch);
    out.set(s.mlp, (layer * 2 + 1) * batch);
  });
  return out;
}

/** Sessions built on first use, by key; a failed build is not kept (the next call reports it again). */
class SessionCache {
  private readonly sessions = new Map<string, Promise<OrtSessionLike>>();

  constructor(private readonly runtime: OrtRuntime, private readonly limit = Infinity) {}

  get(key: string, build: () => Uint8Array): Promise<OrtSessionLike> {
    let session = this.sessions.get(key);
    if (session) {
      // Most recently used last, so the oldest goes first when over the limit.
      this.sessions.delete(key);
      this.sessions.set(key, session);
      return session;
    }
    session = this.runtime.createSession(build());
    session.catch(() => this.sessions.delete(key));
    this.sessions.set(key, session);
    while (this.sessions.size > this.limit) {
      const [oldest, evicted] = this.sessions.entries().next().value as [string, Promise<OrtSessionLike>];
      this.sessions.delete(oldest);
      void evicted.then((x) => x.release(), () => undefined);
    }
    return session;
  }

  clear(): void {
    for (const s of this.sessions.values()) void s.then((x) => x.release(), () => undefined);
    this.sessions.clear();
  }
}

/** Logits of an evaluation graph for a batch, with the weights as flat inputs. */
async function runEval(sessions: SessionCache, runtime: OrtRuntime, config: NetworkGraphConfig, weights: Record<string, OrtTensorLike>, batch: Batch): Promise<Float32Array> {
  const vit = config.spec.kind === 'vit' ? config.spec.config : config.spec.aux.vit;
  const names = (layout: ParamLayout | null) => layout?.entries.map((e) => e.name) ?? [];
  const key = JSON.stringify({ spec: config.spec, batch: config.batchSize, trainable: names(config.trainable), frozen: names(config.frozen) });
  const session = await sessions.get(key, () => buildEvalGraph(config).bytes);
  const out = await session.run({ ...weights, [STEP_IO.images]: runtime.tensor(batch.images, [batch.size, vit.channels, vit.imageSize, vit.imageSize]) });
  return floats(out[STEP_IO.logits], STEP_IO.logits);
}

/** Whether the ONNX executor can train this network (our network kinds only). */
export function onnxTrainable(network: Network): boolean {
  return networkSpec(network) !== null;
}

export class OnnxStepExecutor implements StepExecutor {
  private readonly spec: NetworkSpec;
  private readonly trainableLayout: ParamLayout;
  private readonly frozenLayout: ParamLayout | null;
  private weights: Float32Array;
  private readonly frozenWeights: Float32Array | null;
  private adamM: Float32Array;
  private adamV: Float32Array;
  private stepCount = 0;
  /** Whether the network's variables hold `weights`. */
  private networkCurrent = true;
  private readonly trainSessions: SessionCache;
  private readonly evalSessions: SessionCache;

  constructor(private readonly task: ExecutorTask, private readonly runtime: OrtRuntime) {
    const spec = networkSpec(task.network);
    if (!spec) throw new Error('the ONNX executor trains only the engine\'s own network kinds (ViT, SWS/TLEG Aux-Net)');
    this.spec = spec;
    const all = [...task.network.params];
    this.trainableLayout = paramLayout(all.filter(([name]) => !task.frozen?.has(name)).map(([name, v]) => [name, v.shape]));
    const frozen = all.filter(([name]) => task.frozen?.has(name));
    this.frozenLayout = frozen.length > 0 ? paramLayout(frozen.map(([name, v]) => [name, v.shape])) : null;
    this.weights = readWeights(task.network.params, this.trainableLayout);
    this.frozenWeights = this.frozenLayout ? readWeights(task.network.params, this.frozenLayout) : null;
    this.adamM = new Float32Array(this.trainableLayout.floats);
    this.adamV = new Float32Array(this.trainableLayout.floats);
    this.trainSessions = new SessionCache(runtime);
    this.evalSessions = new SessionCache(runtime);
  }

  get description(): string {
    return this.runtime.description;
  }

  private graphConfig(batchSize: number): NetworkGraphConfig {
    return { spec: this.spec, batchSize, trainable: this.trainableLayout, frozen: this.frozenLayout, contribOps: this.runtime.contribOps };
  }

  /** The step graph's bytes for a batch size (also for tests and the benchmark's profile). */
  trainGraph(batchSize: number): Uint8Array {
    const { optim, distill, distilling } = this.task;
    return buildTrainGraph({
      ...this.graphConfig(batchSize),
      distill: distilling ? { alpha: distill.alpha, tau: distill.tau, reduction: distill.reduction ?? 'batchmean' } : null,
      optimizer: { beta1: optim.beta1, beta2: optim.beta2, eps: optim.eps, clipGradNorm: optim.clipGradNorm, weightDecay: optim.weightDecay, decays },
    }).bytes;
  }

  private weightFeeds(): Record<string, OrtTensorLike> {
    const feeds: Record<string, OrtTensorLike> = { [STEP_IO.params]: this.runtime.tensor(this.weights, [this.weights.length]) };
    if (this.frozenWeights) feeds[STEP_IO.frozen] = this.runtime.tensor(this.frozenWeights, [this.frozenWeights.length]);
    return feeds;
  }

  async step({ batch, lr, dropPath, teacher }: StepInput): Promise<Record<string, number>> {
    const { optim } = this.task;
    const config = this.task.network.config;
    const session = await this.trainSessions.get(String(batch.size), () => this.trainGraph(batch.size));
    const t = this.stepCount + 1;
    const r = this.runtime;
    const feeds: Record<string, OrtTensorLike> = {
      ...this.weightFeeds(),
      [STEP_IO.adamM]: r.tensor(this.adamM, [this.adamM.length]),
      [STEP_IO.adamV]: r.tensor(this.adamV, [this.adamV.length]),
      [STEP_IO.images]: r.tensor(batch.images, [batch.size, config.channels, config.imageSize, config.imageSize]),
      [STEP_IO.targets]: r.tensor(smoothedTargetValues(batch.labels, config.numClasses, optim.labelSmoothing), [batch.size, config.numClasses]),
      // The same float64 arithmetic as engine/train/adamw.ts, rounded once to float32.
      [STEP_IO.stepSize]: r.tensor(Float32Array.of(lr / (1 - optim.beta1 ** t)), []),
      [STEP_IO.bias2Sqrt]: r.tensor(Float32Array.of(Math.sqrt(1 - optim.beta2 ** t)), []),
      [STEP_IO.decay]: r.tensor(Float32Array.of(1 - lr * optim.weightDecay), []),
    };
    if (this.task.distilling) {
      if (!teacher) throw new Error('this executor was built for distillation but the step has no teacher');
      const logits = await teacher.logits(batch);
      feeds[STEP_IO.teacherLogits] = r.tensor((await logits.data()) as Float32Array, [batch.size, config.numClasses]);
      logits.dispose();
    }
    if (config.dropPath > 0) {
      if (!dropPath) throw new Error('drop-path in training needs the step\'s scales');
      feeds[STEP_IO.dropPath] = r.tensor(dropPathValues(dropPath, batch.size), [config.depth, 2, batch.size]);
    }
    const out = await session.run(feeds);
    const scalar = (name: string) => floats(out[name], name)[0]!;
    const losses: Record<string, number> = { total: scalar(STEP_IO.loss), ce: scalar(STEP_IO.ce) };
    if (this.task.distilling) losses.kd = scalar(STEP_IO.kd);
    if (!Number.isFinite(losses.total)) return losses;
    losses.gradNorm = scalar(STEP_IO.gradNorm);
    this.weights = floats(out[STEP_IO.paramsOut], STEP_IO.paramsOut);
    this.adamM = floats(out[STEP_IO.adamMOut], STEP_IO.adamMOut);
    this.adamV = floats(out[STEP_IO.adamVOut], STEP_IO.adamVOut);
    this.stepCount = t;
    this.networkCurrent = false;
    return losses;
  }

  optimizerState(): TensorMap {
    const out: TensorMap = new Map();
    for (const e of this.trainableLayout.entries) out.set(`adam_m.${e.name}`, { shape: e.shape.slice(), data: this.adamM.slice(e.offset, e.offset + e.size) });
    for (const e of this.trainableLayout.entries) out.set(`adam_v.${e.name}`, { shape: e.shape.slice(), data: this.adamV.slice(e.offset, e.offset + e.size) });
    return out;
  }

  restore(optimizer: TensorMap, step: number): void {
    const m = new Float32Array(this.trainableLayout.floats);
    const v = new Float32Array(this.trainableLayout.floats);
    for (const e of this.trainableLayout.entries) {
      const savedM = optimizer.get(`adam_m.${e.name}`);
      const savedV = optimizer.get(`adam_v.${e.name}`);
      if (!savedM || !savedV) throw new Error(`checkpoint has no optimizer state for "${e.name}"`);
      if (savedM.data.length !== e.size || savedV.data.length !== e.size) throw new Error(`checkpoint optimizer state for "${e.name}" has the wrong size`);
      m.set(savedM.data, e.offset);
      v.set(savedV.data, e.offset);
    }
    this.adamM = m;
    this.adamV = v;
    this.stepCount = step;
    this.weights = readWeights(this.task.network.params, this.trainableLayout);
    this.networkCurrent = true;
  }

  syncWeights(): void {
    if (this.networkCurrent) return;
    tf.tidy(() => {
      for (const e of this.trainableLayout.entries) {
        const variable = this.task.network.params.get(e.name)!;
        variable.assign(tf.tensor(this.weights.subarray(e.offset, e.offset + e.size), e.shape));
      }
    });
    this.networkCurrent = true;
  }

  logits(network: Network, batch: Batch): Promise<Float32Array> | null {
    if (network !== this.task.network) return null;
    return runEval(this.evalSessions, this.runtime, this.graphConfig(batch.size), this.weightFeeds(), batch);
  }

  dispose(): void {
    this.trainSessions.clear();
    this.evalSessions.clear();
  }
}

/**
 * Inference of our networks outside training (evaluation, prediction) on the same
 * runtime: one forward graph per network shape and batch size, the weights read from
 * the network's variables again only when one of them changed.
 */
export class OnnxInference {
  private readonly sessions: SessionCache;
  private cached: { network: Network; dataIds: object[]; feeds: Record<string, OrtTensorLike>; layout: ParamLayout } | null = null;

  constructor(private readonly runtime: OrtRuntime) {
    // A few shapes at a time (a job evaluates its model, a compare run several sizes).
    this.sessions = new SessionCache(runtime, 4);
  }

  /** Logits [B·K], or null for a network this runtime does not know. */
  logits(network: Network, batch: Batch): Promise<Float32Array> | null {
    const spec = networkSpec(network);
    if (!spec) return null;
    const dataIds = [...network.params.values()].map((v) => v.dataId);
    const cached = this.cached;
    if (!cached || cached.network !== network || cached.dataIds.length !== dataIds.length || cached.dataIds.some((id, i) => id !== dataIds[i])) {
      const layout = paramLayout([...network.params].map(([name, v]) => [name, v.shape]));
      const weights = readWeights(network.params, layout);
      this.cached = { network, dataIds, layout, feeds: { [STEP_IO.params]: this.runtime.tensor(weights, [weights.length]) } };
    }
    const { layout, feeds } = this.cached!;
    return runEval(this.sessions, this.runtime, { spec, batchSize: batch.size, trainable: layout, frozen: null, contribOps: this.runtime.contribOps }, feeds, batch);
  }

  dispose(): void {
    this.sessions.clear();
    this.cached = null;
  }
}
