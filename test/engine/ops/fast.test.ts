// Layer primitives against PyTorch (layer_checks.json) and the fast ops' hand-written
// gradients against tfjs autodiff of the plain formulation.

import { describe, expect, it, beforeAll } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import '../../../engine/gradients.js';
import { batchMatMul, fastErf, geluExact, geluTanh, layerNorm, linear, matMul, addRow } from '../../../engine/ops/fast.js';
import { attention, type BlockParams } from '../../../engine/model/vit.js';
import { defaultViTConfig } from '../../../shared/config.js';
import { flat, maxAbsDiff, readJson, useBackend } from '../../helpers/fixtures.js';

const checks = readJson('vit', 'layer_checks.json');

beforeAll(async () => {
  await useBackend('wasm');
});

describe('layer primitives match PyTorch', () => {
  it('LayerNorm', () => {
    const { x, weight, bias, eps, y } = checks.layerNorm;
    const out = tf.tidy(() => layerNorm(tf.tensor2d(x), tf.tensor1d(weight), tf.tensor1d(bias), eps).dataSync());
    expect(maxAbsDiff(out, flat(y))).toBeLessThan(1e-5);
  });

  it('GELU exact and tanh', () => {
    const { x, exact, tanh } = checks.gelu;
    const input = tf.tensor1d(x);
    expect(maxAbsDiff(geluExact(input).dataSync(), exact)).toBeLessThan(1e-6);
    expect(maxAbsDiff(geluTanh(input).dataSync(), tanh)).toBeLessThan(1e-6);
  });

  it('multi-head attention (timm qkv split, scale, softmax, proj)', () => {
    const a = checks.attention;
    const dim = a.heads * a.headDim;
    const config = defaultViTConfig({ dim, heads: a.heads });
    const qkv = flat(a.qkvWeight); // [3D, D] torch layout
    const rows = (i: number) => {
      // rows i·D..(i+1)·D of W [3D, D], transposed to [D, D] (in, out)
      const w = new Float32Array(dim * dim);
      for (let r = 0; r < dim; r++) for (let c = 0; c < dim; c++) w[c * dim + r] = qkv[(i * dim + r) * dim + c]!;
      return tf.tensor2d(w, [dim, dim]);
    };
    const bias = flat(a.qkvBias);
    const proj = flat(a.projWeight);
    const projT = new Float32Array(dim * dim);
    for (let r = 0; r < dim; r++) for (let c = 0; c < dim; c++) projT[c * dim + r] = proj[r * dim + c]!;
    const block = {
      q: { weight: rows(0), bias: tf.tensor1d(bias.slice(0, dim)) },
      k: { weight: rows(1), bias: tf.tensor1d(bias.slice(dim, 2 * dim)) },
      v: { weight: rows(2), bias: tf.tensor1d(bias.slice(2 * dim)) },
      proj: { weight: tf.tensor2d(projT, [dim, dim]), bias: tf.tensor1d(flat(a.projBias)) },
    } as unknown as BlockParams;
    const x = flat(a.x);
    const tokens = x.length / dim;
    const out = attention(config, tf.tensor2d(x, [tokens, dim]), block, 1).dataSync();
    expect(maxAbsDiff(out, flat(a.out))).toBeLessThan(1e-5);
  });

  it('fast erf matches the exact erf to 1e-6 over [-6, 6]', () => {
    const xs = Array.from({ length: 1201 }, (_, i) => -6 + i * 0.01);
    const approx = fastErf(tf.tensor1d(xs)).dataSync();
    // erf via high-precision series/continued fraction in float64
    const erf = (x: number) => {
      const t = 1 / (1 + 0.5 * Math.abs(x));
      const y = 1 - t * Math.exp(-x * x - 1.26551223 + t * (1.00002368 + t * (0.37409196 + t * (0.09678418 + t * (-0.18628806 + t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277)))))))));
      return x >= 0 ? y : -y;
    };
    expect(maxAbsDiff(approx, xs.map(erf))).toBeLessThan(1e-6);
  });
});

/** Gradient of sum(f(inputs) * probe) with respect to every input, via tf.grads. */
function gradsOf(f: (...xs: tf.Tensor[]) => tf.Tensor, inputs: tf.Tensor[], probe: tf.Tensor): Float32Array[] {
  return tf.grads((...xs: tf.Tensor[]) => tf.sum(tf.mul(f(...xs), probe)))(inputs).map((g) => g.dataSync() as Float32Array);
}

