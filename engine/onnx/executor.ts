// The Trainer's steps as one ONNX graph each (engine/onnx/train-graph.ts), run by an
// onnxruntime build the host hands in (onnxruntime-node in Node, onnxruntime-web in a
// page): weights and AdamW moments live here as three flat float32 tensors — on the host,
// or on a GPU execution provider's device — that a step reads and gives back updated, so
// nothing is copied into tfjs until a checkpoint, an evaluation or the end of the run asks
// for the weights (`syncWeights`).
// Evaluation runs a forward graph on the same device with the same flat weights.
// Isomorphic: the runtime is injected.

import * as tf from '@tensorflow/tfjs-core';
import type { Batch } from '../data/types.js';
import { copyTensorInto } from '../kernels/wasm-kernels.js';
import type { TensorMap } from '../io/safetensors.js';
import { networkSpec, type NetworkSpec } from '../model/spec.js';
import type { DropPathScales, Network } from '../model/vit.js';
import { decays } from '../train/adamw.js';
import type { ExecutorTask, StepExecutor, StepInput } from '../train/executor.js';
import { smoothedTargetValues } from '../train/loss.js';
import { GraphBuilder } from './graph.js';
import { batchAgreement } from '../train/evaluation.js';
import { buildEvalGraph, buildTrainGraph, type NetworkGraphConfig, type ParamLayout, paramLayout, STEP_IO } from './train-graph.js';

/** The part of an onnxruntime tensor the executor reads. */
export interface OrtTensorLike {
  readonly dims: readonly number[];
  /** 'cpu', or where a device keeps it ('gpu-buffer'); `data` is readable on 'cpu' only. */
  readonly location?: string;
  readonly data: unknown;
  dispose?(): void;
}

export interface OrtSessionLike {
  /**
   * Runs the graph. With `fetches`, only those outputs are returned, and a tensor given
   * for an output is written in place (onnxruntime's pre-allocated outputs).
   */
  run(feeds: Record<string, OrtTensorLike>, fetches?: Record<string, OrtTensorLike | null>): Promise<Record<string, OrtTensorLike>>;
  release(): Promise<void>;
}

/** An onnxruntime build with its session settings (execution provider, threads). */
export interface OrtRuntime {
  /** e.g. "onnxruntime 1.30 · CPU · 2 threads". */
  readonly description: string;
  /** Whether graphs may use com.microsoft contrib ops (the CPU EP runs them natively). */
  readonly contribOps: boolean;
  /**
   * Whether the device keeps tensors of its own (GPU EPs): a step's new weights and
   * moments then stay there and are fed to the next step without a round trip.
   */
  readonly deviceOutputs: boolean;
  /** A session; `deviceOutputs` names outputs to leave on the device (when the runtime has one). */
  createSession(bytes: Uint8Array, options?: { deviceOutputs?: string[] }): Promise<OrtSessionLike>;
  tensor(data: Float32Array, dims: readonly number[]): OrtTensorLike;
}

function floats(t: OrtTensorLike | undefined, name: string): Float32Array {
  if (!t || !(t.data instanceof Float32Array)) throw new Error(`onnxruntime: the step returned no float32 "${name}"`);
  return t.data;
}

const onDevice = (t: OrtTensorLike) => t.location !== undefined && t.location !== 'cpu';

/** A graph that copies a flat tensor [n] to the host (onnxruntime-node cannot read a device tensor itself). */
function readBackGraph(n: number): Uint8Array {
  const g = new GraphBuilder({ contribOps: false });
  g.output(g.input('x', [n]), 'y');
  return g.encode({ graphName: 'learngene_read_back' });
}

