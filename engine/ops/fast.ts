// Layer primitives with hand-written gradients, shaped around what the tfjs wasm
// backend runs fast (see DEVELOPERS.md, "wasm kernel table" and "fast patterns").
// On wasm every op here runs our SIMD kernels (engine/kernels: a GEMM that reads
// either operand transposed in place, fused attention, LayerNorm, GELU, bias sums);
// on other backends, or with the LG_WASM_KERNELS flag off, they fall back to plain
// tfjs formulations that avoid the wasm slow paths:
//   fast: plain 2-D matMul (XNNPACK), add/sub/mul/div, square, clip, sigmoid, sqrt,
//         reductions over the LAST axis, rank-4 transposes, reshape;
//   slow: matMul with transposeA/B flags and its autodiff gradient, reductions over
//         axis 0 (bias gradients), exp/erf/tanh, greater/where/maximum, slices.
// Every gradient below is checked against tfjs autodiff and PyTorch in the tests.

import * as tf from '@tensorflow/tfjs-core';
import { wasmKernelsActive } from '../kernels/wasm-kernels.js';

type T = tf.Tensor;
type GradFunc = (dy: T, saved: T[]) => T[];

/** tf.customGrad with the inputs as an array, typed as the op `F` it defines. */
function defineOp<F>(body: (inputs: T[], save: tf.GradSaveFunc) => { value: T; gradFunc: GradFunc }): F {
  return tf.customGrad(((...args: unknown[]) => {
    const save = args.pop() as tf.GradSaveFunc;
    return body(args as T[], save);
  }) as never) as unknown as F;
}

function run<R extends T | T[]>(kernel: string, inputs: Record<string, T>, attrs: Record<string, number | boolean> = {}): R {
  return tf.engine().runKernel(kernel, inputs as tf.NamedTensorMap, attrs as unknown as tf.NamedAttrMap) as R;
}

/**
 * op(a)·op(b) (+ bias) for 2-D a, b, where op transposes when asked. On wasm our GEMM
 * reads the transposed operand in place; elsewhere tfjs's transpose flags (webgpu, cpu)
 * or, on wasm without our kernels, an explicit transpose and a plain matmul.
 */
export function gemm(a: tf.Tensor2D, b: tf.Tensor2D, transA = false, transB = false, bias?: tf.Tensor1D): tf.Tensor2D {
  if (wasmKernelsActive()) return run<tf.Tensor2D>('LgGemm', bias ? { a, b, bias } : { a, b }, { transA, transB });
  return tf.tidy(() => {
    let product: tf.Tensor2D;
    if (tf.getBackend() === 'wasm') product = tf.matMul(transA ? tf.transpose(a) : a, transB ? tf.transpose(b) : b);
    else product = tf.matMul(a, b, transA, transB);
    return bias ? tf.add(product, bias) : product;
  });
}

/** Sum over rows of a 2-D tensor as a [1, M] × [M, N] matmul (axis-0 reductions are slow on wasm). */
export function sumRows(x: tf.Tensor2D): tf.Tensor1D {
  if (wasmKernelsActive()) return run<tf.Tensor1D>('LgSumRows', { x });
  return tf.tidy(() => {
    const ones = tf.ones([1, x.shape[0]]);
    return tf.reshape(tf.matMul(ones, x), [x.shape[1]]);
  });
}

/** x [M, N] + row (any shape holding N values, e.g. pos_embed [T, D] with N = T·D); the row's gradient sums rows with a matmul. */
export const addRow = defineOp<<S extends tf.Tensor>(x: tf.Tensor2D, row: S) => tf.Tensor2D>(([x, row]) => ({
  value: tf.add(x!, tf.reshape(row!, [1, -1])),
  // dy is cloned: handing the incoming gradient back as-is corrupts wasm memory when tfjs disposes both.
  gradFunc: (dy: T) => [tf.clone(dy), tf.reshape(sumRows(dy as tf.Tensor2D), row!.shape)],
}));

