// The one training loop: teachers, Aux-Nets (SWS or TLEG) and descendants all train
// here; they differ only in the Network they pass and whether a teacher is given.
// The loop is resumable at any step boundary: batches and random draws are pure
// functions of (seed, epoch, step), so (weights, optimizer moments, position) is the
// whole state.

import * as tf from '@tensorflow/tfjs-core';
import '../gradients.js';
import type { DistillLossConfig, OptimConfig } from '../../shared/config.js';
import type { EngineEvent, EvalMetrics } from '../../shared/events.js';
import type { EpochRecord } from '../../shared/results.js';

export type { EpochRecord };
import type { Batch } from '../data/types.js';
import type { TensorMap } from '../io/safetensors.js';
import { forward, type Network } from '../model/vit.js';
import { learningRateAt, type Schedule } from './schedule.js';
import { crossEntropy } from './loss.js';
import { stepDropPath } from './gradients.js';
import { createStepExecutor, hostLogits, type StepExecutor } from './executor.js';

/** Batches by (epoch, step); the order within an epoch is fixed by the source's seed. */
export interface BatchSource {
  readonly stepsPerEpoch: number;
  readonly batchSize: number;
  batch(epoch: number, step: number): Promise<Batch>;
}

/** Anything that maps a batch of (student-preprocessed) images to logits. */
export interface Teacher {
  readonly numClasses: number;
  /** Logits [B, K]; the caller disposes the tensor. */
  logits(batch: Batch): Promise<tf.Tensor2D>;
}

/** Where a run stands; with the weights and optimizer moments, all a resume needs. */
export interface TrainPosition {
  epoch: number;
  /** Next step to run within `epoch`. */
  step: number;
  /** Optimizer steps taken so far. */
  globalStep: number;
  history: EpochRecord[];
}


export interface TrainHooks {
  emit?(event: EngineEvent): void;
  /** After every optimizer step; may checkpoint. Return 'stop' to end the run early (cancel). */
  afterStep?(position: TrainPosition): Promise<void | 'stop'>;
  /** After each epoch's evaluation (the network's variables then hold the current weights). */
  afterEpoch?(position: TrainPosition, record: EpochRecord): Promise<void | 'stop'>;
}

export interface TrainTask {
  /** Shown in progress, e.g. "teacher", "aux-net", "sws depth 4". */
  phase: string;
  network: Network;
  train: BatchSource;
  val: BatchSource | null;
  optim: OptimConfig;
  seed: number;
  teacher?: Teacher | null;
  distill?: DistillLossConfig & { reduction?: 'batchmean' | 'numel' };
  /** Names of parameters to keep fixed (all others train). */
  frozen?: Set<string>;
  hooks?: TrainHooks;
  /** Monotonic clock in ms (performance.now in both Node and pages). */
  now?: () => number;
  /**
   * How steps run (engine/train/executor.ts). Default: the host's default executor
   * (onnxruntime where installed), else tfjs. An executor given here belongs to the caller.
   */
  executor?: StepExecutor;
}

export interface TrainResult {
  position: TrainPosition;
  history: EpochRecord[];
  stopped: boolean;
}

/** The loss was NaN or infinite: the step was not applied, the weights are the last good ones. */
export class NonFiniteLossError extends Error {
  constructor(readonly phase: string, readonly epoch: number, readonly step: number, readonly value: number) {
    super(`${phase}: loss became ${value} at epoch ${epoch + 1}, step ${step + 1}; stopped before applying it (try a lower --lr or gradient clipping)`);
    this.name = 'NonFiniteLossError';
  }
}

export function scheduleFor(optim: OptimConfig, stepsPerEpoch: number): Schedule {
  return {
    lr: optim.lr,
    minLr: Math.min(optim.minLr, optim.lr),
    warmupSteps: Math.round(optim.warmupEpochs * stepsPerEpoch),
    totalSteps: optim.epochs * stepsPerEpoch,
  };
}

/**
 * A training session: owns the step executor (optimizer state, and for graph executors
 * the live weights) so a caller can checkpoint `weights()` / `optimizerState()` and
 * `position` from its hooks, and resume with `restore`.
 */