/** Reads variables into a flat buffer by layout. */
function readWeights(params: Network['params'], layout: ParamLayout): Float32Array {
  const out = new Float32Array(layout.floats);
  for (const e of layout.entries) copyTensorInto(params.get(e.name)!, out, e.offset);
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

  get(key: string, build: () => Uint8Array, options?: { deviceOutputs?: string[] }): Promise<OrtSessionLike> {
    let session = this.sessions.get(key);
    if (session) {
      // Most recently used last, so the oldest goes first when over the limit.
      this.sessions.delete(key);
      this.sessions.set(key, session);
      return session;
    }
    session = this.runtime.createSession(build(), options);
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

/** The weights and AdamW moments of a run, as tensors on the host or on the device. */
interface StepState {
  weights: OrtTensorLike;
  adamM: OrtTensorLike;
  adamV: OrtTensorLike;
}

export class OnnxStepExecutor implements StepExecutor {
  private readonly spec: NetworkSpec;
  private readonly trainableLayout: ParamLayout;
  private readonly frozenLayout: ParamLayout | null;
  private state: StepState;
  private readonly frozenWeights: OrtTensorLike | null;
  /** Host buffers the next step writes into (CPU runtimes; swapped in when its loss is finite). */
  private spare: { weights: Float32Array; adamM: Float32Array; adamV: Float32Array } | null = null;
  private stepCount = 0;
  /** Whether the network's variables hold the current weights. */
  private networkCurrent = true;
  private readonly trainSessions: SessionCache;
  private readonly evalSessions: SessionCache;
  private readonly readBackSessions: SessionCache;

  constructor(private readonly task: ExecutorTask, private readonly runtime: OrtRuntime) {
    const spec = networkSpec(task.network);
    if (!spec) throw new Error('the ONNX executor trains only the engine\'s own network kinds (ViT, SWS/TLEG Aux-Net)');
    this.spec = spec;
    const all = [...task.network.params];
    this.trainableLayout = paramLayout(all.filter(([name]) => !task.frozen?.has(name)).map(([name, v]) => [name, v.shape]));
    const frozen = all.filter(([name]) => task.frozen?.has(name));
    this.frozenLayout = frozen.length > 0 ? paramLayout(frozen.map(([name, v]) => [name, v.shape])) : null;
    const n = this.trainableLayout.floats;
    this.state = this.hostState(readWeights(task.network.params, this.trainableLayout), new Float32Array(n), new Float32Array(n));
    this.frozenWeights = this.frozenLayout ? this.flat(readWeights(task.network.params, this.frozenLayout)) : null;
    this.trainSessions = new SessionCache(runtime);
    this.evalSessions = new SessionCache(runtime);
    this.readBackSessions = new SessionCache(runtime);
  }

  get description(): string {
    return this.runtime.description;
  }

  /** A state tensor's values on the host (copied back from the device when it lives there). */
  private async hostFloats(t: OrtTensorLike, name: string): Promise<Float32Array> {
    if (!onDevice(t)) return floats(t, name);
    const n = t.dims[0]!;
    const session = await this.readBackSessions.get(String(n), () => readBackGraph(n));
    return floats((await session.run({ x: t }))['y'], name);
  }

  private flat(data: Float32Array): OrtTensorLike {
    return this.runtime.tensor(data, [data.length]);
  }

  private hostState(weights: Float32Array, adamM: Float32Array, adamV: Float32Array): StepState {
    return { weights: this.flat(weights), adamM: this.flat(adamM), adamV: this.flat(adamV) };
  }

  /** Replaces the state, releasing device tensors of the old one. */
  private replaceState(next: StepState): void {
    for (const t of Object.values(this.state)) if (onDevice(t)) t.dispose?.();
    this.state = next;
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
    const feeds: Record<string, OrtTensorLike> = { [STEP_IO.params]: this.state.weights };
    if (this.frozenWeights) feeds[STEP_IO.frozen] = this.frozenWeights;
    return feeds;
  }

  async step({ batch, lr, dropPath, teacher }: StepInput): Promise<Record<string, number>> {
    const { optim } = this.task;
    const config = this.task.network.config;
    const r = this.runtime;
    const stateOutputs = [STEP_IO.paramsOut, STEP_IO.adamMOut, STEP_IO.adamVOut];
    const session = await this.trainSessions.get(String(batch.size), () => this.trainGraph(batch.size), r.deviceOutputs ? { deviceOutputs: stateOutputs } : undefined);
    const t = this.stepCount + 1;
    const feeds: Record<string, OrtTensorLike> = {
      ...this.weightFeeds(),
      [STEP_IO.adamM]: this.state.adamM,
      [STEP_IO.adamV]: this.state.adamV,
      [STEP_IO.images]: r.tensor(batch.images, [batch.size, config.channels, config.imageSize, config.imageSize]),
      [STEP_IO.targets]: r.tensor(smoothedTargetValues(batch.labels, config.numClasses, optim.labelSmoothing), [batch.size, config.numClasses]),
      // The same float64 arithmetic as engine/train/adamw.ts, rounded once to float32.
      [STEP_IO.stepSize]: r.tensor(Float32Array.of(lr / (1 - optim.beta1 ** t)), []),
      [STEP_IO.bias2Sqrt]: r.tensor(Float32Array.of(Math.sqrt(1 - optim.beta2 ** t)), []),
      [STEP_IO.decay]: r.tensor(Float32Array.of(1 - lr * optim.weightDecay), []),
    };
    let teacherValues: Float32Array | null = null;
    if (this.task.distilling) {
      if (!teacher) throw new Error('this executor was built for distillation but the step has no teacher');
      const logits = await teacher.logits(batch);
      teacherValues = (await logits.data()) as Float32Array;
      feeds[STEP_IO.teacherLogits] = r.tensor(teacherValues, [batch.size, config.numClasses]);
      logits.dispose();
    }
    if (config.dropPath > 0) {
      if (!dropPath) throw new Error('drop-path in training needs the step\'s scales');
      feeds[STEP_IO.dropPath] = r.tensor(dropPathValues(dropPath, batch.size), [config.depth, 2, batch.size]);
    }
    // On the host the new weights and moments go into the spare buffers (no allocation per
    // step); on a device they stay there. Either way the current state stays intact until
    // the step is known to be good.
    const n = this.trainableLayout.floats;
    const spare = r.deviceOutputs ? null : (this.spare ??= { weights: new Float32Array(n), adamM: new Float32Array(n), adamV: new Float32Array(n) });
    const out = await session.run(feeds, {
      [STEP_IO.paramsOut]: spare ? this.flat(spare.weights) : null,
      [STEP_IO.adamMOut]: spare ? this.flat(spare.adamM) : null,
      [STEP_IO.adamVOut]: spare ? this.flat(spare.adamV) : null,
      [STEP_IO.loss]: null,
      [STEP_IO.ce]: null,
      [STEP_IO.gradNorm]: null,
      [STEP_IO.logits]: null,
      ...(this.task.distilling ? { [STEP_IO.kd]: null } : {}),
    });
    const scalar = (name: string) => floats(out[name], name)[0]!;
    const losses: Record<string, number> = { total: scalar(STEP_IO.loss), ce: scalar(STEP_IO.ce) };
    if (this.task.distilling) losses.kd = scalar(STEP_IO.kd);
    const next: StepState = { weights: out[STEP_IO.paramsOut]!, adamM: out[STEP_IO.adamMOut]!, adamV: out[STEP_IO.adamVOut]! };
    if (!Number.isFinite(losses.total)) {
      for (const tensor of Object.values(next)) if (onDevice(tensor)) tensor.dispose?.();
      return losses;
    }
    losses.gradNorm = scalar(STEP_IO.gradNorm);
    Object.assign(losses, batchAgreement(floats(out[STEP_IO.logits], STEP_IO.logits), batch.labels, teacherValues, config.numClasses));
    if (spare) {
      const current = this.state;
      this.spare = { weights: floats(current.weights, 'params'), adamM: floats(current.adamM, 'adam_m'), adamV: floats(current.adamV, 'adam_v') };
      this.replaceState(this.hostState(spare.weights, spare.adamM, spare.adamV));
    } else {
      this.replaceState(next);
    }
    this.stepCount = t;
    this.networkCurrent = false;
    return losses;
  }

  async optimizerState(): Promise<TensorMap> {
    const m = await this.hostFloats(this.state.adamM, 'adam_m');
    const v = await this.hostFloats(this.state.adamV, 'adam_v');
    const out: TensorMap = new Map();
    for (const e of this.trainableLayout.entries) out.set(`adam_m.${e.name}`, { shape: e.shape.slice(), data: m.slice(e.offset, e.offset + e.size) });
    for (const e of this.trainableLayout.entries) out.set(`adam_v.${e.name}`, { shape: e.shape.slice(), data: v.slice(e.offset, e.offset + e.size) });
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
    this.replaceState(this.hostState(readWeights(this.task.network.params, this.trainableLayout), m, v));
    this.stepCount = step;
    this.networkCurrent = true;
  }

  async syncWeights(): Promise<void> {
    if (this.networkCurrent) return;
    const weights = await this.hostFloats(this.state.weights, 'params');
    tf.tidy(() => {
      for (const e of this.trainableLayout.entries) {
        const variable = this.task.network.params.get(e.name)!;
        variable.assign(tf.tensor(weights.subarray(e.offset, e.offset + e.size), e.shape));
      }
    });
    this.networkCurrent = true;
  }

  logits(network: Network, batch: Batch): Promise<Float32Array> | null {
    if (network !== this.task.network) return null;
    return runEval(this.evalSessions, this.runtime, this.graphConfig(batch.size), this.weightFeeds(), batch);
  }

  dispose(): void {
    for (const t of Object.values(this.state)) if (onDevice(t)) t.dispose?.();
    this.trainSessions.clear();
    this.evalSessions.clear();
    this.readBackSessions.clear();
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
