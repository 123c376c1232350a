// What a job will cost before it starts: FLOPs as shared/flops.ts counts them, divided by
// the throughput the chosen backend measured on this machine (BackendInfo.trainGflops,
// node/train/onnx-probe.ts). The studio shows it on every preset and job form and warns
// past LONG_RUN_SECONDS. Training steps and evaluation passes only: data loading and
// checkpoints come on top (small for the studio's models). Pure functions.

import type { BackendInfo } from './api.js';
import type { ViTConfig } from './config.js';
import { distillTrainFlops, vitForwardFlops, vitTrainFlops } from './flops.js';

/** Past this a form warns before the job is started. */
export const LONG_RUN_SECONDS = 30 * 60;

/** The images one run goes through. */
export interface RunImages {
  /** Training images per epoch. */
  train: number;
  /** Images evaluated after every epoch (the validation split, or the test split for descendants). */
  evalPerEpoch: number;
  /** Images evaluated once at the end (the test split). */
  evalAtEnd: number;
  epochs: number;
}

/** FLOPs of training `config` (every epoch: a training pass and an evaluation pass). */
export function trainingFlops(config: ViTConfig, images: RunImages, teacher: ViTConfig | null = null): number {
  const step = teacher ? distillTrainFlops(config, teacher) : vitTrainFlops(config);
  const forward = vitForwardFlops(config);
  return images.epochs * (images.train * step + images.evalPerEpoch * forward) + images.evalAtEnd * forward;
}

export interface CostEstimate {
  flops: number;
  /** Expected wall time, or null when the backend measured no throughput. */
  seconds: number | null;
  /** The backend the estimate is for and its measured GFLOP/s. */
  backend: string | null;
  gflops: number | null;
  /** Longer than LONG_RUN_SECONDS. */
  long: boolean;
}

/** The backend a job with `choice` ('auto' or a name) runs on, among the probed ones. */
export function backendFor(choice: string, backends: readonly BackendInfo[] | null): BackendInfo | null {
  if (!backends) return null;
  return choice === 'auto' ? (backends.find((b) => b.default) ?? null) : (backends.find((b) => b.name === choice && b.usable) ?? null);
}

export function estimateCost(flops: number, backend: BackendInfo | null): CostEstimate {
  const gflops = backend?.trainGflops && backend.trainGflops > 0 ? backend.trainGflops : null;
  const seconds = gflops ? flops / (gflops * 1e9) : null;
  return { flops, seconds, backend: backend?.name ?? null, gflops, long: seconds !== null && seconds > LONG_RUN_SECONDS };
}

/** Training images per epoch of a dataset split of `total` images. */
export function trainImages(total: number, valFraction: number, limit?: number | null): { train: number; val: number } {
  const chosen = limit ? Math.min(limit, total) : total;
  const val = Math.round(chosen * valFraction);
  return { train: chosen - val, val };
}
