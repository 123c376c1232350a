// The training half of `npm run bench:sws` that the job functions do not cover:
//  - the development split: a validation set held out of the training images, written
//    as an IDX folder whose t10k-* files ARE that validation set, so every job trained on
//    it (teacher, Aux-Nets) reports validation, never test, numbers;
//  - fine-tuning trials that read the validation split once at the end and keep the
//    weights after epoch 1 and at the end, so the test split is read later, once per
//    snapshot, and only for the trials a choice on validation kept;
//  - scratch runs to a target accuracy, validated every fraction of an epoch.
// Every trial is a folder with trial.json (+ snapshots): a rerun reuses finished trials.

import { existsSync, promises as fs } from 'node:fs';
import path from 'node:path';
import type { OptimConfig, ViTConfig } from '../../shared/config.js';
import type { EvalMetrics } from '../../shared/events.js';
import { decodeSafetensors, encodeSafetensors } from '../../engine/io/safetensors.js';
import { evaluate, NonFiniteLossError, topKHits, Trainer, type BatchSource, type Teacher } from '../../engine/train/loop.js';
import { disposeParams, paramsFromTensors, tensorsFromParams, VisionTransformer, vitParamShapes, type Network } from '../../engine/model/vit.js';
import { selectIndices } from '../../engine/data/pipeline.js';
import { encodeIdx, FASHION_MNIST_CLASSES, findIdxFiles, readIdxPair } from '../data/idx.js';
import { writeFileAtomic, writeJsonAtomic } from '../fs/atomic.js';
import type { ScratchToTargetRun } from './sws-report.js';

// ------------------------------------------------------------------ development split

export interface DevSplit {
  /** The IDX folder: train-* = the pool (training images minus validation), t10k-* = validation. */
  dir: string;
  poolImages: number;
  valImages: number;
  /** Indices into the original training split. */
  valIndices: number[];
}

/**
 * Holds `valPerClass` images of every class out of `sourceDir`'s training split (a seeded,
 * class-balanced choice) and writes the rest as the pool. The test split is not copied:
 * nothing trained on the folder can see it.
 */
export async function writeDevSplit(sourceDir: string, targetDir: string, valPerClass: number, seed: number): Promise<DevSplit> {
  const files = await findIdxFiles(sourceDir);
  if (!files) throw new Error(`${sourceDir}: no IDX training files`);
  const pair = await readIdxPair(files.trainImages, files.trainLabels);
  const labels = Int32Array.from(pair.labels);
  const val = selectIndices(labels, { perClass: valPerClass, seed });
  const isVal = new Uint8Array(labels.length);
  for (const i of val) isVal[i] = 1;
  const pool: number[] = [];
  for (let i = 0; i < labels.length; i++) if (!isVal[i]) pool.push(i);
  const manifest = path.join(targetDir, 'split.json');
  const summary = { source: path.resolve(sourceDir), valPerClass, seed, poolImages: pool.length, valImages: val.length };
  if (existsSync(manifest)) {
    const previous = JSON.parse(await fs.readFile(manifest, 'utf8')) as typeof summary;
    if (JSON.stringify(previous) === JSON.stringify(summary)) return { dir: targetDir, poolImages: pool.length, valImages: val.length, valIndices: [...val] };
  }
  const size = pair.height * pair.width;
  const gather = (indices: ArrayLike<number>) => {
    const pixels = new Uint8Array(indices.length * size);
    const picked = new Uint8Array(indices.length);
    for (let k = 0; k < indices.length; k++) {
      const i = indices[k]!;
      pixels.set(pair.images.data.subarray(i * size, (i + 1) * size), k * size);
      picked[k] = pair.labels[i]!;
    }
    return { pixels, labels: picked };
  };
  await fs.mkdir(targetDir, { recursive: true });
  for (const [prefix, indices] of [['train', pool], ['t10k', val]] as const) {
    const { pixels, labels: picked } = gather(indices);
    await writeFileAtomic(path.join(targetDir, `${prefix}-images-idx3-ubyte`), encodeIdx([indices.length, pair.height, pair.width], pixels));
    await writeFileAtomic(path.join(targetDir, `${prefix}-labels-idx1-ubyte`), encodeIdx([indices.length], picked));
  }
  const maxLabel = labels.reduce((a, b) => Math.max(a, b), 0);
  const names = maxLabel + 1 === FASHION_MNIST_CLASSES.length && /fashion/i.test(sourceDir) ? FASHION_MNIST_CLASSES : Array.from({ length: maxLabel + 1 }, (_, i) => String(i));
  await writeFileAtomic(path.join(targetDir, 'classes.txt'), names.join('\n') + '\n');
  await writeJsonAtomic(manifest, summary);
  return { dir: targetDir, poolImages: pool.length, valImages: val.length, valIndices: [...val] };
}

// ------------------------------------------------------------------ snapshots

