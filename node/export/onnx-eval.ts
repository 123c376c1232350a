// Evaluation of an ONNX model on a batch loader, the metrics `learngene evaluate` reports
// for our own models (loss, top-1, top-5), so an export (float or int8) is judged on the
// same images and by the same counting as the model it came from.

import type { EvalMetrics } from '../../shared/events.js';
import type { Batch } from '../../engine/data/types.js';
import { topKHits } from '../../engine/train/loop.js';

export interface EvalSource {
  readonly stepsPerEpoch: number;
  batch(epoch: number, step: number): Promise<Batch>;
}

/** Mean cross-entropy of logits rows against labels (log-sum-exp, in float64). */
function crossEntropySum(logits: Float32Array, labels: Int32Array, numClasses: number): number {
  let sum = 0;
  for (let i = 0; i < labels.length; i++) {
    const row = logits.subarray(i * numClasses, (i + 1) * numClasses);
    let max = -Infinity;
    for (const v of row) max = Math.max(max, v);
    let exp = 0;
    for (const v of row) exp += Math.exp(v - max);
    sum += max + Math.log(exp) - row[labels[i]!]!;
  }
  return sum;
}

/**
 * Loss / top-1 / top-5 of `logitsOf` (a session's logits [B, K] for a batch) over every
 * batch of `source`; `observe` sees each batch's logits (the confusion tally of evaluate).
 */
export async function evaluateLogits(
  source: EvalSource, numClasses: number, logitsOf: (batch: Batch) => Promise<Float32Array>, observe?: (logits: Float32Array, batch: Batch) => void,
): Promise<EvalMetrics> {
  let loss = 0;
  let top1 = 0;
  let top5 = 0;
  let n = 0;
  for (let step = 0; step < source.stepsPerEpoch; step++) {
    const batch = await source.batch(0, step);
    const logits = await logitsOf(batch);
    observe?.(logits, batch);
    loss += crossEntropySum(logits, batch.labels, numClasses);
    const hits = topKHits(logits, batch.labels, numClasses);
    top1 += hits.top1;
    top5 += hits.top5;
    n += batch.size;
  }
  return { loss: n > 0 ? loss / n : NaN, top1: n > 0 ? top1 / n : 0, top5: n > 0 ? top5 / n : 0, n };
}
