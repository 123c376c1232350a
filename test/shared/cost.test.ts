// What a job will cost (shared/cost.ts): FLOPs counted by hand for a tiny ViT, the wall
// time from a backend's measured throughput, the 30-minute warning, which backend `auto` is.
import { describe, expect, it } from 'vitest';
import { backendFor, estimateCost, LONG_RUN_SECONDS, trainImages, trainingFlops } from '../../shared/cost.js';
import { defaultViTConfig } from '../../shared/config.js';
import type { BackendInfo } from '../../shared/api.js';

// 8×8 images, patch 4 → 4 patches (avg pooling: 4 tokens), dim 8, MLP 16, depth 1, 2 classes, 1 channel.
const config = defaultViTConfig({ imageSize: 8, patchSize: 4, channels: 1, dim: 8, depth: 1, heads: 2, mlpRatio: 2, numClasses: 2, pooling: 'avg' });
// Multiply-adds per image: block 4·(3·64 + 64 + 2·8·16) + 2·16·8 = 4·512 + 256 = 2304; stem 4·16·8 + 8·2 = 528.
const forward = 2 * (2304 + 528);

describe('cost estimates', () => {
  it('counts training as 3× forward plus the evaluation passes, and a distillation adds the teacher', () => {
    const images = { train: 100, evalPerEpoch: 10, evalAtEnd: 30, epochs: 2 };
    expect(trainingFlops(config, images)).toBe(2 * (100 * 3 * forward + 10 * forward) + 30 * forward);
    const teacher = { ...config, depth: 2 };
    const teacherForward = 2 * (2 * 2304 + 528);
    expect(trainingFlops(config, images, teacher)).toBe(2 * (100 * (3 * forward + teacherForward) + 10 * forward) + 30 * forward);
  });

  it('divides by the measured GFLOP/s, says nothing without a measurement, warns past 30 minutes', () => {
    const measured: BackendInfo = { name: 'onnxruntime', usable: true, detail: '', default: true, trainGflops: 10 };
    expect(estimateCost(2e10, measured)).toEqual({ flops: 2e10, seconds: 2, backend: 'onnxruntime', gflops: 10, long: false });
    expect(estimateCost(10e9 * (LONG_RUN_SECONDS + 1), measured).long).toBe(true);
    expect(estimateCost(1e9, { name: 'wasm', usable: true, detail: '' })).toMatchObject({ seconds: null, gflops: null, long: false });
    const all = [{ name: 'wasm', usable: true, detail: '' }, measured];
    expect(backendFor('auto', all)?.name).toBe('onnxruntime');
    expect(backendFor('wasm', all)?.name).toBe('wasm');
    expect(backendFor('cpu', all)).toBeNull();
  });

  it('takes the validation share and the limit off the training images', () => {
    expect(trainImages(1000, 0.1)).toEqual({ train: 900, val: 100 });
    expect(trainImages(1000, 0.1, 200)).toEqual({ train: 180, val: 20 });
  });
});
