// Losses and the optimizer against PyTorch numbers (test/fixtures/train/*.json).

import { describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import '../../../engine/gradients.js';
import { crossEntropy, distillationKL, trainingLoss } from '../../../engine/train/loss.js';
import { AdamW, clipGradients, decays } from '../../../engine/train/adamw.js';
import { learningRateAt } from '../../../engine/train/schedule.js';
import { flat, maxAbsDiff, readJson, useBackend } from '../../helpers/fixtures.js';

await useBackend('wasm');

const losses = readJson('train', 'losses.json');

describe('losses', () => {
  const student = tf.tensor2d(losses.studentLogits);
  const teacher = tf.tensor2d(losses.teacherLogits);
  const labels = Int32Array.from(losses.labels);

  it.each(losses.crossEntropy.map((c: any) => [c.labelSmoothing, c.loss]))('cross-entropy with label smoothing %s = PyTorch', (smoothing, expected) => {
    expect(crossEntropy(student, labels, smoothing as number).dataSync()[0]).toBeCloseTo(expected as number, 5);
  });

  it.each(losses.kdBatchmean.map((c: any) => [c.tau, c.loss]))('KD τ²·KL batchmean at τ=%s = hand computation', (tau, expected) => {
    expect(distillationKL(student, teacher, tau as number).dataSync()[0]).toBeCloseTo(expected as number, 5);
  });

  it.each(losses.kdDeiT.map((c: any) => [c.tau, c.loss]))('KD with the DeiT/SWS numel reduction at τ=%s', (tau, expected) => {
    expect(distillationKL(student, teacher, tau as number, 'numel').dataSync()[0]).toBeCloseTo(expected as number, 5);
  });

  it('(1-α)·CE + α·KD', () => {
    const c = losses.combined;
    const out = trainingLoss(student, labels, 0, teacher, { alpha: c.alpha, tau: c.tau });
    expect(out.total.dataSync()[0]).toBeCloseTo(c.loss, 5);
    expect(out.parts.ce!.dataSync()[0]).toBeCloseTo(c.ce, 5);
    expect(out.parts.kd!.dataSync()[0]).toBeCloseTo(c.kd, 5);
  });

  it('KD is zero when student equals teacher and positive otherwise', () => {
    expect(distillationKL(teacher, teacher, 2).dataSync()[0]).toBeCloseTo(0, 6);
    expect(distillationKL(student, teacher, 2).dataSync()[0]).toBeGreaterThan(0.1);
  });
});

describe('AdamW', () => {
  const ref = readJson('train', 'adamw.json');

  function runSteps(decayFilter: (name: string, shape: readonly number[]) => boolean) {
    const params = new Map([
      ['matrix', tf.variable(tf.tensor2d(ref.params0.matrix))],
      ['vector', tf.variable(tf.tensor1d(ref.params0.vector))],
    ]);
    const opt = new AdamW(params, { beta1: ref.betas[0], beta2: ref.betas[1], eps: ref.eps, weightDecay: ref.weightDecay }, decayFilter);
    const after: { matrix: Float32Array; vector: Float32Array }[] = [];
    for (const g of ref.grads) {
      opt.apply(new Map([['matrix', tf.tensor2d(g.matrix)], ['vector', tf.tensor1d(g.vector)]]), ref.lr);
      after.push({ matrix: params.get('matrix')!.dataSync() as Float32Array, vector: params.get('vector')!.dataSync() as Float32Array });
    }
    return after;
  }

  it('matches torch.optim.AdamW for 3 steps with decay on every parameter', () => {
    const after = runSteps(() => true);
    after.forEach((p, i) => {
      expect(maxAbsDiff(p.matrix, flat(ref.paramsAfter[i].matrix))).toBeLessThan(2e-6);
      expect(maxAbsDiff(p.vector, flat(ref.paramsAfter[i].vector))).toBeLessThan(2e-6);
    });
  });

  it('exempts 1-D parameters from decay (timm rule) and matches torch param groups', () => {
    const after = runSteps(decays);
    after.forEach((p, i) => {
      expect(maxAbsDiff(p.matrix, flat(ref.vectorNoDecay.paramsAfter[i].matrix))).toBeLessThan(2e-6);
      expect(maxAbsDiff(p.vector, flat(ref.vectorNoDecay.paramsAfter[i].vector))).toBeLessThan(2e-6);
    });
  });

  it('decay rule: matrices yes; biases, norms, pos_embed and cls_token no', () => {
    expect(decays('blocks.0.mlp.fc1.weight', [4, 8])).toBe(true);
    expect(decays('blocks.0.mlp.fc1.bias', [8])).toBe(false);
    expect(decays('blocks.0.norm1.weight', [4])).toBe(false);
    expect(decays('pos_embed', [5, 4])).toBe(false);
    expect(decays('cls_token', [1, 4])).toBe(false);
  });

  it('a hand-computed first step: p - lr·sign-like update, decay applied first', () => {
    // step 1: m̂ = g, v̂ = g², update = g/(|g|+eps) ≈ sign(g)
    const p = tf.variable(tf.tensor2d([[1, -2]]));
    const opt = new AdamW(new Map([['w', p]]), { beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0.5 });
    opt.apply(new Map([['w', tf.tensor2d([[0.3, -4]])]]), 0.1);
    const expected = [1 * (1 - 0.1 * 0.5) - 0.1 * (0.3 / (0.3 + 1e-8)), -2 * (1 - 0.1 * 0.5) + 0.1 * (4 / (4 + 1e-8))];
    expect(maxAbsDiff(p.dataSync(), expected)).toBeLessThan(1e-6);
  });
});

describe('gradient clipping and schedule', () => {
  it('clips the global norm like torch clip_grad_norm_', () => {
    const grads = new Map([['a', tf.tensor1d([3, 0])], ['b', tf.tensor1d([0, 4])]]);
    const { grads: clipped, norm } = clipGradients(grads, 1);
    expect(norm.dataSync()[0]).toBeCloseTo(5, 6);
    expect(maxAbsDiff(clipped.get('a')!.dataSync(), [3 / (5 + 1e-6), 0])).toBeLessThan(1e-6);
    const small = clipGradients(new Map([['a', tf.tensor1d([0.3, 0.4])]]), 1);
    expect(maxAbsDiff(small.grads.get('a')!.dataSync(), [0.3, 0.4])).toBeLessThan(1e-7);
  });

  it('warms up linearly then follows a half cosine to minLr', () => {
    const s = { lr: 1, minLr: 0.1, warmupSteps: 4, totalSteps: 14 };
    expect(learningRateAt(s, 0)).toBeCloseTo(0.25);
    expect(learningRateAt(s, 3)).toBeCloseTo(1);
    expect(learningRateAt(s, 4)).toBeCloseTo(1);
    expect(learningRateAt(s, 9)).toBeCloseTo(0.1 + 0.45 * (1 + Math.cos(Math.PI * 0.5)));
    expect(learningRateAt(s, 14)).toBeCloseTo(0.1);
  });
});
