// The compute service a compute host runs: the same engine (networks, losses, the
// Trainer's gradient code, AdamW) on whatever tfjs backend the host has — WebGPU in a
// Chromium page or a hidden Electron window. Hosts reach it through `call(method,
// args)` with plain data (typed arrays for tensors); the transports (Playwright in
// node/compute/, IPC in main/compute-window.ts) only move those messages.
//
// Two ways to train through it:
//   - 'gradients': weights + batch in, loss + gradients out (the Node Trainer keeps the
//     weights and AdamW; node/compute/gradients.ts is that GradientComputer);
//   - 'train': whole steps in the host (AdamW here too), weights returned on request.
// Isomorphic: no Node, no DOM beyond what tfjs itself uses.

import * as tf from '@tensorflow/tfjs-core';
import '../gradients.js';
import type { DistillLossConfig, OptimConfig } from '../../shared/config.js';
import { convertImages, type PixelFormat } from '../data/convert.js';
import { networkFromSpec, type NetworkSpec } from '../model/spec.js';
import { type DropPathScales, forward, type Network, type Params } from '../model/vit.js';
import { AdamW, clipGradients } from '../train/adamw.js';
import { lossAndGradients, stepDropPath } from '../train/gradients.js';

/** Tensors by name as plain data. */
export type WireTensors = Record<string, { shape: number[]; data: Float32Array }>;

export interface OpenArgs {
  session: string;
  spec: NetworkSpec;
  weights: WireTensors;
  /** Names to differentiate (default: every parameter). */
  trainable?: string[];
  teacher?: { spec: NetworkSpec; weights: WireTensors; from: PixelFormat; to: PixelFormat } | null;
}

export interface GradientsArgs {
  session: string;
  /** Weights that changed since the last call (any subset). */
  weights?: WireTensors;
  images: Float32Array;
  labels: Int32Array;
  size: number;
  dropPath: DropPathScales | null;
  /** Teacher logits [size·K]; or null with runTeacher to use the host's teacher replica. */
  teacherLogits: Float32Array | null;
  runTeacher?: boolean;
  labelSmoothing: number;
  distill: DistillLossConfig & { reduction?: 'batchmean' | 'numel' };
}

export interface TrainArgs {
  session: string;
  optim: OptimConfig;
  seed: number;
  distill?: DistillLossConfig & { reduction?: 'batchmean' | 'numel' };
  steps: { images: Float32Array; labels: Int32Array; size: number; lr: number; globalStep: number }[];
}

export interface ComputeInfo {
  backend: string;
  /** The WebGPU adapter, when the backend is webgpu. */
  adapter: { vendor: string; architecture: string; description: string; fallback: boolean } | null;
}

interface Session {
  network: Network;
  trainable: Map<string, tf.Variable>;
  teacher: { network: Network; from: PixelFormat; to: PixelFormat } | null;
  optimizer: AdamW | null;
}

function toParams(weights: WireTensors): Params {
  const params: Params = new Map();
  for (const [name, t] of Object.entries(weights)) params.set(name, tf.variable(tf.tensor(t.data, t.shape), true));
  return params;
}

async function fromVariables(entries: Iterable<[string, tf.Tensor]>): Promise<WireTensors> {
  const out: WireTensors = {};
  for (const [name, t] of entries) out[name] = { shape: t.shape.slice(), data: (await t.data()) as Float32Array };
  return out;
}

export class ComputeService {
  private readonly sessions = new Map<string, Session>();
  adapter: ComputeInfo['adapter'] = null;

  async call(method: string, args: unknown): Promise<unknown> {
    switch (method) {
      case 'info':
        return { backend: tf.getBackend(), adapter: this.adapter } satisfies ComputeInfo;
      case 'open':
        return this.open(args as OpenArgs);
      case 'gradients':
        return this.gradients(args as GradientsArgs);
      case 'train':
        return this.train(args as TrainArgs);
      case 'state':
        return this.state((args as { session: string }).session);
      case 'logits':
        return this.logits(args as { session: string; images: Float32Array; size: number; weights?: WireTensors });
      case 'close':
        this.close((args as { session: string }).session);
        return null;
      default:
        throw new Error(`compute service: unknown method "${method}"`);
    }
  }

  private session(id: string): Session {
    const s = this.sessions.get(id);
    if (!s) throw new Error(`compute service: no session "${id}"`);
    return s;
  }

  private open(args: OpenArgs): null {
    this.close(args.session);
    const params = toParams(args.weights);
    const network = networkFromSpec(args.spec, params);
    const names = args.trainable ?? [...params.keys()];
    const trainable = new Map(names.map((n) => [n, params.get(n)!] as const));
    const teacher = args.teacher
      ? { network: networkFromSpec(args.teacher.spec, toParams(args.teacher.weights)), from: args.teacher.from, to: args.teacher.to }
      : null;
    this.sessions.set(args.session, { network, trainable, teacher, optimizer: null });
    return null;
  }

