// How the Trainer runs optimizer steps: a StepExecutor owns the optimizer state (and,
// for graph executors, the live copy of the weights) and applies whole steps. Two kinds:
//  - TfjsStepExecutor: tfjs autodiff on the active tfjs backend (engine/train/gradients.ts),
//    then global-norm clipping and AdamW as tfjs ops; the weights are the network's
//    variables themselves. The fallback, and the parity oracle in tests.
//  - OnnxStepExecutor (engine/onnx/executor.ts): forward, backward, loss, clipping and
//    AdamW in one ONNX graph run by onnxruntime; weights and moments in flat buffers,
//    written back into the network's variables when someone needs them (`syncWeights`).
// A host installs the default (node/backends.ts: onnxruntime where it loads).
// Isomorphic: no Node imports here.

import * as tf from '@tensorflow/tfjs-core';
import type { DistillLossConfig, OptimConfig } from '../../shared/config.js';
import type { Batch } from '../data/types.js';
import type { TensorMap } from '../io/safetensors.js';
import type { DropPathScales, Network } from '../model/vit.js';
import { AdamW, clipGradients } from './adamw.js';
import { lossAndGradients, type TeacherLike } from './gradients.js';

/** What an executor is built for: the network, what of it trains, and the loss/optimizer settings. */
export interface ExecutorTask {
  network: Network;
  optim: OptimConfig;
  distill: DistillLossConfig & { reduction?: 'batchmean' | 'numel' };
  /** Whether a teacher is given (distillation) — graph executors build the KD term only then. */
  distilling: boolean;
  /** Names of parameters to keep fixed (all others train). */
  frozen?: Set<string>;
}

export interface StepInput {
  batch: Batch;
  lr: number;
  /** Drop-path scales for the whole batch, or null when the net has none. */
  dropPath: DropPathScales | null;
  teacher: TeacherLike | null;
}

export interface StepExecutor {
  /** Short description for logs and events ("onnxruntime · CPU · 2 threads", "tfjs wasm · local"). */
  readonly description: string;
  /**
   * One optimizer step. Returns the loss parts (total, ce, kd when distilling, gradNorm).
   * When the loss is not finite nothing is applied (weights and moments stay the last good ones).
   */
  step(input: StepInput): Promise<Record<string, number>>;
  /** AdamW moments as `adam_m.<param>` / `adam_v.<param>` tensors, for checkpoints. */
  optimizerState(): Promise<TensorMap>;
  /** Continues from a checkpoint: moments and step count; the weights are re-read from the network. */
  restore(optimizer: TensorMap, step: number): void;
  /** Makes the network's variables hold the current weights (checkpoints, evaluation, the end of a run). */
  syncWeights(): Promise<void>;
  /** Inference logits [B·K] of the network at its current weights where the executor runs them; null: not here. */
  logits(network: Network, batch: Batch): Promise<Float32Array> | null;
  dispose(): void;
}

/** The tfjs executor: gradients by tfjs autodiff on the active backend, then clipping and AdamW. */
export class TfjsStepExecutor implements StepExecutor {
  readonly optimizer: AdamW;
  private readonly trainable: Map<string, tf.Variable>;

  constructor(private readonly task: ExecutorTask) {
    this.trainable = new Map([...task.network.params].filter(([name]) => !task.frozen?.has(name)));
    this.optimizer = new AdamW(this.trainable, {
      beta1: task.optim.beta1,
      beta2: task.optim.beta2,
      eps: task.optim.eps,
      weightDecay: task.optim.weightDecay,
    });
  }

  get description(): string {
    return `tfjs ${tf.getBackend()} · one thread`;
  }

  async step({ batch, lr, dropPath, teacher }: StepInput): Promise<Record<string, number>> {
    const { network, optim, distill } = this.task;
    const teacherLogits = teacher ? await teacher.logits(batch) : null;
    let result;
    try {
      result = await lossAndGradients({
        network,
        trainable: this.trainable,
        batch,
        dropPath,
        teacherLogits,
        labelSmoothing: optim.labelSmoothing,
        distill,
      });
    } finally {
      teacherLogits?.dispose();
    }
    const { losses, grads } = result;
    if (!Number.isFinite(losses.total)) {
      tf.dispose([...grads.values()]);
      return losses;
    }
    const { grads: clipped, norm } = clipGradients(grads, optim.clipGradNorm);
    losses.gradNorm = (await norm.data())[0]!;
    norm.dispose();
    this.optimizer.apply(clipped, lr);
    tf.dispose([...clipped.values()]);
    return losses;
  }

  async optimizerState(): Promise<TensorMap> {
    return this.optimizer.stateTensors();
  }

  restore(optimizer: TensorMap, step: number): void {
    this.optimizer.loadState(optimizer, step);
  }

  async syncWeights(): Promise<void> {
    // The variables are the weights.
  }

  logits(): Promise<Float32Array> | null {
    // tfjs in this thread: the evaluation's own forward pass.
    return null;
  }

  dispose(): void {
    this.optimizer.dispose();
  }
}

/** Chooses the executor for a Trainer that was not given one; null: the tfjs executor. */
export type StepExecutorFactory = (task: ExecutorTask) => StepExecutor | null;

let defaultFactory: StepExecutorFactory | null = null;

export function setDefaultStepExecutor(factory: StepExecutorFactory | null): void {
  defaultFactory = factory;
}

export function createStepExecutor(task: ExecutorTask): StepExecutor {
  return defaultFactory?.(task) ?? new TfjsStepExecutor(task);
}

/** Inference logits of a network outside training, where the host runs them fastest (null: tfjs here). */
export type LogitsRunner = (network: Network, batch: Batch) => Promise<Float32Array> | null;

let defaultLogits: LogitsRunner | null = null;

export function setDefaultLogitsRunner(runner: LogitsRunner | null): void {
  defaultLogits = runner;
}

export function hostLogits(network: Network, batch: Batch): Promise<Float32Array> | null {
  return defaultLogits?.(network, batch) ?? null;
}