export class Trainer {
  position: TrainPosition = { epoch: 0, step: 0, globalStep: 0, history: [] };
  /** What runs the steps. */
  readonly executor: StepExecutor;
  private readonly ownsExecutor: boolean;

  constructor(readonly task: TrainTask) {
    const executorTask = {
      network: task.network,
      optim: task.optim,
      distill: task.distill ?? { alpha: 1, tau: 1 },
      distilling: Boolean(task.teacher),
      ...(task.frozen ? { frozen: task.frozen } : {}),
    };
    this.ownsExecutor = !task.executor;
    this.executor = task.executor ?? createStepExecutor(executorTask);
  }

  /** Continues from a checkpoint: position and optimizer moments (weights are set in the network by the caller first). */
  restore(position: TrainPosition, optimizerState: TensorMap): void {
    this.position = structuredClone(position);
    this.executor.restore(optimizerState, position.globalStep);
  }

  /** The current weights, by parameter name (the network's variables, brought up to date). */
  async weights(): Promise<Network['params']> {
    await this.executor.syncWeights();
    return this.task.network.params;
  }

  /** AdamW moments as `adam_m.<param>` / `adam_v.<param>`. */
  optimizerState(): Promise<TensorMap> {
    return this.executor.optimizerState();
  }

  /** One optimizer step on a batch; returns the loss parts as numbers. */
  async trainStep(batch: Batch, lr: number): Promise<Record<string, number>> {
    const { network, teacher, seed } = this.task;
    const losses = await this.executor.step({
      batch,
      lr,
      dropPath: stepDropPath(network, seed, this.position.globalStep, batch.size),
      teacher: teacher ?? null,
    });
    if (!Number.isFinite(losses.total)) {
      throw new NonFiniteLossError(this.task.phase, this.position.epoch, this.position.step, losses.total!);
    }
    return losses;
  }

  /** Runs from `position` to the end of the last epoch (or until a hook says stop); the network then holds the weights. */
  async run(): Promise<TrainResult> {
    try {
      return await this.runSteps();
    } finally {
      await this.executor.syncWeights();
    }
  }

  private async runSteps(): Promise<TrainResult> {
    const { task } = this;
    const { optim, train, hooks } = task;
    const now = task.now ?? (() => performance.now());
    const schedule = scheduleFor(optim, train.stepsPerEpoch);
    const totalSteps = optim.epochs * train.stepsPerEpoch;
    let recentStart = now();
    let recentImages = 0;
    let stepsDoneThisSession = 0;
    const sessionStart = now();
    while (this.position.epoch < optim.epochs) {
      const epoch = this.position.epoch;
      const epochStart = now();
      let lossSum = 0;
      let lossCount = 0;
      while (this.position.step < train.stepsPerEpoch) {
        const step = this.position.step;
        const batch = await train.batch(epoch, step);
        const lr = learningRateAt(schedule, this.position.globalStep);
        const { trainTop1, agreement, ...losses } = await this.trainStep(batch, lr);
        lossSum += losses.total!;
        lossCount += 1;
        this.position.step += 1;
        this.position.globalStep += 1;
        stepsDoneThisSession += 1;
        recentImages += batch.size;
        const elapsed = (now() - recentStart) / 1000;
        const imagesPerSec = elapsed > 0 ? recentImages / elapsed : 0;
        const secondsPerStep = (now() - sessionStart) / 1000 / stepsDoneThisSession;
        hooks?.emit?.({
          type: 'step',
          phase: task.phase,
          epoch,
          epochs: optim.epochs,
          step,
          stepsPerEpoch: train.stepsPerEpoch,
          losses,
          lr,
          ...(trainTop1 !== undefined ? { trainTop1 } : {}),
          ...(agreement !== undefined ? { agreement } : {}),
          imagesPerSec,
          etaSeconds: secondsPerStep * (totalSteps - this.position.globalStep),
        });
        if (elapsed > 10) {
          recentStart = now();
          recentImages = 0;
        }
        if ((await hooks?.afterStep?.(this.position)) === 'stop') {
          return { position: this.position, history: this.position.history, stopped: true };
        }
      }
      const val = task.val ? await evaluate(task.network, task.val, (network, batch) => this.executor.logits(network, batch)) : null;
      const record: EpochRecord = {
        epoch,
        trainLoss: lossCount > 0 ? lossSum / lossCount : NaN,
        val,
        seconds: (now() - epochStart) / 1000,
      };
      this.position.history.push(record);
      this.position.epoch += 1;
      this.position.step = 0;
      if (val) {
        hooks?.emit?.({ type: 'epoch', phase: task.phase, epoch, epochs: optim.epochs, trainLoss: record.trainLoss, val, seconds: record.seconds });
      }
      // At epoch ends the network's variables hold the weights (cheap once an epoch), so
      // hooks and callers that read `network.params` there see the epoch's model.
      await this.executor.syncWeights();
      if ((await hooks?.afterEpoch?.(this.position, record)) === 'stop') {
        return { position: this.position, history: this.position.history, stopped: true };
      }
    }
    return { position: this.position, history: this.position.history, stopped: false };
  }

