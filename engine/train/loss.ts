// Classification and distillation losses. All reduce to a scalar mean over the batch.

import * as tf from '@tensorflow/tfjs-core';
import type { DistillLossConfig } from '../../shared/config.js';

/** Smoothed one-hot targets [B·K]: (1 - ε)·onehot + ε/K (PyTorch's label_smoothing). */
export function smoothedTargetValues(labels: Int32Array, numClasses: number, smoothing: number): Float32Array {
  const data = new Float32Array(labels.length * numClasses).fill(smoothing / numClasses);
  for (let i = 0; i < labels.length; i++) data[i * numClasses + labels[i]!]! += 1 - smoothing;
  return data;
}

export function smoothedTargets(labels: Int32Array, numClasses: number, smoothing: number): tf.Tensor2D {
  return tf.tensor2d(smoothedTargetValues(labels, numClasses, smoothing), [labels.length, numClasses]);
}

/** Mean cross-entropy of logits [B, K] against integer labels, with label smoothing. */
export function crossEntropy(logits: tf.Tensor2D, labels: Int32Array, smoothing = 0): tf.Scalar {
  return tf.tidy(() => {
    const targets = smoothedTargets(labels, logits.shape[1], smoothing);
    return tf.div(tf.neg(tf.sum(tf.mul(targets, tf.logSoftmax(logits)))), logits.shape[0]) as tf.Scalar;
  });
}

/**
 * τ²·KL(softmax(t/τ) ‖ softmax(s/τ)). 'batchmean' sums over classes and averages over
 * the batch (the KL divergence per sample); 'numel' divides by B·K as DeiT/SWS code does
 * (`F.kl_div(..., reduction='sum') / outputs.numel()`), which scales the loss by 1/K.
 */
export function distillationKL(
  student: tf.Tensor2D,
  teacher: tf.Tensor2D,
  tau: number,
  reduction: 'batchmean' | 'numel' = 'batchmean',
): tf.Scalar {
  return tf.tidy(() => {
    const logP = tf.logSoftmax(tf.div(teacher, tau));
    const logQ = tf.logSoftmax(tf.div(student, tau));
    const kl = tf.sum(tf.mul(tf.exp(logP), tf.sub(logP, logQ)));
    const divisor = reduction === 'numel' ? student.shape[0] * student.shape[1] : student.shape[0];
    return tf.mul(kl, (tau * tau) / divisor) as tf.Scalar;
  });
}

export interface LossParts {
  total: tf.Scalar;
  /** Named components for progress (ce, kd). */
  parts: Record<string, tf.Scalar>;
}

/** (1 - α)·CE(labels) + α·KD(teacher); plain CE when there is no teacher. */
export function trainingLoss(
  logits: tf.Tensor2D,
  labels: Int32Array,
  smoothing: number,
  teacherLogits: tf.Tensor2D | null,
  distill: DistillLossConfig & { reduction?: 'batchmean' | 'numel' },
): LossParts {
  const ce = crossEntropy(logits, labels, smoothing);
  if (!teacherLogits) return { total: ce, parts: { ce } };
  const kd = distillationKL(logits, teacherLogits, distill.tau, distill.reduction);
  const total = tf.add(tf.mul(ce, 1 - distill.alpha), tf.mul(kd, distill.alpha)) as tf.Scalar;
  return { total, parts: { ce, kd } };
}