/** x [M, K] · w [K, N]; gradients dx = dy·wᵀ, dw = xᵀ·dy without materialized transposes. */
export const matMul = defineOp<(x: tf.Tensor2D, w: tf.Tensor2D) => tf.Tensor2D>(([x, w], save) => {
  save([x, w]);
  return {
    value: gemm(x as tf.Tensor2D, w as tf.Tensor2D),
    gradFunc: (dy: T, saved: T[]) => {
      const [xs, ws] = saved as [tf.Tensor2D, tf.Tensor2D];
      return [gemm(dy as tf.Tensor2D, ws, false, true), gemm(xs, dy as tf.Tensor2D, true, false)];
    },
  };
});

/** x [M, K] · w [K, N] + b [N] (the bias added inside the GEMM on wasm). */
export const linear = defineOp<(x: tf.Tensor2D, w: tf.Tensor2D, b: tf.Tensor1D) => tf.Tensor2D>(([x, w, b], save) => {
  save([x, w]);
  return {
    value: gemm(x as tf.Tensor2D, w as tf.Tensor2D, false, false, b as tf.Tensor1D),
    gradFunc: (dy: T, saved: T[]) => {
      const [xs, ws] = saved as [tf.Tensor2D, tf.Tensor2D];
      const dy2 = dy as tf.Tensor2D;
      return [gemm(dy2, ws, false, true), gemm(xs, dy2, true, false), sumRows(dy2)];
    },
  };
});

/** Batched a [B, M, K] · b [B, K, N] with explicit-transpose gradients. */
export const batchMatMul = defineOp<(a: tf.Tensor3D, b: tf.Tensor3D) => tf.Tensor3D>(([a, b], save) => {
  save([a, b]);
  return {
    value: tf.matMul(a as tf.Tensor3D, b as tf.Tensor3D),
    gradFunc: (dy: T, saved: T[]) => {
      const [as, bs] = saved as [tf.Tensor3D, tf.Tensor3D];
      const dy3 = dy as tf.Tensor3D;
      return [tf.matMul(dy3, tf.transpose(bs, [0, 2, 1])), tf.matMul(tf.transpose(as, [0, 2, 1]), dy3)];
    },
  };
});

const layerNormCache = new Map<number, (x: tf.Tensor2D, gamma: tf.Tensor1D, beta: tf.Tensor1D) => tf.Tensor2D>();
const layerNormKernelCache = new Map<number, (x: tf.Tensor2D, gamma: tf.Tensor1D, beta: tf.Tensor1D) => tf.Tensor2D>();

/** LayerNorm over the last axis of x [M, C] (biased variance, as PyTorch). */
export function layerNorm(x: tf.Tensor2D, gamma: tf.Tensor1D, beta: tf.Tensor1D, eps: number): tf.Tensor2D {
  if (wasmKernelsActive() && x.shape[1] % 4 === 0) {
    let fused = layerNormKernelCache.get(eps);
    if (!fused) {
      fused = defineOp<(x: tf.Tensor2D, gamma: tf.Tensor1D, beta: tf.Tensor1D) => tf.Tensor2D>(([xIn, g, b], save) => {
        const [y, xhat, rstd] = run<T[]>('LgLayerNorm', { x: xIn!, gamma: g!, beta: b! }, { eps });
        save([xhat!, rstd!, g!]);
        return {
          value: y!,
          gradFunc: (dy: T, saved: T[]) => {
            const [xh, rs, gs] = saved as [T, T, T];
            return run<T[]>('LgLayerNormGrad', { dy, xhat: xh, rstd: rs, gamma: gs });
          },
        };
      });
      layerNormKernelCache.set(eps, fused);
    }
    return fused(x, gamma, beta);
  }
  let op = layerNormCache.get(eps);
  if (!op) {
    op = defineOp<(x: tf.Tensor2D, gamma: tf.Tensor1D, beta: tf.Tensor1D) => tf.Tensor2D>(([xIn, g, b], save) => {
      const mean = tf.mean(xIn!, -1, true);
      const centered = tf.sub(xIn!, mean);
      const variance = tf.mean(tf.square(centered), -1, true);
      const rstd = tf.rsqrt(tf.add(variance, eps));
      const xhat = tf.mul(centered, rstd);
      save([xhat, rstd, g!]);
      return {
        value: tf.add(tf.mul(xhat, g!), b!),
        gradFunc: (dy: T, saved: T[]) => {
          const [xh, rs, gs] = saved as [tf.Tensor2D, T, T];
          const dy2 = dy as tf.Tensor2D;
          const dxhat = tf.mul(dy2, gs);
          // dx = rstd * (dxhat - mean(dxhat) - xhat * mean(dxhat * xhat))
          const dx = tf.mul(
            rs,
            tf.sub(tf.sub(dxhat, tf.mean(dxhat, -1, true)), tf.mul(xh, tf.mean(tf.mul(dxhat, xh), -1, true))),
          );
          return [dx, sumRows(tf.mul(dy2, xh) as tf.Tensor2D), sumRows(dy2)];
        },
      };
    });
    layerNormCache.set(eps, op);
  }
  return op(x, gamma, beta);
}

