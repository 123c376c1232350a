// What an evaluation explains beyond top-1: the confusion matrix, per-class accuracy,
// precision and recall, and the most confident mistakes, accumulated batch by batch from
// the logits `evaluate` computes anyway. Pure arithmetic; isomorphic.

import type { ClassMetrics, ConfusionExamples, Mistake } from '../../shared/results.js';

export interface TallyOptions {
  /** How many of the most confident mistakes to keep. */
  mistakes: number;
  /** Dataset indices kept per confusion cell (for thumbnails); 0 keeps none. */
  examplesPerCell: number;
}

/** Softmax of one row of logits, in float64 (the max is subtracted first). */
export function softmaxRow(row: ArrayLike<number>): Float64Array {
  let max = -Infinity;
  for (let k = 0; k < row.length; k++) max = Math.max(max, row[k]!);
  const out = new Float64Array(row.length);
  let sum = 0;
  for (let k = 0; k < row.length; k++) sum += out[k] = Math.exp(row[k]! - max);
  for (let k = 0; k < row.length; k++) out[k]! /= sum;
  return out;
}

/** Index of the largest value; ties go to the lower index (as topKHits counts them). */
export function argmax(row: ArrayLike<number>): number {
  let best = 0;
  for (let k = 1; k < row.length; k++) if (row[k]! > row[best]!) best = k;
  return best;
}

/**
 * A training batch's running metrics from its logits [B·K]: `trainTop1`, the share whose
 * arg-max is the label, and with a teacher `agreement`, the share where student and
 * teacher pick the same class (distillation's progress in one number).
 */
export function batchAgreement(logits: Float32Array, labels: ArrayLike<number>, teacher: Float32Array | null, numClasses: number): { trainTop1: number; agreement?: number } {
  const n = labels.length;
  let correct = 0;
  let agree = 0;
  for (let i = 0; i < n; i++) {
    const student = argmax(logits.subarray(i * numClasses, (i + 1) * numClasses));
    if (student === labels[i]) correct++;
    if (teacher && student === argmax(teacher.subarray(i * numClasses, (i + 1) * numClasses))) agree++;
  }
  return { trainTop1: n ? correct / n : 0, ...(teacher ? { agreement: n ? agree / n : 0 } : {}) };
}

export class EvaluationTally {
  /** confusion[true][predicted], row-major C×C. */
  private readonly counts: Int32Array;
  private readonly worst: Mistake[] = [];
  private readonly examples = new Map<number, number[]>();

  constructor(readonly numClasses: number, private readonly options: TallyOptions) {
    this.counts = new Int32Array(numClasses * numClasses);
  }

  /**
   * Adds one batch: logits [B·K], labels, and each image's dataset index (what a user
   * looks up: the index in the split as the dataset lists it).
   */
  add(logits: Float32Array, labels: ArrayLike<number>, datasetIndices: ArrayLike<number>): void {
    const k = this.numClasses;
    for (let i = 0; i < labels.length; i++) {
      const row = logits.subarray(i * k, (i + 1) * k);
      const truth = labels[i]!;
      const predicted = argmax(row);
      this.counts[truth * k + predicted]! += 1;
      const index = datasetIndices[i]!;
      if (this.options.examplesPerCell > 0) {
        const cell = truth * k + predicted;
        const kept = this.examples.get(cell) ?? [];
        if (kept.length < this.options.examplesPerCell) {
          kept.push(index);
          this.examples.set(cell, kept);
        }
      }
      if (predicted !== truth && this.options.mistakes > 0) {
        const probabilities = softmaxRow(row);
        this.keepMistake({ index, true: truth, predicted, probability: probabilities[predicted]!, trueProbability: probabilities[truth]! });
      }
    }
  }

  /** Keeps the `mistakes` most confident ones (sorted, highest probability first). */
  private keepMistake(mistake: Omit<Mistake, 'label' | 'predictedLabel'>): void {
    const limit = this.options.mistakes;
    if (this.worst.length >= limit && mistake.probability <= this.worst[this.worst.length - 1]!.probability) return;
    const at = this.worst.findIndex((m) => mistake.probability > m.probability);
    this.worst.splice(at < 0 ? this.worst.length : at, 0, { ...mistake, label: '', predictedLabel: '' });
    if (this.worst.length > limit) this.worst.pop();
  }

  /** The confusion matrix as rows (true class) of counts per predicted class. */
  confusion(): number[][] {
    const k = this.numClasses;
    return Array.from({ length: k }, (_, t) => Array.from(this.counts.subarray(t * k, (t + 1) * k)));
  }

  /**
   * Per class c: n images of c; recall = correct / n; precision = correct / predicted as c;
   * accuracy = recall (torchmetrics' per-class `MulticlassAccuracy(average=None)`).
   * A class never predicted has precision 0; a class with no images has recall 0.
   */
  perClass(classNames: readonly string[]): ClassMetrics[] {
    const k = this.numClasses;
    return Array.from({ length: k }, (_, c) => {
      let n = 0;
      let predicted = 0;
      for (let j = 0; j < k; j++) {
        n += this.counts[c * k + j]!;
        predicted += this.counts[j * k + c]!;
      }
      const correct = this.counts[c * k + c]!;
      const recall = n > 0 ? correct / n : 0;
      return { label: classNames[c] ?? String(c), accuracy: recall, precision: predicted > 0 ? correct / predicted : 0, recall, n };
    });
  }

  mistakes(classNames: readonly string[]): Mistake[] {
    return this.worst.map((m) => ({ ...m, label: classNames[m.true] ?? String(m.true), predictedLabel: classNames[m.predicted] ?? String(m.predicted) }));
  }

  /** Dataset indices of a few images per non-empty cell. */
  cellExamples(): ConfusionExamples[] {
    const k = this.numClasses;
    return [...this.examples].sort((a, b) => a[0] - b[0]).map(([cell, indices]) => ({ true: Math.floor(cell / k), predicted: cell % k, indices }));
  }
}
