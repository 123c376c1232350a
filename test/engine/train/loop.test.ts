// The training loop: autodiff against PyTorch gradients, overfitting one batch,
// determinism, resumption and the NaN guard.

import { describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import '../../../engine/gradients.js';
import type { OptimConfig, ViTConfig } from '../../../shared/config.js';
import { DEFAULT_OPTIM } from '../../../shared/config.js';
import { toStorageLayout } from '../../../engine/model/params.js';
import { createViT, disposeParams, forward, tensorsFromParams } from '../../../engine/model/vit.js';
import { crossEntropy } from '../../../engine/train/loss.js';
import { NonFiniteLossError, Trainer, type BatchSource } from '../../../engine/train/loop.js';
import type { Batch } from '../../../engine/data/types.js';
import { gradientErrors, maxAbsDiff, readVitStepFixture, useBackend } from '../../helpers/fixtures.js';

await useBackend('wasm');

const tinyConfig: ViTConfig = { imageSize: 8, channels: 1, patchSize: 4, dim: 16, depth: 2, heads: 2, mlpRatio: 2, qkvBias: true, pooling: 'avg', layerNormEps: 1e-6, gelu: 'exact', dropPath: 0.1, numClasses: 4 };

/** A fixed synthetic problem: class k has a bright k-th quadrant. */
function syntheticBatches(count: number, batchSize: number, seed = 0): BatchSource {
  const batches: Batch[] = [];
  for (let b = 0; b < count; b++) {
    const images = new Float32Array(batchSize * 64);
    const labels = new Int32Array(batchSize);
    for (let i = 0; i < batchSize; i++) {
      const label = (i + b + seed) % 4;
      labels[i] = label;
      for (let p = 0; p < 64; p++) {
        const quadrant = (Math.floor(p / 32) * 2) + (p % 8 >= 4 ? 1 : 0);
        images[i * 64 + p] = (quadrant === label ? 1 : -0.5) + 0.3 * Math.sin(p * 7.1 + i * 3.3 + b);
      }
    }
    batches.push({ images, labels, size: batchSize });
  }
  return { stepsPerEpoch: count, batchSize, batch: async (_epoch, step) => batches[step]! };
}

const optim: OptimConfig = { ...DEFAULT_OPTIM, epochs: 2, batchSize: 8, lr: 3e-3, warmupEpochs: 0.5 };

describe('gradients', () => {
  it('equal PyTorch autograd for every parameter of a ViT (mean CE)', () => {
    const { config, network: net, input, labels, loss, grads: expected } = readVitStepFixture();
    const images = tf.tensor4d(input.data, input.shape as [number, number, number, number]);
    const vars = [...net.params.values()];
    const { value, grads } = tf.variableGrads(() => crossEntropy(forward(net, images, { training: true }), labels), vars);
    expect(value.dataSync()[0]).toBeCloseTo(loss, 4);
    const ours = new Map([...net.params].map(([name, v]) => [name, { shape: v.shape, data: grads[v.name]!.dataSync() as Float32Array }]));
    const { names, expectedNames, errors } = gradientErrors(toStorageLayout(ours, config), expected);
    expect(names).toEqual(expectedNames);
    for (const [name, error] of errors) expect(error, name).toBeLessThan(1e-4);
    disposeParams(net.params);
  });
});

describe('training loop', () => {
  it('drives the loss down when overfitting one batch', async () => {
    const net = createViT({ ...tinyConfig, dropPath: 0 }, 1);
    const one = syntheticBatches(1, 8);
    const trainer = new Trainer({ phase: 'test', network: net, train: one, val: null, optim: { ...optim, epochs: 100, warmupEpochs: 0, weightDecay: 0, lr: 1e-2, minLr: 1e-3 }, seed: 1 });
    const losses: number[] = [];
    trainer.task.hooks = { emit: (e) => { if (e.type === 'step') losses.push(e.losses.total!); } };
    await trainer.run();
    expect(losses[0]).toBeGreaterThan(1.2);
    expect(losses.at(-1)!).toBeLessThan(0.1);
    trainer.dispose();
    disposeParams(net.params);
  });

  async function trainRun(stopAfter?: number, resumeFrom?: { position: any; optimizer: any; weights: any }) {
    const net = createViT(tinyConfig, 11);
    if (resumeFrom) for (const [name, v] of net.params) v.assign(tf.tensor(resumeFrom.weights.get(name).data, v.shape));
    const trainer = new Trainer({ phase: 'test', network: net, train: syntheticBatches(5, 8), val: syntheticBatches(2, 8, 1), optim, seed: 5 });
    if (resumeFrom) trainer.restore(resumeFrom.position, resumeFrom.optimizer);
    const losses: number[] = [];
    let saved: { position: any; optimizer: any; weights: any } | undefined;
    trainer.task.hooks = {
      emit: (e) => { if (e.type === 'step') losses.push(e.losses.total!); },
      afterStep: async (position) => {
        if (stopAfter !== undefined && position.globalStep === stopAfter) {
          saved = { position: structuredClone(position), optimizer: await trainer.optimizerState(), weights: tensorsFromParams(await trainer.weights()) };
          return 'stop';
        }
      },
    };
    const result = await trainer.run();
    const weights = tensorsFromParams(net.params);
    trainer.dispose();
    disposeParams(net.params);
    return { losses, weights, saved, result };
  }

  it('repeats itself exactly with the same seed (drop-path on)', async () => {
    const a = await trainRun();
    const b = await trainRun();
    expect(a.losses).toEqual(b.losses);
    for (const [name, t] of a.weights) expect(maxAbsDiff(t.data, b.weights.get(name)!.data), name).toBe(0);
    expect(a.result.history).toHaveLength(2);
    expect(a.result.history[1]!.val!.n).toBe(16);
  });

  it('resumed from a mid-epoch state ends bit-identical to an uninterrupted run', async () => {
    const full = await trainRun();
    const first = await trainRun(7);
    expect(first.result.stopped).toBe(true);
    const rest = await trainRun(undefined, first.saved);
    expect([...first.losses, ...rest.losses]).toEqual(full.losses);
    for (const [name, t] of full.weights) expect(maxAbsDiff(t.data, rest.weights.get(name)!.data), name).toBe(0);
  });

  it('stops on a non-finite loss without touching the weights', async () => {
    const net = createViT({ ...tinyConfig, dropPath: 0 }, 2);
    const before = tensorsFromParams(net.params);
    const bad: BatchSource = { stepsPerEpoch: 1, batchSize: 2, batch: async () => ({ images: new Float32Array(128).fill(NaN), labels: new Int32Array([0, 1]), size: 2 }) };
    const trainer = new Trainer({ phase: 'nan-test', network: net, train: bad, val: null, optim, seed: 1 });
    await expect(trainer.run()).rejects.toThrow(NonFiniteLossError);
    await expect(new Trainer({ phase: 'nan-test', network: net, train: bad, val: null, optim, seed: 1 }).run()).rejects.toThrow(/nan-test: loss became NaN at epoch 1, step 1/);
    const after = tensorsFromParams(net.params);
    for (const [name, t] of before) expect(maxAbsDiff(t.data, after.get(name)!.data)).toBe(0);
  });

  it('does not leak tensors across steps', async () => {
    const net = createViT(tinyConfig, 3);
    const trainer = new Trainer({ phase: 'leak', network: net, train: syntheticBatches(3, 8), val: syntheticBatches(1, 8), optim: { ...optim, epochs: 1 }, seed: 1 });
    await trainer.trainStep((await syntheticBatches(1, 8).batch(0, 0)), 1e-3);
    const baseline = tf.memory().numTensors;
    await trainer.run();
    expect(tf.memory().numTensors).toBe(baseline);
  });
});
