// A training step's loss and gradients on the active tfjs backend: the tfjs executor's
// gradient (engine/train/executor.ts), and the parity oracle the ONNX training graph is
// tested against. Drop-path scales are drawn here for the whole batch, as a pure
// function of (seed, global step), for both executors.
// Isomorphic: no Node imports here.

import * as tf from '@tensorflow/tfjs-core';
import '../gradients.js';
import type { DistillLossConfig } from '../../shared/config.js';
import type { Batch } from '../data/types.js';
import { Rng } from '../rng.js';
import { drawDropPath, type DropPathScales, forward, type Network } from '../model/vit.js';
import { trainingLoss } from './loss.js';
import { batchAgreement } from './evaluation.js';

/** What one step's gradient computation needs besides the weights. */
export interface StepInputs {
  network: Network;
  /** The variables to differentiate, by parameter name. */
  trainable: Map<string, tf.Variable>;
  batch: Batch;
  /** Drop-path scales for the whole batch (drawDropPath), or null when the net has none. */
  dropPath: DropPathScales | null;
  /** Teacher logits [B, K] for the whole batch, when distilling and already computed. */
  teacherLogits: tf.Tensor2D | null;
  labelSmoothing: number;
  distill: DistillLossConfig & { reduction?: 'batchmean' | 'numel' };
}

export interface StepGradients {
  /** Loss parts as numbers: total, ce, kd (when distilling). */
  losses: Record<string, number>;
  /** Gradient of the mean loss per trainable parameter name; the caller disposes them. */
  grads: Map<string, tf.Tensor>;
}

/** The part of a Teacher a step calls. */
export interface TeacherLike {
  readonly numClasses: number;
  logits(batch: Batch): Promise<tf.Tensor2D>;
}

/** The drop-path scales of a training step: a pure function of (seed, global step). */
export function stepDropPath(network: Network, seed: number, globalStep: number, batchSize: number): DropPathScales | null {
  if (network.config.dropPath <= 0) return null;
  return drawDropPath(network.config, Rng.derive(seed, 'drop-path', globalStep), batchSize);
}

/**
 * Differentiates the training loss of one batch (or slice) on the active backend.
 * Returns the loss parts as numbers and the gradients by parameter name.
 */
export async function lossAndGradients(inputs: StepInputs): Promise<StepGradients> {
  const { network, trainable, batch, dropPath, teacherLogits, labelSmoothing, distill } = inputs;
  const { channels, imageSize } = network.config;
  const images = tf.tensor4d(batch.images, [batch.size, channels, imageSize, imageSize]);
  const varList = [...trainable.values()];
  const partValues: Record<string, tf.Scalar> = {};
  let keptLogits = null as tf.Tensor | null;
  try {
    const { value, grads } = tf.variableGrads(() => {
      const logits = forward(network, images, dropPath ? { training: true, dropPath } : { training: true });
      keptLogits = tf.keep(logits);
      const loss = trainingLoss(logits, batch.labels, labelSmoothing, teacherLogits, distill);
      for (const [name, part] of Object.entries(loss.parts)) partValues[name] = tf.keep(part);
      return loss.total;
    }, varList);
    const losses: Record<string, number> = { total: (await value.data())[0]! };
    // (a part may be the total itself: read them all before disposing)
    for (const [name, part] of Object.entries(partValues)) losses[name] = (await part.data())[0]!;
    value.dispose();
    const studentLogits = (await keptLogits!.data()) as Float32Array;
    const teacherValues = teacherLogits ? ((await teacherLogits.data()) as Float32Array) : null;
    Object.assign(losses, batchAgreement(studentLogits, batch.labels, teacherValues, network.config.numClasses));
    const byName = new Map<string, tf.Tensor>();
    for (const [name, v] of trainable) {
      const g = grads[v.name];
      if (g) byName.set(name, g);
    }
    return { losses, grads: byName };
  } finally {
    images.dispose();
    keptLogits?.dispose();
    tf.dispose(Object.values(partValues));
  }
}