async function saveSnapshot(file: string, network: Pick<Network, 'config' | 'params'>): Promise<void> {
  await writeFileAtomic(file, encodeSafetensors(tensorsFromParams(network.params), { config: JSON.stringify(network.config) }));
}

/** A network from a snapshot written by a trial (the caller disposes its params). */
export async function loadSnapshot(file: string): Promise<VisionTransformer> {
  const decoded = decodeSafetensors(new Uint8Array(await fs.readFile(file)), file);
  const config = JSON.parse(decoded.metadata.config ?? 'null') as ViTConfig | null;
  if (!config) throw new Error(`${file}: no config in the snapshot`);
  return new VisionTransformer(config, paramsFromTensors(decoded.tensors, vitParamShapes(config), file));
}

/** Test metrics of a snapshot: the one read of the test split for that model. */
export async function evaluateSnapshot(file: string, test: BatchSource): Promise<EvalMetrics> {
  const network = await loadSnapshot(file);
  try {
    return await evaluate(network, test);
  } finally {
    disposeParams(network.params);
  }
}

// ------------------------------------------------------------------ fine-tuning trials

/** What every training run of the bench is given. */
interface RunOptions {
  /** The run's folder (its result file; a trial's snapshots). */
  dir: string;
  phase: string;
  /** Builds the initial network (only called when the run is not already done). */
  network: () => Network;
  train: BatchSource;
  val: BatchSource;
  optim: OptimConfig;
  seed: number;
  signal?: AbortSignal;
}

export interface TrialOptions extends RunOptions {
  /** Keep the weights after the first epoch and at the end (for the test read later). */
  snapshots: boolean;
  onEpoch?: (epoch: number, trainLoss: number, seconds: number) => void;
}

export interface TrialRecord {
  phase: string;
  lr: number;
  seed: number;
  epochs: number;
  /** Validation metrics of the final weights (read once, at the end); null when the run diverged. */
  val: EvalMetrics | null;
  diverged: string | null;
  /** Training images seen. */
  images: number;
  /** Training time alone (no evaluation), per epoch. */
  trainSecondsByEpoch: number[];
  trainSeconds: number;
  evalSeconds: number;
  trainLossByEpoch: number[];
  snapshots: { epoch1: string; final: string } | null;
}

/** The trial's result when a previous session finished it (and its snapshots are still there when wanted). */
export async function finishedTrial(dir: string, wantSnapshots: boolean): Promise<TrialRecord | null> {
  const file = path.join(dir, 'trial.json');
  if (!existsSync(file)) return null;
  const result: TrialRecord = JSON.parse(await fs.readFile(file, 'utf8'));
  if (wantSnapshots && !result.diverged && (!result.snapshots || !existsSync(result.snapshots.final) || !existsSync(result.snapshots.epoch1))) return null;
  return result;
}

export class TrialCancelled extends Error {
  constructor() {
    super('cancelled');
    this.name = 'JobCancelled';
  }
}

/**
 * Fine-tunes one network (one method, depth, lr, seed) with validation read once at the
 * end. A non-finite loss ends the trial as diverged (validation top-1 counted as 0).
 */
export async function runTrial(options: TrialOptions): Promise<TrialRecord> {
  const done = await finishedTrial(options.dir, options.snapshots);
  if (done) return done;
  await fs.mkdir(options.dir, { recursive: true });
  const network = options.network();
  const snapshotFiles = options.snapshots ? { epoch1: path.join(options.dir, 'epoch1.safetensors'), final: path.join(options.dir, 'final.safetensors') } : null;
  const trainSecondsByEpoch: number[] = [];
  const trainLossByEpoch: number[] = [];
  let epochStart = performance.now();
  let diverged: string | null = null;
  const trainer = new Trainer({
    phase: options.phase,
    network,
    train: options.train,
    val: null,
    optim: options.optim,
    seed: options.seed,
    hooks: {
      afterStep: async () => (options.signal?.aborted ? 'stop' : undefined),
      afterEpoch: async (position, record) => {
        const seconds = (performance.now() - epochStart) / 1000;
        trainSecondsByEpoch.push(seconds);
        trainLossByEpoch.push(record.trainLoss);
        options.onEpoch?.(position.epoch - 1, record.trainLoss, seconds);
        // The live weights sit in the step executor (onnxruntime): bring them into the network first.
        if (position.epoch === 1 && snapshotFiles) await saveSnapshot(snapshotFiles.epoch1, { config: network.config, params: await trainer.weights() });
        epochStart = performance.now();
      },
    },
  });
  let val: EvalMetrics | null = null;
  let evalSeconds = 0;
  try {
    try {
      const result = await trainer.run();
      if (result.stopped) throw new TrialCancelled();
    } catch (error) {
      if (!(error instanceof NonFiniteLossError)) throw error;
      diverged = error.message;
    }
    if (!diverged) {
      if (snapshotFiles) await saveSnapshot(snapshotFiles.final, network);
      const t0 = performance.now();
      val = await evaluate(network, options.val);
      evalSeconds = (performance.now() - t0) / 1000;
    }
  } finally {
    trainer.dispose();
    disposeParams(network.params);
  }
  const result: TrialRecord = {
    phase: options.phase,
    lr: options.optim.lr,
    seed: options.seed,
    epochs: options.optim.epochs,
    val,
    diverged,
    images: trainSecondsByEpoch.length * options.train.stepsPerEpoch * options.train.batchSize,
    trainSecondsByEpoch,
    trainSeconds: trainSecondsByEpoch.reduce((a, b) => a + b, 0),
    evalSeconds,
    trainLossByEpoch,
    snapshots: diverged ? null : snapshotFiles,
  };
  await writeJsonAtomic(path.join(options.dir, 'trial.json'), result);
  return result;
}

