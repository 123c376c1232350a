// Progress of a job, as one tagged union keyed on `type` (the transformers.js style).
// The engine emits the training subset (`EngineEvent`); the job service stamps each
// event with its job id and time, appends it to runs/<id>/events.jsonl and forwards it
// to the CLI, the server and the renderer.

import type { JobResult } from './results.js';

export type JobKind = 'train' | 'distill' | 'grow' | 'prune' | 'finetune' | 'compare' | 'export' | 'import' | 'demo' | 'evaluate';

export interface EvalMetrics {
  loss: number;
  top1: number;
  top5: number;
  n: number;
}

/** Events the training loop itself produces. */
export type EngineEvent =
  | {
      type: 'step';
      /** Which model of the job is training (e.g. "teacher", "aux-net", "sws depth 4"). */
      phase: string;
      epoch: number;
      epochs: number;
      step: number;
      stepsPerEpoch: number;
      /** Losses by name, e.g. { total, ce, kd }. */
      losses: Record<string, number>;
      lr: number;
      /** Top-1 on this training batch (as the model was before the step; augmented images, drop-path on). */
      trainTop1?: number;
      /** Distillation: the share of this batch where the student's top class is the teacher's. */
      agreement?: number;
      imagesPerSec: number;
      etaSeconds: number;
    }
  | {
      type: 'epoch';
      phase: string;
      epoch: number;
      epochs: number;
      trainLoss: number;
      val: EvalMetrics;
      seconds: number;
    }
  | { type: 'metric'; phase: string; name: string; value: number; step?: number }
  | { type: 'log'; level: 'info' | 'warn'; message: string };

export type JobEvent =
  | { type: 'queued'; kind: JobKind }
  | { type: 'started'; kind: JobKind; runDir?: string }
  | EngineEvent
  | { type: 'checkpoint'; path: string; epoch: number; step: number }
  | { type: 'done'; result: JobResult }
  | { type: 'error'; message: string; field?: string; file?: string; /** What kind of failure (ComputeHostLost, WorkerCrash, ConfigError …). */ name?: string }
  | { type: 'cancelled'; checkpoint?: string };

export type ProgressEvent = JobEvent & { jobId: string; time: number };

export type ProgressEventType = ProgressEvent['type'];
