// Training phases of a job, with checkpoints and resumption.
//
// A job (train, distill, compare, demo) is a sequence of named phases ("teacher",
// "aux-net", "sws-d4" ...). Under runs/<id>/phases/<name>/ each phase keeps
//   checkpoint-<globalStep>.safetensors  weights (param.*) + AdamW moments (adam_m.*, adam_v.*);
//                                        metadata: position, seed, model config, optimizer;
//                                        written every N steps and at each epoch end;
//                                        the newest two are kept, older ones pruned
//   final.safetensors + final.json       the finished phase's weights and history.
// On resume a finished phase is loaded instead of retrained, and an unfinished one
// continues from its newest readable checkpoint. Batches and random draws depend only
// on (seed, epoch, step), so the resumed run computes what the uninterrupted one did.

import { promises as fs } from 'node:fs';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import type { JobEvent } from '../../shared/events.js';
import { decodeSafetensors, encodeSafetensors, type TensorMap } from '../../engine/io/safetensors.js';
import type { Network } from '../../engine/model/vit.js';
import { NonFiniteLossError, Trainer, type EpochRecord, type TrainPosition, type TrainTask } from '../../engine/train/loop.js';
import { writeError, writeFileAtomic, writeJsonAtomic } from '../fs/atomic.js';

export interface JobContext {
  emit(event: JobEvent): void;
  /** Aborted when the job is cancelled; the current phase checkpoints and stops. */
  signal: AbortSignal;
  /** runs/<id>/ of the job, or null for an ephemeral run (no checkpoints, no resume). */
  runDir: string | null;
  /** Checkpoint every N optimizer steps (0: only at epoch ends). */
  checkpointEvery: number;
}

/** The job was cancelled; `checkpoint` is where it can resume from. */
export class JobCancelled extends Error {
  constructor(readonly checkpoint: string | null) {
    super('cancelled');
    this.name = 'JobCancelled';
  }
}

const CHECKPOINT_PATTERN = /^checkpoint-(\d+)\.safetensors$/;
const KEEP_CHECKPOINTS = 2;

export function phaseDir(runDir: string, phase: string): string {
  return path.join(runDir, 'phases', phase.replace(/[^A-Za-z0-9._-]+/g, '_'));
}

function weightTensors(params: Network['params']): TensorMap {
  const out: TensorMap = new Map();
  for (const [name, v] of params) out.set(`param.${name}`, { shape: v.shape.slice(), data: v.dataSync() as Float32Array });
  return out;
}

function assignWeights(network: Network, tensors: TensorMap, source: string): void {
  for (const [name, v] of network.params) {
    const t = tensors.get(`param.${name}`);
    if (!t || t.shape.join(',') !== v.shape.join(',')) {
      throw new Error(`${source}: no weights for "${name}" of shape [${v.shape}] (the checkpoint belongs to another model)`);
    }
    tf.tidy(() => v.assign(tf.tensor(t.data, v.shape)));
  }
}

/** Checkpoint files of a phase, newest first. */
async function listCheckpoints(dir: string): Promise<string[]> {
  let names: string[];
  try {
    names = await fs.readdir(dir);
  } catch {
    return [];
  }
  return names
    .map((name) => ({ name, step: Number(CHECKPOINT_PATTERN.exec(name)?.[1] ?? NaN) }))
    .filter((c) => Number.isFinite(c.step))
    .sort((a, b) => b.step - a.step)
    .map((c) => path.join(dir, c.name));
}

/** Where a failed phase can be resumed from, in words. */
async function lastGoodCheckpoint(dir: string | null): Promise<string> {
  const newest = dir ? (await listCheckpoints(dir))[0] : undefined;
  return newest ? `the last good checkpoint is ${newest}` : 'no checkpoint had been written yet';
}

interface Checkpoint {
  file: string;
  position: TrainPosition;
  tensors: TensorMap;
}

/** The newest checkpoint that reads back whole; a torn or corrupt newer one is skipped. */
async function newestReadableCheckpoint(dir: string, ctx: JobContext): Promise<Checkpoint | null> {
  for (const file of await listCheckpoints(dir)) {
    try {
      const decoded = decodeSafetensors(new Uint8Array(await fs.readFile(file)), file);
      const position = JSON.parse(decoded.metadata.position ?? 'null') as TrainPosition | null;
      if (!position) throw new Error('no position in metadata');
      return { file, position, tensors: decoded.tensors };
    } catch (error) {
      ctx.emit({ type: 'log', level: 'warn', message: `skipping unreadable checkpoint ${file}: ${(error as Error).message}` });
    }
  }
  return null;
}

