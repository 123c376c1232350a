// Small, fast job requests for the job-service tests.

import { DEFAULT_OPTIM } from '../../shared/config.js';
import type { TrainRequest } from '../../shared/api.js';
import { SAMPLE_DATA } from './jobs.js';

/** A 4.5k-parameter ViT on a class-balanced subset of the embedded sample: seconds to train. */
export function tinyTrain(out: string, options: { limit?: number; epochs?: number; seed?: number; lr?: number; clip?: number } = {}): TrainRequest {
  return {
    kind: 'train',
    data: { path: SAMPLE_DATA, valFraction: 0.1, limit: options.limit ?? 300, testLimit: 100, augment: { cropPadding: 0, horizontalFlip: false } },
    out,
    model: { depth: 1, dim: 16, heads: 2, patchSize: 7 },
    optim: { ...DEFAULT_OPTIM, epochs: options.epochs ?? 2, batchSize: 16, lr: options.lr ?? 2e-3, warmupEpochs: 0.3, clipGradNorm: options.clip ?? 1 },
    seed: options.seed ?? 1,
  };
}