  private assign(session: Session, weights: WireTensors | undefined): void {
    // In a tidy: the temporary tensor given to assign is disposed (the variable keeps the data).
    tf.tidy(() => {
      for (const [name, t] of Object.entries(weights ?? {})) {
        const v = session.network.params.get(name);
        if (!v) throw new Error(`compute service: the network has no parameter "${name}"`);
        v.assign(tf.tensor(t.data, t.shape));
      }
    });
  }

  private teacherLogits(session: Session, images: Float32Array, size: number): tf.Tensor2D {
    const t = session.teacher;
    if (!t) throw new Error('compute service: this session has no teacher');
    const converted = convertImages(images, size, t.from, t.to);
    const { channels, imageSize } = t.network.config;
    return tf.tidy(() => forward(t.network, tf.tensor4d(converted, [size, channels, imageSize, imageSize]), { training: false }));
  }

  private async gradients(args: GradientsArgs): Promise<{ losses: Record<string, number>; grads: WireTensors }> {
    const s = this.session(args.session);
    this.assign(s, args.weights);
    const teacherTensor = args.teacherLogits
      ? tf.tensor2d(args.teacherLogits, [args.size, args.teacherLogits.length / args.size])
      : args.runTeacher ? this.teacherLogits(s, args.images, args.size) : null;
    try {
      const { losses, grads } = await lossAndGradients({
        network: s.network,
        trainable: s.trainable,
        batch: { images: args.images, labels: args.labels, size: args.size },
        dropPath: args.dropPath,
        teacherLogits: teacherTensor,
        labelSmoothing: args.labelSmoothing,
        distill: args.distill,
      });
      const wire = await fromVariables(grads);
      tf.dispose([...grads.values()]);
      return { losses, grads: wire };
    } finally {
      teacherTensor?.dispose();
    }
  }

  /** Whole training steps here: gradients, clipping and AdamW, as Trainer.trainStep. */
  private async train(args: TrainArgs): Promise<{ losses: Record<string, number>[] }> {
    const s = this.session(args.session);
    const { optim } = args;
    s.optimizer ??= new AdamW(s.trainable, { beta1: optim.beta1, beta2: optim.beta2, eps: optim.eps, weightDecay: optim.weightDecay });
    const out: Record<string, number>[] = [];
    for (const step of args.steps) {
      const teacherTensor = s.teacher ? this.teacherLogits(s, step.images, step.size) : null;
      const { losses, grads } = await lossAndGradients({
        network: s.network,
        trainable: s.trainable,
        batch: { images: step.images, labels: step.labels, size: step.size },
        dropPath: stepDropPath(s.network, args.seed, step.globalStep, step.size),
        teacherLogits: teacherTensor,
        labelSmoothing: optim.labelSmoothing,
        distill: args.distill ?? { alpha: 1, tau: 1 },
      });
      teacherTensor?.dispose();
      if (!Number.isFinite(losses.total)) {
        tf.dispose([...grads.values()]);
        out.push(losses);
        break;
      }
      const { grads: clipped, norm } = clipGradients(grads, optim.clipGradNorm);
      losses.gradNorm = (await norm.data())[0]!;
      norm.dispose();
      s.optimizer.apply(clipped, step.lr);
      tf.dispose([...clipped.values()]);
      out.push(losses);
    }
    return { losses: out };
  }

  private async state(id: string): Promise<{ weights: WireTensors; optimizer: WireTensors | null; step: number }> {
    const s = this.session(id);
    const weights = await fromVariables(s.network.params);
    const optimizer: WireTensors | null = s.optimizer ? {} : null;
    if (s.optimizer && optimizer) for (const [name, t] of s.optimizer.stateTensors()) optimizer[name] = t;
    return { weights, optimizer, step: s.optimizer?.step ?? 0 };
  }

  private async logits(args: { session: string; images: Float32Array; size: number; weights?: WireTensors }): Promise<Float32Array> {
    const s = this.session(args.session);
    this.assign(s, args.weights);
    const { channels, imageSize } = s.network.config;
    const out = tf.tidy(() => forward(s.network, tf.tensor4d(args.images, [args.size, channels, imageSize, imageSize]), { training: false }));
    const values = (await out.data()) as Float32Array;
    out.dispose();
    return values;
  }

  private close(id: string): void {
    const s = this.sessions.get(id);
    if (!s) return;
    for (const v of s.network.params.values()) v.dispose();
    if (s.teacher) for (const v of s.teacher.network.params.values()) v.dispose();
    s.optimizer?.dispose();
    this.sessions.delete(id);
  }
}