export interface PhaseResult {
  history: EpochRecord[];
  /** True when the phase had already finished in an earlier session of this run. */
  reused: boolean;
}

/**
 * Trains `task.network` as phase `name` of the job, or restores the phase's result
 * when a previous session of this run finished it.
 */
export async function runPhase(ctx: JobContext, name: string, task: Omit<TrainTask, 'phase' | 'hooks'>): Promise<PhaseResult> {
  const dir = ctx.runDir ? phaseDir(ctx.runDir, name) : null;
  const finalFile = dir ? path.join(dir, 'final.safetensors') : null;
  if (dir && finalFile) {
    try {
      const bytes = new Uint8Array(await fs.readFile(finalFile));
      const decoded = decodeSafetensors(bytes, finalFile);
      assignWeights(task.network, decoded.tensors, finalFile);
      const history = JSON.parse(decoded.metadata.history ?? '[]') as EpochRecord[];
      ctx.emit({ type: 'log', level: 'info', message: `[${name}] already finished in this run; reusing its weights` });
      return { history, reused: true };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    }
  }
  const trainer = new Trainer({ ...task, phase: name });
  try {
    if (dir) {
      const checkpoint = await newestReadableCheckpoint(dir, ctx);
      if (checkpoint) {
        assignWeights(task.network, checkpoint.tensors, checkpoint.file);
        trainer.restore(checkpoint.position, checkpoint.tensors);
        ctx.emit({ type: 'log', level: 'info', message: `[${name}] resuming from ${path.basename(checkpoint.file)} (epoch ${checkpoint.position.epoch + 1}, step ${checkpoint.position.step})` });
      }
    }
    let lastCheckpoint: string | null = null;
    const save = async (position: TrainPosition) => {
      if (!dir) return;
      await fs.mkdir(dir, { recursive: true }).catch((error: unknown) => {
        throw writeError(dir, error);
      });
      const tensors = weightTensors(await trainer.weights());
      for (const [key, value] of await trainer.optimizerState()) tensors.set(key, value);
      const file = path.join(dir, `checkpoint-${position.globalStep}.safetensors`);
      // Self-describing: what was trained (config, optimizer settings, seed) beside where it stands.
      await writeFileAtomic(file, encodeSafetensors(tensors, {
        phase: name,
        position: JSON.stringify(position),
        seed: String(task.seed),
        config: JSON.stringify(task.network.config),
        optim: JSON.stringify(task.optim),
      }));
      for (const old of (await listCheckpoints(dir)).slice(KEEP_CHECKPOINTS)) await fs.rm(old, { force: true });
      lastCheckpoint = file;
      ctx.emit({ type: 'checkpoint', path: file, epoch: position.epoch, step: position.globalStep });
    };
    trainer.task.hooks = {
      emit: (event) => ctx.emit(event),
      afterStep: async (position) => {
        const due = ctx.checkpointEvery > 0 && position.globalStep % ctx.checkpointEvery === 0 && position.step !== 0;
        if (ctx.signal.aborted) {
          await save(position);
          return 'stop';
        }
        if (due) await save(position);
      },
      afterEpoch: async (position) => {
        await save(position);
        if (ctx.signal.aborted) return 'stop';
      },
    };
    let result;
    try {
      result = await trainer.run();
    } catch (error) {
      // The step with the bad loss was not applied and no checkpoint was written after it.
      if (error instanceof NonFiniteLossError) error.message += `; ${await lastGoodCheckpoint(dir)}`;
      throw error;
    }
    if (result.stopped) throw new JobCancelled(lastCheckpoint);
    if (dir && finalFile) {
      await fs.mkdir(dir, { recursive: true });
      await writeFileAtomic(finalFile, encodeSafetensors(weightTensors(await trainer.weights()), { phase: name, history: JSON.stringify(result.history) }));
      await writeJsonAtomic(path.join(dir, 'final.json'), { phase: name, history: result.history });
      for (const old of await listCheckpoints(dir)) await fs.rm(old, { force: true });
    }
    return { history: result.history, reused: false };
  } finally {
    trainer.dispose();
  }
}