// erf(x) as a rational function on x clamped to [-4, 4] (the float32 erf of Eigen/XLA,
// max error ~1e-7), because the wasm Erf kernel is scalar and 10x slower than mul/add.
const ERF_ALPHA = [-2.72614225801306e-10, 2.77068142495902e-8, -2.10102402082508e-6, -5.69250639462346e-5, -7.34990630326855e-4, -2.95459980854025e-3, -1.60960333262415e-2];
const ERF_BETA = [-1.45660718464996e-5, -2.13374055278905e-4, -1.68282697438203e-3, -7.37332916720468e-3, -1.42647390514189e-2];

function polynomial(x: T, coefficients: number[]): T {
  let acc: T = tf.scalar(coefficients[0]!);
  for (let i = 1; i < coefficients.length; i++) acc = tf.add(tf.mul(acc, x), coefficients[i]!);
  return acc;
}

/** erf via fast elementwise ops. */
export function fastErf(x: T): T {
  return tf.tidy(() => {
    const xc = tf.clipByValue(x, -4, 4);
    const x2 = tf.square(xc);
    return tf.div(tf.mul(xc, polynomial(x2, ERF_ALPHA)), polynomial(x2, ERF_BETA));
  });
}

/** exp(-z) for z >= 0, as sigmoid(-z) / sigmoid(z): sigmoid is a vectorized kernel, exp is not. */
function expNegative(z: T): T {
  return tf.div(tf.sigmoid(tf.neg(z)), tf.sigmoid(z));
}

const SQRT_HALF = Math.SQRT1_2;
const INV_SQRT_2PI = 1 / Math.sqrt(2 * Math.PI);
const TANH_C = Math.sqrt(2 / Math.PI);

const geluKernel = (kind: 0 | 1) =>
  defineOp<<R extends tf.Rank>(x: tf.Tensor<R>) => tf.Tensor<R>>(([x], save) => {
    save([x!]);
    return {
      value: run<T>('LgGelu', { x: x! }, { kind }),
      gradFunc: (dy: T, saved: T[]) => [run<T>('LgGeluGrad', { dy, x: saved[0]! }, { kind })],
    };
  });
const geluExactKernel = geluKernel(0);
const geluTanhKernel = geluKernel(1);

/** GELU, exact: x·Φ(x) = 0.5·x·(1 + erf(x/√2)). */
export function geluExact<R extends tf.Rank>(x: tf.Tensor<R>): tf.Tensor<R> {
  return wasmKernelsActive() ? geluExactKernel(x) : geluExactOps(x);
}

/** GELU, tanh approximation: 0.5·x·(1 + tanh(u)) = x·sigmoid(2u), u = √(2/π)(x + 0.044715x³). */
export function geluTanh<R extends tf.Rank>(x: tf.Tensor<R>): tf.Tensor<R> {
  return wasmKernelsActive() ? geluTanhKernel(x) : geluTanhOps(x);
}

const geluExactOps = defineOp<<R extends tf.Rank>(x: tf.Tensor<R>) => tf.Tensor<R>>(([x], save) => {
  const cdf = tf.mul(tf.add(fastErf(tf.mul(x, SQRT_HALF)), 1), 0.5);
  save([x, cdf]);
  return {
    value: tf.mul(x, cdf),
    gradFunc: (dy: T, saved: T[]) => {
      const [xs, cdfs] = saved as [T, T];
      const pdf = tf.mul(expNegative(tf.mul(tf.square(xs), 0.5)), INV_SQRT_2PI);
      return [tf.mul(dy, tf.add(cdfs, tf.mul(xs, pdf)))];
    },
  };
});

