// FLOPs as pure arithmetic on a ViTConfig, for cost accounting (bench:sws, the studio's
// cost estimates). Convention (as fvcore/DeiT tables count, ×2): one multiply-add = 2
// FLOPs; only the matrix products are counted (patch embedding, q/k/v, attention scores
// QKᵀ and weights·V, output projection, the two MLP layers, the head). LayerNorm, GELU,
// softmax, bias adds and residuals are left out: at dim ≥ 64 they are a few percent.
// A training step costs ≈ 3× the forward pass (backward ≈ 2× forward).
// Companion of param-count.ts; no tfjs, no Node.

import { type ViTConfig, attnDim, mlpHidden, numPatches, numTokens } from './config.js';

/** Multiply-adds of one transformer block on one image (T tokens, width D, attention width A, MLP width H). */
export function blockMacs(config: ViTConfig): number {
  const t = numTokens(config);
  const d = config.dim;
  const a = attnDim(config);
  const h = mlpHidden(config);
  const projections = t * (3 * d * a + a * d + 2 * d * h); // qkv, proj, fc1, fc2
  const attention = 2 * t * t * a; // QKᵀ over all heads + attention·V
  return projections + attention;
}

/** Multiply-adds outside the blocks: patch embedding and head (the pooling is an average). */
export function stemMacs(config: ViTConfig): number {
  const patchEmbed = numPatches(config) * config.channels * config.patchSize * config.patchSize * config.dim;
  const head = config.dim * config.numClasses;
  return patchEmbed + head;
}

/** FLOPs of one forward pass of one image through a ViT of config.depth layers. */
export function vitForwardFlops(config: ViTConfig): number {
  return 2 * (stemMacs(config) + config.depth * blockMacs(config));
}

/** FLOPs of one training step per image (forward + backward ≈ 3× forward). */
export function vitTrainFlops(config: ViTConfig): number {
  return 3 * vitForwardFlops(config);
}

/**
 * FLOPs per image of a distillation step: the student's training step (an Aux-Net costs
 * what a plain ViT of the same depth does: sharing saves parameters, not compute) plus
 * the teacher's forward pass.
 */
export function distillTrainFlops(student: ViTConfig, teacher: ViTConfig): number {
  return vitTrainFlops(student) + vitForwardFlops(teacher);
}

/** 1.23e9 → "1.23 GFLOP", 4.5e12 → "4.50 TFLOP". */
export function formatFlops(n: number): string {
  if (n >= 1e15) return `${(n / 1e15).toFixed(2)} PFLOP`;
  if (n >= 1e12) return `${(n / 1e12).toFixed(2)} TFLOP`;
  if (n >= 1e9) return `${(n / 1e9).toFixed(2)} GFLOP`;
  if (n >= 1e6) return `${(n / 1e6).toFixed(2)} MFLOP`;
  return `${n} FLOP`;
}
