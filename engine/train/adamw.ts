// AdamW with decoupled weight decay, written step for step as torch.optim.AdamW
// (single-tensor path), plus global-norm gradient clipping as torch's clip_grad_norm_.

import * as tf from '@tensorflow/tfjs-core';
import type { Params } from '../model/vit.js';
import type { TensorMap } from '../io/safetensors.js';
import { wasmKernelsActive } from '../kernels/wasm-kernels.js';

export interface AdamWHyper {
  beta1: number;
  beta2: number;
  eps: number;
  weightDecay: number;
}

/**
 * timm's rule: no decay for 1-D parameters (biases, norm scales) and the embeddings
 * pos_embed / cls_token.
 */
export function decays(name: string, shape: readonly number[]): boolean {
  if (shape.length <= 1) return false;
  const leaf = name.split('.').pop()!;
  return leaf !== 'pos_embed' && leaf !== 'cls_token' && !name.endsWith('pos_embed') && !name.endsWith('cls_token');
}

export class AdamW {
  step = 0;
  private readonly m = new Map<string, tf.Variable>();
  private readonly v = new Map<string, tf.Variable>();

  constructor(
    private readonly params: Params,
    readonly hyper: AdamWHyper,
    /** Which parameters get weight decay; timm's rule by default. */
    private readonly decayFilter: (name: string, shape: readonly number[]) => boolean = decays,
  ) {
    for (const [name, p] of params) {
      this.m.set(name, tf.variable(tf.zerosLike(p), false));
      this.v.set(name, tf.variable(tf.zerosLike(p), false));
    }
  }

  /** Applies one update with learning rate `lr`; `grads` by parameter name. */
  apply(grads: Map<string, tf.Tensor>, lr: number): void {
    this.step += 1;
    const { beta1, beta2, eps, weightDecay } = this.hyper;
    const bias1 = 1 - beta1 ** this.step;
    const bias2Sqrt = Math.sqrt(1 - beta2 ** this.step);
    if (wasmKernelsActive()) {
      // One fused kernel per parameter (same operations in the same order as below).
      tf.tidy(() => {
        for (const [name, p] of this.params) {
          const g = grads.get(name);
          if (!g) continue;
          const m = this.m.get(name)!;
          const v = this.v.get(name)!;
          const decay = this.decayFilter(name, p.shape) && weightDecay > 0 ? 1 - lr * weightDecay : 1;
          const [pNext, mNext, vNext] = tf.engine().runKernel('LgAdamW', { p, g, m, v }, {
            gscale: 1, beta1, beta2, eps, decay, stepSize: lr / bias1, bias2Sqrt,
          } as unknown as tf.NamedAttrMap) as tf.Tensor[];
          p.assign(pNext!);
          m.assign(mNext!);
          v.assign(vNext!);
        }
      });
      return;
    }
    tf.tidy(() => {
      for (const [name, p] of this.params) {
        const g = grads.get(name);
        if (!g) continue;
        const m = this.m.get(name)!;
        const v = this.v.get(name)!;
        const decayed = this.decayFilter(name, p.shape) && weightDecay > 0 ? tf.mul(p, 1 - lr * weightDecay) : p;
        const mNext = tf.add(tf.mul(m, beta1), tf.mul(g, 1 - beta1));
        const vNext = tf.add(tf.mul(v, beta2), tf.mul(tf.square(g), 1 - beta2));
        const denom = tf.add(tf.div(tf.sqrt(vNext), bias2Sqrt), eps);
        p.assign(tf.sub(decayed, tf.mul(tf.div(mNext, denom), lr / bias1)));
        m.assign(mNext);
        v.assign(vNext);
      }
    });
  }

  /** Moments as tensors named `adam_m.<param>` / `adam_v.<param>`, for checkpoints. */
  stateTensors(): TensorMap {
    const out: TensorMap = new Map();
    for (const [name, m] of this.m) out.set(`adam_m.${name}`, { shape: m.shape.slice(), data: m.dataSync() as Float32Array });
    for (const [name, v] of this.v) out.set(`adam_v.${name}`, { shape: v.shape.slice(), data: v.dataSync() as Float32Array });
    return out;
  }

  loadState(tensors: TensorMap, step: number): void {
    for (const [name, m] of this.m) {
      const saved = tensors.get(`adam_m.${name}`);
      const savedV = tensors.get(`adam_v.${name}`);
      if (!saved || !savedV) throw new Error(`checkpoint has no optimizer state for "${name}"`);
      tf.tidy(() => {
        m.assign(tf.tensor(saved.data, m.shape));
        this.v.get(name)!.assign(tf.tensor(savedV.data, m.shape));
      });
    }
    this.step = step;
  }

  dispose(): void {
    for (const t of [...this.m.values(), ...this.v.values()]) t.dispose();
  }
}

/**
 * Scales gradients so their global L2 norm is at most maxNorm (torch:
 * coef = maxNorm / (norm + 1e-6), applied when < 1). Returns the pre-clip norm.
 */
export function clipGradients(grads: Map<string, tf.Tensor>, maxNorm: number): { grads: Map<string, tf.Tensor>; norm: tf.Scalar } {
  const norm = tf.tidy(() => {
    const squares = [...grads.values()].map((g) => tf.sum(tf.square(g)));
    // A chain of adds in order (what addN computes on wasm/cpu): webgpu's AddN binds every
    // input in one shader and breaks past the device's storage-buffer limit.
    let total: tf.Tensor = squares[0] ?? tf.scalar(0);
    for (let i = 1; i < squares.length; i++) total = tf.add(total, squares[i]!);
    return tf.sqrt(total) as tf.Scalar;
  });
  if (!(maxNorm > 0)) return { grads, norm };
  const clipped = new Map<string, tf.Tensor>();
  tf.tidy(() => {
    const coef = tf.clipByValue(tf.div(maxNorm, tf.add(norm, 1e-6)), 0, 1);
    for (const [name, g] of grads) clipped.set(name, tf.keep(tf.mul(g, coef)));
  });
  for (const g of grads.values()) g.dispose();
  return { grads: clipped, norm };
}