describe('hand-written gradients equal autodiff of the plain formulas', () => {
  const rand = (shape: number[], seed: number) => tf.randomNormal(shape, 0, 1, 'float32', seed);

  it('matMul and linear', () => {
    const x = rand([6, 5], 1);
    const w = rand([5, 4], 2);
    const b = rand([4], 3);
    const probe = rand([6, 4], 4);
    const fast = gradsOf((x, w, b) => linear(x as tf.Tensor2D, w as tf.Tensor2D, b as tf.Tensor1D), [x, w, b], probe);
    const plain = gradsOf((x, w, b) => tf.add(tf.matMul(x as tf.Tensor2D, w as tf.Tensor2D), b), [x, w, b], probe);
    fast.forEach((g, i) => expect(maxAbsDiff(g, plain[i]!)).toBeLessThan(1e-5));
    const fastMm = gradsOf((x, w) => matMul(x as tf.Tensor2D, w as tf.Tensor2D), [x, w], probe);
    fastMm.forEach((g, i) => expect(maxAbsDiff(g, plain[i]!)).toBeLessThan(1e-5));
  });

  it('batchMatMul', () => {
    const a = rand([3, 4, 5], 5);
    const b = rand([3, 5, 2], 6);
    const probe = rand([3, 4, 2], 7);
    const fast = gradsOf((a, b) => batchMatMul(a as tf.Tensor3D, b as tf.Tensor3D), [a, b], probe);
    const plain = gradsOf((a, b) => tf.matMul(a as tf.Tensor3D, b as tf.Tensor3D), [a, b], probe);
    fast.forEach((g, i) => expect(maxAbsDiff(g, plain[i]!)).toBeLessThan(1e-5));
  });

  it('layerNorm', () => {
    const x = rand([7, 6], 8);
    const g = rand([6], 9);
    const b = rand([6], 10);
    const probe = rand([7, 6], 11);
    const fast = gradsOf((x, g, b) => layerNorm(x as tf.Tensor2D, g as tf.Tensor1D, b as tf.Tensor1D, 1e-5), [x, g, b], probe);
    const plain = gradsOf((x, g, b) => {
      const { mean, variance } = tf.moments(x, -1, true);
      return tf.add(tf.mul(tf.div(tf.sub(x, mean), tf.sqrt(tf.add(variance, 1e-5))), g), b);
    }, [x, g, b], probe);
    fast.forEach((grad, i) => expect(maxAbsDiff(grad, plain[i]!)).toBeLessThan(1e-4));
  });

  it('GELU exact and tanh', () => {
    const x = tf.mul(rand([50], 12), 3);
    const probe = rand([50], 13);
    const exact = gradsOf((x) => geluExact(x), [x], probe)[0]!;
    const exactPlain = gradsOf((x) => tf.mul(tf.mul(x, 0.5), tf.add(1, tf.erf(tf.mul(x, Math.SQRT1_2)))), [x], probe)[0]!;
    expect(maxAbsDiff(exact, exactPlain)).toBeLessThan(1e-5);
    const tanh = gradsOf((x) => geluTanh(x), [x], probe)[0]!;
    const c = Math.sqrt(2 / Math.PI);
    const tanhPlain = gradsOf((x) => tf.mul(tf.mul(x, 0.5), tf.add(1, tf.tanh(tf.mul(tf.add(x, tf.mul(tf.pow(x, 3), 0.044715)), c)))), [x], probe)[0]!;
    expect(maxAbsDiff(tanh, tanhPlain)).toBeLessThan(1e-5);
  });

  it('addRow broadcasts a row and sums its gradient over rows', () => {
    const x = rand([4, 6], 14);
    const row = rand([2, 3], 15);
    const probe = rand([4, 6], 16);
    const fast = gradsOf((x, r) => addRow(x as tf.Tensor2D, r!), [x, row], probe);
    const plain = gradsOf((x, r) => tf.add(x, tf.reshape(r!, [1, 6])), [x, row], probe);
    fast.forEach((g, i) => expect(maxAbsDiff(g, plain[i]!)).toBeLessThan(1e-5));
  });
});
