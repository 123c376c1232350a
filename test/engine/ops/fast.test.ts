// Layer primitives against PyTorch (layer_checks.json) and the fast ops' hand-written
// gradients against tfjs autodiff of the plain formulation.

import { describe, expect, it, beforeAll } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import '../../../engine/gradients.js';
import { batchMatMul, fastErf, gemm, geluExact, geluTanh, layerNorm, linear, matMul, addRow, multiHeadAttention, sumRows } from '../../../engine/ops/fast.js';
import { KERNELS_FLAG, wasmKernelsActive } from '../../../engine/kernels/wasm-kernels.js';
import { AdamW } from '../../../engine/train/adamw.js';
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

describe('wasm SIMD kernels (engine/kernels) against plain tfjs', () => {
  const rand = (shape: number[], seed: number) => tf.randomNormal(shape, 0, 1, 'float32', seed);
  const close = (a: ArrayLike<number>, b: ArrayLike<number>, tol: number) => {
    let scale = 1e-3;
    for (let i = 0; i < b.length; i++) scale = Math.max(scale, Math.abs(b[i]!));
    expect(maxAbsDiff(a, b) / scale).toBeLessThan(tol);
  };
  /** Runs `f` with our kernels off (plain tfjs ops on wasm). */
  const plainly = <R>(f: () => R): R => {
    tf.env().set(KERNELS_FLAG, false);
    try {
      return f();
    } finally {
      tf.env().set(KERNELS_FLAG, true);
    }
  };

  it('are active on wasm', () => {
    expect(wasmKernelsActive()).toBe(true);
  });

  it.each([
    [1, 1, 1],
    [7, 13, 5],
    [33, 9, 300], // K beyond one 256-deep block, ragged M and N
    [64, 64, 64],
  ])('gemm %i×%i×%i with every transpose combination and a bias equals tf.matMul', (m, n, k) => {
    for (const [tA, tB] of [[false, false], [true, false], [false, true], [true, true]] as const) {
      const a = rand(tA ? [k, m] : [m, k], m + k);
      const b = rand(tB ? [n, k] : [k, n], n + k);
      const bias = rand([n], n);
      close(gemm(a as tf.Tensor2D, b as tf.Tensor2D, tA, tB).dataSync(), tf.matMul(a, b, tA, tB).dataSync(), 1e-5);
      close(gemm(a as tf.Tensor2D, b as tf.Tensor2D, tA, tB, bias as tf.Tensor1D).dataSync(), tf.add(tf.matMul(a, b, tA, tB), bias).dataSync(), 1e-5);
    }
  });

  it("matMul and linear gradients equal tf.matMul's autodiff (ragged sizes, K-blocking)", () => {
    const x = rand([37, 300], 21);
    const w = rand([300, 19], 22);
    const b = rand([19], 23);
    const probe = rand([37, 19], 24);
    const plain = gradsOf((x, w, b) => tf.add(tf.matMul(x as tf.Tensor2D, w as tf.Tensor2D), b), [x, w, b], probe);
    gradsOf((x, w, b) => linear(x as tf.Tensor2D, w as tf.Tensor2D, b as tf.Tensor1D), [x, w, b], probe).forEach((g, i) => close(g, plain[i]!, 1e-5));
    gradsOf((x, w) => matMul(x as tf.Tensor2D, w as tf.Tensor2D), [x, w], probe).forEach((g, i) => close(g, plain[i]!, 1e-5));
    close(sumRows(probe as tf.Tensor2D).dataSync(), tf.sum(probe, 0).dataSync(), 1e-6);
  });

  it.each([
    [2, 8, 3, 24], // tokens a multiple of 4
    [3, 5, 2, 16], // 5 tokens (class token + 4 patches): scalar tails
  ])('fused attention (batch %i, %i tokens, %i heads, dim %i): outputs and q/k/v gradients equal the plain formulation', (batch, tokens, heads, dim) => {
    const q = rand([batch * tokens, dim], 31);
    const k = rand([batch * tokens, dim], 32);
    const v = rand([batch * tokens, dim], 33);
    const probe = rand([batch * tokens, dim], 34);
    const f = (q: tf.Tensor, k: tf.Tensor, v: tf.Tensor) => multiHeadAttention(q as tf.Tensor2D, k as tf.Tensor2D, v as tf.Tensor2D, batch, heads);
    const fused = gradsOf(f, [q, k, v], probe);
    const plain = plainly(() => gradsOf(f, [q, k, v], probe));
    fused.forEach((g, i) => close(g, plain[i]!, 1e-5));
    close(f(q, k, v).dataSync(), plainly(() => f(q, k, v).dataSync()), 1e-5);
  });

  it('LayerNorm and GELU kernels equal the plain formulations, values and gradients', () => {
    const x = tf.mul(rand([9, 12], 41), 2);
    const g = rand([12], 42);
    const b = rand([12], 43);
    const probe = rand([9, 12], 44);
    const ln = (x: tf.Tensor, g: tf.Tensor, b: tf.Tensor) => layerNorm(x as tf.Tensor2D, g as tf.Tensor1D, b as tf.Tensor1D, 1e-6);
    const fused = gradsOf(ln, [x, g, b], probe);
    plainly(() => gradsOf(ln, [x, g, b], probe)).forEach((p, i) => close(fused[i]!, p, 1e-5));
    for (const gelu of [geluExact, geluTanh]) {
      const y = tf.mul(rand([3, 37], 45), 3); // 111 values: a scalar tail
      const p = rand([3, 37], 46);
      close(gradsOf((y) => gelu(y), [y], p)[0]!, plainly(() => gradsOf((y) => gelu(y), [y], p)[0]!), 1e-5);
      close(gelu(y).dataSync(), plainly(() => gelu(y).dataSync()), 1e-6);
    }
  });

  it('the fused AdamW step equals the op-by-op one', () => {
    const run = () => {
      const params = new Map([['w', tf.variable(rand([5, 7], 51))], ['b', tf.variable(rand([7], 52))]]);
      const opt = new AdamW(params, { beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0.05 });
      for (let s = 0; s < 3; s++) opt.apply(new Map([['w', rand([5, 7], 60 + s)], ['b', rand([7], 70 + s)]]), 1e-2);
      return [...params.values()].map((v) => v.dataSync());
    };
    const fused = run();
    plainly(run).forEach((p, i) => close(fused[i]!, p, 1e-6));
  });
});