  /** Ends the session (after `run`, the network holds the final weights). */
  dispose(): void {
    if (this.ownsExecutor) this.executor.dispose();
  }
}

/** Inference logits [B·K] of a network for a batch somewhere faster than tfjs here; null: not available. */
export type LogitsSource = (network: Network, batch: Batch) => Promise<Float32Array> | null;

/**
 * Top-1 / top-5 accuracy (fractions) and mean cross-entropy over a whole source. The
 * forward passes run where `runLogits` runs them (e.g. the training executor's device),
 * else where the host runs inference (onnxruntime), else in tfjs here. `observe` sees
 * every batch's logits [B·K] (engine/train/evaluation.ts tallies confusions from them).
 */
export async function evaluate(network: Network, source: BatchSource, runLogits?: LogitsSource, observe?: (logits: Float32Array, batch: Batch) => void): Promise<EvalMetrics> {
  let lossSum = 0;
  let top1 = 0;
  let top5 = 0;
  let n = 0;
  const { channels, imageSize, numClasses } = network.config;
  for (let step = 0; step < source.stepsPerEpoch; step++) {
    const batch = await source.batch(0, step);
    const elsewhere = runLogits?.(network, batch) ?? hostLogits(network, batch);
    let values: Float32Array;
    if (elsewhere) {
      values = await elsewhere;
    } else {
      const logits = tf.tidy(() => forward(network, tf.tensor4d(batch.images, [batch.size, channels, imageSize, imageSize]), { training: false }));
      values = (await logits.data()) as Float32Array;
      logits.dispose();
    }
    const loss = tf.tidy(() => crossEntropy(tf.tensor2d(values, [batch.size, numClasses]), batch.labels));
    lossSum += (await loss.data())[0]! * batch.size;
    loss.dispose();
    observe?.(values, batch);
    const counts = topKHits(values, batch.labels, numClasses);
    top1 += counts.top1;
    top5 += counts.top5;
    n += batch.size;
  }
  return { loss: n > 0 ? lossSum / n : NaN, top1: n > 0 ? top1 / n : 0, top5: n > 0 ? top5 / n : 0, n };
}

/** Counts samples whose label is the arg-max (top1) or among the 5 largest logits (top5). */
export function topKHits(logits: Float32Array, labels: Int32Array, numClasses: number): { top1: number; top5: number } {
  let top1 = 0;
  let top5 = 0;
  for (let i = 0; i < labels.length; i++) {
    const row = logits.subarray(i * numClasses, (i + 1) * numClasses);
    const target = row[labels[i]!]!;
    let greater = 0;
    let greaterOrEarlierTie = 0;
    for (let k = 0; k < numClasses; k++) {
      if (row[k]! > target) greater++;
      if (row[k]! > target || (row[k] === target && k < labels[i]!)) greaterOrEarlierTie++;
    }
    if (greaterOrEarlierTie === 0) top1++;
    if (greater < 5) top5++;
  }
  return { top1, top5 };
}