// ------------------------------------------------------------------ scratch to a target

/**
 * A BatchSource whose "epochs" are 1/parts of the underlying source's, so the Trainer
 * validates `parts` times per real epoch. The order of batches is unchanged; when the
 * steps do not split evenly, the last (steps mod parts) batches of each real epoch are
 * left out.
 */
export class SplitEpochs implements BatchSource {
  readonly stepsPerEpoch: number;
  readonly batchSize: number;

  constructor(private readonly inner: BatchSource, readonly parts: number) {
    if (!Number.isInteger(parts) || parts < 1 || parts > inner.stepsPerEpoch) throw new RangeError(`SplitEpochs: parts must be an integer in 1..${inner.stepsPerEpoch}, got ${parts}`);
    this.stepsPerEpoch = Math.floor(inner.stepsPerEpoch / parts);
    this.batchSize = inner.batchSize;
  }

  batch(epoch: number, step: number) {
    return this.inner.batch(Math.floor(epoch / this.parts), (epoch % this.parts) * this.stepsPerEpoch + step);
  }
}

/** Top-1 (fraction) of any teacher (e.g. an ONNX classifier) over a source: a teacher's one test read. */
export async function teacherTop1(teacher: Teacher, source: BatchSource): Promise<number> {
  let hits = 0;
  let n = 0;
  for (let step = 0; step < source.stepsPerEpoch; step++) {
    const batch = await source.batch(0, step);
    const logits = await teacher.logits(batch);
    const values = (await logits.data()) as Float32Array;
    logits.dispose();
    hits += topKHits(values, batch.labels, teacher.numClasses).top1;
    n += batch.size;
  }
  return n > 0 ? hits / n : NaN;
}

/** `train` (the whole pool) is validated `evalsPerEpoch` times per epoch; optim.epochs is the cap the cosine spans. */
export interface ScratchRunOptions extends RunOptions {
  evalsPerEpoch: number;
  /** Stop at the first validation at or above this top-1. */
  target: number;
  onEval?: (epochs: number, top1: number) => void;
}

/** Trains from scratch until validation top-1 reaches `target` (or the cap). */
export async function runScratchToTarget(options: ScratchRunOptions): Promise<ScratchToTargetRun> {
  const file = path.join(options.dir, 'scratch.json');
  if (existsSync(file)) {
    const done: ScratchToTargetRun = JSON.parse(await fs.readFile(file, 'utf8'));
    return done;
  }
  await fs.mkdir(options.dir, { recursive: true });
  const network = options.network();
  const source = new SplitEpochs(options.train, options.evalsPerEpoch);
  const top1ByEval: number[] = [];
  const trainSecondsByEval: number[] = [];
  let partStart = performance.now();
  const trainer = new Trainer({
    phase: options.phase,
    network,
    train: source,
    val: null,
    optim: { ...options.optim, epochs: options.optim.epochs * options.evalsPerEpoch, warmupEpochs: options.optim.warmupEpochs * options.evalsPerEpoch },
    seed: options.seed,
    hooks: {
      afterStep: async () => (options.signal?.aborted ? 'stop' : undefined),
      afterEpoch: async () => {
        trainSecondsByEval.push((performance.now() - partStart) / 1000);
        // Evaluated where the live weights are (the step executor), as the Trainer's own validation is.
        const metrics = await evaluate(network, options.val, (n, batch) => trainer.executor.logits(n, batch));
        top1ByEval.push(metrics.top1);
        options.onEval?.(top1ByEval.length / options.evalsPerEpoch, metrics.top1);
        partStart = performance.now();
        return metrics.top1 >= options.target ? 'stop' : undefined;
      },
    },
  });
  try {
    await trainer.run();
    if (options.signal?.aborted) throw new TrialCancelled();
  } finally {
    trainer.dispose();
    disposeParams(network.params);
  }
  const result: ScratchToTargetRun = {
    lr: options.optim.lr,
    target: options.target,
    capEpochs: options.optim.epochs,
    evalsPerEpoch: options.evalsPerEpoch,
    imagesPerEval: source.stepsPerEpoch * source.batchSize,
    top1ByEval,
    trainSecondsByEval,
  };
  await writeJsonAtomic(file, result);
  return result;
}
