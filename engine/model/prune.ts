// Structured pruning: drop whole attention heads and MLP hidden units from every block,
// keeping the same number in each, so the result is a smaller regular ViT (heads × headDim
// attention, an MLP of any width; shared/config.ts) that every path (forward, training,
// ONNX, tfjs, timm) handles as any other.
//
// What is removed, in memory layout (linear weights [in, out]):
//   head h   → columns h·d … (h+1)·d−1 of q, k, v (and their biases), the same rows of proj
//   unit j   → column j of fc1 (and its bias), row j of fc2
// Removing a head equals zeroing its rows of proj (its output enters only through them);
// removing a unit equals zeroing its row of fc2. The tests check exactly that.
//
// Importance, per block, of each head and unit:
//   'weight'  the L2 norm of every weight that reads or writes it (q/k/v columns and proj
//             rows; fc1 column and fc2 row), as magnitude pruning does;
//   'taylor'  first-order Taylor (Molchanov et al. 2019): the loss change of switching the
//             group off, estimated per batch as (Σ g·w over its proj rows / fc2 row)², the
//             derivative of the loss by a gate on the group's output, summed over batches.
//
// A group of block prefixes shares one choice: a plain ViT has one prefix per layer, an SWS
// learngene one per stage, a TLEG learngene the pair θA/θB (layer l uses θA + l/L·θB, so
// both must keep the same heads). Every descendant grown from a pruned learngene inherits
// its smaller blocks. Isomorphic: tfjs only.

import * as tf from '@tensorflow/tfjs-core';
import { type ViTConfig, ConfigError, attnDim, headDim, mlpHidden } from '../../shared/config.js';
import type { Batch } from '../data/types.js';
import type { NamedTensor, TensorMap } from '../io/safetensors.js';
import { lossAndGradients } from '../train/gradients.js';
import type { Network } from './vit.js';

/** Importance of each head and each MLP unit of one group of blocks (higher = keep). */
export interface GroupScores {
  heads: Float64Array;
  units: Float64Array;
}

/** What each group kept, as indices into the unpruned block (ascending). */
export interface KeptIndices {
  prefixes: string[];
  heads: number[];
  units: number[];
}

/** The block prefixes of a plain ViT: one group per layer. */
export function vitBlockGroups(config: ViTConfig): string[][] {
  return Array.from({ length: config.depth }, (_, i) => [`blocks.${i}.`]);
}

/**
 * How many of `total` a keep value means: a fraction in (0, 1], or a whole count above 1.
 * Throws one ConfigError naming `field` for 0, negatives, more than `total`, or a fraction
 * that keeps nothing.
 */
export function keptCount(value: number, total: number, field: string, what: string, owner = 'model'): number {
  const fail = (message: string) => new ConfigError([{ field, message }]);
  if (!Number.isFinite(value) || value <= 0) {
    throw fail(`must keep something: a fraction in (0, 1] or a count of ${what} from 1 to ${total}, got ${value}`);
  }
  if (value <= 1) {
    const count = Math.round(value * total);
    if (count < 1) throw fail(`${value} of ${total} ${what} keeps none (the smallest fraction that keeps one is ${(1 / total).toPrecision(3)})`);
    return count;
  }
  if (!Number.isInteger(value)) throw fail(`${value} is neither a fraction in (0, 1] nor a whole count of ${what}`);
  if (value > total) throw fail(`cannot keep ${value} ${what}: the ${owner} has ${total}`);
  return value;
}

function need(tensors: TensorMap, name: string): NamedTensor {
  const t = tensors.get(name);
  if (!t) throw new Error(`pruning: no tensor "${name}"`);
  return t;
}

/** Σ x² over columns [c0, c1) of a row-major [rows, cols] matrix. */
function columnsSquared(t: NamedTensor, c0: number, c1: number): number {
  const cols = t.shape[1]!;
  let sum = 0;
  for (let r = 0; r < t.shape[0]!; r++) {
    for (let c = c0; c < c1; c++) sum += t.data[r * cols + c]! ** 2;
  }
  return sum;
}

/** Σ x² over rows [r0, r1) of a row-major [rows, cols] matrix. */
function rowsSquared(t: NamedTensor, r0: number, r1: number): number {
  const cols = t.shape[1]!;
  let sum = 0;
  for (let i = r0 * cols; i < r1 * cols; i++) sum += t.data[i]! ** 2;
  return sum;
}

/** Weight-norm importance of every group (memory-layout tensors). */
export function weightNormScores(config: ViTConfig, tensors: TensorMap, groups: string[][]): GroupScores[] {
  const d = headDim(config);
  const width = mlpHidden(config);
  return groups.map((prefixes) => {
    const heads = new Float64Array(config.heads);
    const units = new Float64Array(width);
    for (const p of prefixes) {
      for (let h = 0; h < config.heads; h++) {
        for (const part of ['q', 'k', 'v']) heads[h] += columnsSquared(need(tensors, `${p}attn.${part}.weight`), h * d, (h + 1) * d);
        heads[h] += rowsSquared(need(tensors, `${p}attn.proj.weight`), h * d, (h + 1) * d);
      }
      for (let j = 0; j < width; j++) {
        units[j] += columnsSquared(need(tensors, `${p}mlp.fc1.weight`), j, j + 1) + rowsSquared(need(tensors, `${p}mlp.fc2.weight`), j, j + 1);
      }
    }
    return { heads: heads.map(Math.sqrt), units: units.map(Math.sqrt) };
  });
}

/**
 * First-order Taylor importance of every group on `batches` (cross-entropy on the labels,
 * inference mode). `network` holds the variables the prefixes name (a ViT, or an Aux-Net
 * for a learngene); its head must predict the batches' labels.
 */