const geluTanhOps = defineOp<<R extends tf.Rank>(x: tf.Tensor<R>) => tf.Tensor<R>>(([x], save) => {
  const x2 = tf.square(x);
  const u = tf.mul(tf.mul(x, tf.add(tf.mul(x2, 0.044715), 1)), TANH_C);
  const s = tf.sigmoid(tf.mul(u, 2));
  save([x, x2, s]);
  return {
    value: tf.mul(x, s),
    gradFunc: (dy: T, saved: T[]) => {
      const [xs, x2s, ss] = saved as [T, T, T];
      // d/dx [x·s(2u)] = s + x · 2 s (1 - s) · du/dx, du/dx = √(2/π)(1 + 3·0.044715x²)
      const du = tf.mul(tf.add(tf.mul(x2s, 3 * 0.044715), 1), TANH_C);
      const ds = tf.mul(tf.mul(tf.mul(ss, tf.sub(1, ss)), 2), du);
      return [tf.mul(dy, tf.add(ss, tf.mul(xs, ds)))];
    },
  };
});

/**
 * The core of multi-head attention on projected q, k, v [B·T, D] (head h in columns
 * h·d … h·d+d): softmax(q·kᵀ/√d)·v per (sample, head), merged back to [B·T, D].
 * On wasm one fused kernel per direction (no transposes, no batched matmul); elsewhere
 * rank-4 transposes and batched matmuls.
 */
export function multiHeadAttention(q: tf.Tensor2D, k: tf.Tensor2D, v: tf.Tensor2D, batch: number, heads: number): tf.Tensor2D {
  if (wasmKernelsActive()) return fusedAttention(q, k, v, batch, heads);
  return attentionOps(q, k, v, batch, heads);
}

const fusedAttention = (q: tf.Tensor2D, k: tf.Tensor2D, v: tf.Tensor2D, batch: number, heads: number): tf.Tensor2D =>
  defineOp<(q: tf.Tensor2D, k: tf.Tensor2D, v: tf.Tensor2D) => tf.Tensor2D>(([qi, ki, vi], save) => {
    const [out, probs] = run<T[]>('LgAttention', { q: qi!, k: ki!, v: vi! }, { batch, heads });
    save([qi!, ki!, vi!, probs!]);
    return {
      value: out!,
      gradFunc: (dy: T, saved: T[]) => {
        const [qs, ks, vs, ps] = saved as [T, T, T, T];
        return run<T[]>('LgAttentionGrad', { dy, q: qs, k: ks, v: vs, probs: ps }, { batch, heads });
      },
    };
  })(q, k, v);

function attentionOps(q2: tf.Tensor2D, k2: tf.Tensor2D, v2: tf.Tensor2D, batch: number, heads: number): tf.Tensor2D {
  const dim = q2.shape[1];
  const tokens = q2.shape[0] / batch;
  const headDim = dim / heads;
  // q, v: [B, T, H, d] → [B, H, T, d];  kᵀ: [B, T, H, d] → [B, H, d, T]
  const q = tf.reshape(tf.transpose(tf.reshape(q2, [batch, tokens, heads, headDim]), [0, 2, 1, 3]), [batch * heads, tokens, headDim]) as tf.Tensor3D;
  const kT = tf.reshape(tf.transpose(tf.reshape(k2, [batch, tokens, heads, headDim]), [0, 2, 3, 1]), [batch * heads, headDim, tokens]) as tf.Tensor3D;
  const v = tf.reshape(tf.transpose(tf.reshape(v2, [batch, tokens, heads, headDim]), [0, 2, 1, 3]), [batch * heads, tokens, headDim]) as tf.Tensor3D;
  const scores = batchMatMul(tf.mul(q, headDim ** -0.5) as tf.Tensor3D, kT); // [B·H, T, T]
  const weights = tf.softmax(scores) as tf.Tensor3D;
  const mixed = batchMatMul(weights, v); // [B·H, T, d]
  return tf.reshape(tf.transpose(tf.reshape(mixed, [batch, heads, tokens, headDim]), [0, 2, 1, 3]), [batch * tokens, dim]) as tf.Tensor2D;
}
