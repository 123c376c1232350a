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
import { forward, type Network } from '../model/vit.js';
import { AdamW, clipGradients } from './adamw.js';
import { learningRateAt, type Schedule } from './schedule.js';
import { crossEntropy } from './loss.js';
import { defaultGradientComputer, type GradientComputer, stepDropPath } from './gradients.js';

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
  /** After each epoch's evaluation. */
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
   * How steps get their gradients (engine/train/gradients.ts). Default: the host's
   * default strategy (data-parallel workers where installed and faster), else local.
   * A strategy given here belongs to the caller; a default one to the Trainer.
   */
  gradients?: GradientComputer;
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
 * A training session: owns the optimizer so a caller can checkpoint `optimizer` state
 * and `position` from its hooks, and resume with `restore`.
 */
export class Trainer {
  readonly optimizer: AdamW;
  position: TrainPosition = { epoch: 0, step: 0, globalStep: 0, history: [] };
  /** The gradient strategy in use. */
  readonly gradients: GradientComputer;
  private readonly ownsGradients: boolean;
  private readonly trainable: Map<string, tf.Variable>;

  constructor(readonly task: TrainTask) {
    this.gradients = task.gradients ?? defaultGradientComputer(task.network);
    this.ownsGradients = !task.gradients;
    this.trainable = new Map([...task.network.params].filter(([name]) => !task.frozen?.has(name)));
    this.optimizer = new AdamW(this.trainable, {
      beta1: task.optim.beta1,
      beta2: task.optim.beta2,
      eps: task.optim.eps,
      weightDecay: task.optim.weightDecay,
    });
  }

  /** Continues from a checkpoint: position and optimizer moments (weights are set by the caller). */
  restore(position: TrainPosition, optimizerState: Parameters<AdamW['loadState']>[0]): void {
    this.position = structuredClone(position);
    this.optimizer.loadState(optimizerState, position.globalStep);
  }

  /** One optimizer step on a batch; returns the loss parts as numbers. */
  async trainStep(batch: Batch, lr: number): Promise<Record<string, number>> {
    const { network, optim, distill, teacher, seed } = this.task;
    const { losses, grads } = await this.gradients.compute({
      network,
      trainable: this.trainable,
      batch,
      dropPath: stepDropPath(network, seed, this.position.globalStep, batch.size),
      teacher: teacher ?? null,
      labelSmoothing: optim.labelSmoothing,
      distill: distill ?? { alpha: 1, tau: 1 },
    });
    if (!Number.isFinite(losses.total)) {
      tf.dispose([...grads.values()]);
      throw new NonFiniteLossError(this.task.phase, this.position.epoch, this.position.step, losses.total!);
    }
    const { grads: clipped, norm } = clipGradients(grads, optim.clipGradNorm);
    losses.gradNorm = (await norm.data())[0]!;
    norm.dispose();
    this.optimizer.apply(clipped, lr);
    tf.dispose([...clipped.values()]);
    return losses;
  }

  /** Runs from `position` to the end of the last epoch (or until a hook says stop). */
  async run(): Promise<TrainResult> {
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
        const losses = await this.trainStep(batch, lr);
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
      const val = task.val ? await evaluate(task.network, task.val, this.gradients) : null;
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
      if ((await hooks?.afterEpoch?.(this.position, record)) === 'stop') {
        return { position: this.position, history: this.position.history, stopped: true };
      }
    }
    return { position: this.position, history: this.position.history, stopped: false };
  }

  dispose(): void {
    this.optimizer.dispose();
    if (this.ownsGradients) this.gradients.dispose();
  }
}

/**
 * Top-1 / top-5 accuracy (fractions) and mean cross-entropy over a whole source. With a
 * gradient strategy that can spread inference (`logits`), the forward passes run there.
 */
export async function evaluate(network: Network, source: BatchSource, strategy?: Pick<GradientComputer, 'logits'>): Promise<EvalMetrics> {
  let lossSum = 0;
  let top1 = 0;
  let top5 = 0;
  let n = 0;
  const { channels, imageSize, numClasses } = network.config;
  for (let step = 0; step < source.stepsPerEpoch; step++) {
    const batch = await source.batch(0, step);
    let values: Float32Array;
    if (strategy?.logits) {
      values = await strategy.logits(network, batch);
    } else {
      const logits = tf.tidy(() => forward(network, tf.tensor4d(batch.images, [batch.size, channels, imageSize, imageSize]), { training: false }));
      values = (await logits.data()) as Float32Array;
      logits.dispose();
    }
    const loss = tf.tidy(() => crossEntropy(tf.tensor2d(values, [batch.size, numClasses]), batch.labels));
    lossSum += (await loss.data())[0]! * batch.size;
    loss.dispose();
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