export async function taylorScores(network: Network, groups: string[][], batches: AsyncIterable<Batch> | Iterable<Batch>): Promise<GroupScores[]> {
  const { config } = network;
  const d = headDim(config);
  const width = mlpHidden(config);
  const trainable = new Map<string, tf.Variable>();
  for (const name of groups.flat().flatMap((p) => [`${p}attn.proj.weight`, `${p}mlp.fc2.weight`])) {
    const v = network.params.get(name);
    if (!v) throw new Error(`pruning: the network has no "${name}"`);
    trainable.set(name, v);
  }
  const scores = groups.map(() => ({ heads: new Float64Array(config.heads), units: new Float64Array(width) }));
  let seen = 0;
  for await (const batch of batches) {
    const { grads } = await lossAndGradients({ network, trainable, batch, dropPath: null, teacherLogits: null, labelSmoothing: 0, distill: { alpha: 0, tau: 1 } });
    try {
      // Per group, the gate derivatives of this batch: Σ g·w over each head's proj rows and each unit's fc2 row.
      const gates = groups.map(() => ({ heads: new Float64Array(config.heads), units: new Float64Array(width) }));
      for (const [g, prefixes] of groups.entries()) {
        for (const p of prefixes) {
          for (const [suffix, out, rowsPer] of [['attn.proj.weight', gates[g]!.heads, d], ['mlp.fc2.weight', gates[g]!.units, 1]] as const) {
            const w = trainable.get(p + suffix)!;
            const product = tf.tidy(() => tf.sum(tf.mul(grads.get(p + suffix)!, w), 1));
            const perRow = (await product.data()) as Float32Array;
            product.dispose();
            for (let r = 0; r < perRow.length; r++) out[Math.floor(r / rowsPer)] += perRow[r]!;
          }
        }
      }
      for (const [g, gate] of gates.entries()) {
        gate.heads.forEach((x, h) => (scores[g]!.heads[h] += x * x));
        gate.units.forEach((x, j) => (scores[g]!.units[j] += x * x));
      }
    } finally {
      for (const g of grads.values()) g.dispose();
    }
    seen++;
  }
  if (seen === 0) throw new Error('Taylor importance needs at least one batch');
  return scores;
}

/** Indices of the `count` highest scores, ascending (ties: the lower index wins). */
export function topIndices(scores: ArrayLike<number>, count: number): number[] {
  return Array.from({ length: scores.length }, (_, i) => i)
    .sort((a, b) => scores[b]! - scores[a]! || a - b)
    .slice(0, count)
    .sort((a, b) => a - b);
}

function takeColumns(t: NamedTensor, cols: number[]): NamedTensor {
  const [rows, width] = t.shape as [number, number];
  const data = new Float32Array(rows * cols.length);
  for (let r = 0; r < rows; r++) cols.forEach((c, i) => (data[r * cols.length + i] = t.data[r * width + c]!));
  return { shape: [rows, cols.length], data };
}

function takeRows(t: NamedTensor, rows: number[]): NamedTensor {
  const width = t.shape.length === 2 ? t.shape[1]! : 1;
  const data = new Float32Array(rows.length * width);
  rows.forEach((r, i) => data.set(t.data.subarray(r * width, (r + 1) * width), i * width));
  return { shape: t.shape.length === 2 ? [rows.length, width] : [rows.length], data };
}

/** The config of a model with `heads` heads and `units` MLP units kept per block. */
export function prunedConfig(config: ViTConfig, heads: number, units: number): ViTConfig {
  const out: ViTConfig = { ...config, heads, mlpRatio: units / config.dim };
  if (heads !== config.heads) out.headDim = headDim(config);
  // Keeping every head leaves the attention as wide as before: no headDim needed.
  if (attnDim(out) === config.dim) delete out.headDim;
  return out;
}

/**
 * Prunes every group of blocks in `tensors` (memory layout; other tensors are copied
 * as they are) to `heads` heads and `units` MLP units chosen by `scores`.
 */
export function pruneBlocks(
  config: ViTConfig,
  tensors: TensorMap,
  groups: string[][],
  scores: GroupScores[],
  keep: { heads: number; units: number },
): { config: ViTConfig; tensors: TensorMap; kept: KeptIndices[] } {
  const d = headDim(config);
  const out: TensorMap = new Map();
  for (const [name, t] of tensors) out.set(name, { shape: t.shape.slice(), data: t.data.slice() });
  const kept = groups.map((prefixes, g) => {
    const heads = topIndices(scores[g]!.heads, keep.heads);
    const units = topIndices(scores[g]!.units, keep.units);
    const attnCols = heads.flatMap((h) => Array.from({ length: d }, (_, i) => h * d + i));
    for (const p of prefixes) {
      for (const part of ['q', 'k', 'v']) {
        out.set(`${p}attn.${part}.weight`, takeColumns(need(tensors, `${p}attn.${part}.weight`), attnCols));
        const bias = tensors.get(`${p}attn.${part}.bias`);
        if (bias) out.set(`${p}attn.${part}.bias`, takeRows(bias, attnCols));
      }
      out.set(`${p}attn.proj.weight`, takeRows(need(tensors, `${p}attn.proj.weight`), attnCols));
      out.set(`${p}mlp.fc1.weight`, takeColumns(need(tensors, `${p}mlp.fc1.weight`), units));
      out.set(`${p}mlp.fc1.bias`, takeRows(need(tensors, `${p}mlp.fc1.bias`), units));
      out.set(`${p}mlp.fc2.weight`, takeRows(need(tensors, `${p}mlp.fc2.weight`), units));
    }
    return { prefixes, heads, units };
  });
  return { config: prunedConfig(config, keep.heads, keep.units), tensors: out, kept };
}
