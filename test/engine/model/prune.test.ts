// Structured pruning, checked against the engine itself: a pruned network must compute
// exactly what the unpruned one computes with the dropped heads' projection rows and the
// dropped units' fc2 rows zeroed; weight-norm scores against a hand computation; Taylor
// scores against finite differences of the loss; learngenes (SWS stages, TLEG θA/θB).

import { describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import '../../../engine/gradients.js';
import { attnDim, ConfigError, mlpHidden, validateViTConfig, type AuxNetConfig, type ViTConfig } from '../../../shared/config.js';
import { blockParamCount, vitParamCount } from '../../../shared/param-count.js';
import { blockParamShapes, createViT, disposeParams, forward, paramsFromTensors, tensorsFromParams, VisionTransformer, vitParamShapes } from '../../../engine/model/vit.js';
import { keptCount, pruneBlocks, taylorScores, topIndices, vitBlockGroups, weightNormScores, type GroupScores } from '../../../engine/model/prune.js';
import { createAuxNet, stagePrefix, TLEG_A, TLEG_B } from '../../../engine/sws/auxnet.js';
import { extractLearngene, growDescendant } from '../../../engine/sws/learngene.js';
import { crossEntropy } from '../../../engine/train/loss.js';
import type { TensorMap } from '../../../engine/io/safetensors.js';
import { maxAbsDiff, useBackend } from '../../helpers/fixtures.js';

await useBackend('wasm');

const base: ViTConfig = { imageSize: 8, channels: 1, patchSize: 4, dim: 16, depth: 2, heads: 4, mlpRatio: 2, qkvBias: true, pooling: 'avg', layerNormEps: 1e-6, gelu: 'exact', dropPath: 0, numClasses: 3 };
const pixels = Float32Array.from({ length: 5 * 64 }, (_, i) => Math.sin(i * 0.37) + 0.3 * Math.cos(i * 1.3));
const labels = new Int32Array([0, 1, 2, 1, 0]);

/** A seeded ViT with weights large enough that every head and unit matters. */
function randomTensors(config: ViTConfig, seed: number): TensorMap {
  const net = createViT(config, seed);
  const tensors = tensorsFromParams(net.params);
  disposeParams(net.params);
  for (const [name, t] of tensors) {
    if (name.endsWith('.weight') && !name.includes('norm')) t.data.forEach((_, i) => (t.data[i] = t.data[i]! * 12 + 0.05 * Math.sin(i + name.length)));
    if (name.endsWith('.bias')) t.data.forEach((_, i) => (t.data[i] = 0.1 * Math.cos(i * 0.7 + name.length)));
  }
  return tensors;
}

function logitsOf(config: ViTConfig, tensors: TensorMap): Float32Array {
  const net = new VisionTransformer(config, paramsFromTensors(tensors, vitParamShapes(config), 'test'));
  const out = tf.tidy(() => forward(net, tf.tensor4d(pixels, [5, 1, 8, 8]), { training: false }).dataSync() as Float32Array);
  disposeParams(net.params);
  return out;
}

/** The unpruned tensors with everything a pruning dropped switched off (proj rows of dropped heads, fc2 rows of dropped units). */
function masked(config: ViTConfig, tensors: TensorMap, kept: { prefixes: string[]; heads: number[]; units: number[] }[]): TensorMap {
  const out: TensorMap = new Map([...tensors].map(([n, t]) => [n, { shape: t.shape.slice(), data: t.data.slice() }]));
  const d = attnDim(config) / config.heads;
  for (const group of kept) {
    for (const p of group.prefixes) {
      const proj = out.get(`${p}attn.proj.weight`)!;
      for (let h = 0; h < config.heads; h++) if (!group.heads.includes(h)) proj.data.fill(0, h * d * config.dim, (h + 1) * d * config.dim);
      const fc2 = out.get(`${p}mlp.fc2.weight`)!;
      for (let j = 0; j < mlpHidden(config); j++) if (!group.units.includes(j)) fc2.data.fill(0, j * config.dim, (j + 1) * config.dim);
    }
  }
  return out;
}

describe('pruned ViT configs', () => {
  it('keep today\'s shapes when no headDim is given, and count a pruned block by its widths', () => {
    expect(attnDim(base)).toBe(16);
    const pruned: ViTConfig = { ...base, heads: 2, headDim: 4, mlpRatio: 11 / 16 };
    expect(validateViTConfig(pruned)).toEqual([]);
    expect(attnDim(pruned)).toBe(8);
    expect(mlpHidden(pruned)).toBe(11);
    const shapes = blockParamShapes(pruned);
    expect(shapes.get('attn.q.weight')).toEqual([16, 8]);
    expect(shapes.get('attn.proj.weight')).toEqual([8, 16]);
    expect(shapes.get('mlp.fc1.weight')).toEqual([16, 11]);
    const size = (m: Map<string, number[]>) => [...m.values()].reduce((a, s) => a + s.reduce((x, y) => x * y, 1), 0);
    expect(blockParamCount(pruned)).toBe(size(shapes));
    expect(vitParamCount(pruned)).toBe(size(vitParamShapes(pruned)));
    expect(validateViTConfig({ ...base, headDim: 2.5 })).toEqual([{ field: 'headDim', message: 'must be a positive integer when given, got 2.5' }]);
    // Any width w is round(dim · w / dim): the MLP can have any number of units.
    for (let w = 1; w <= 300; w++) expect(mlpHidden({ dim: 48, mlpRatio: w / 48 })).toBe(w);
  });
});

describe('structured pruning of a ViT', () => {
  it('equals the unpruned network with the dropped heads and units switched off (weight-norm choice)', () => {
    for (const config of [base, { ...base, pooling: 'cls' as const, qkvBias: false, gelu: 'tanh' as const }]) {
      const tensors = randomTensors(config, 3);
      const groups = vitBlockGroups(config);
      const result = pruneBlocks(config, tensors, groups, weightNormScores(config, tensors, groups), { heads: 2, units: 13 });
      expect(result.config).toEqual({ ...config, heads: 2, headDim: 4, mlpRatio: 13 / 16 });
      expect(result.kept.map((k) => k.heads.length)).toEqual([2, 2]);
      const pruned = logitsOf(result.config, result.tensors);
      const reference = logitsOf(config, masked(config, tensors, result.kept));
      expect(maxAbsDiff(pruned, reference)).toBeLessThan(1e-4);
      // …and the pruning did change the function (the test could fail).
      expect(maxAbsDiff(pruned, logitsOf(config, tensors))).toBeGreaterThan(1e-3);
    }
  });

  it('keeps everything when asked to keep everything', () => {
    const tensors = randomTensors(base, 4);
    const groups = vitBlockGroups(base);
    const result = pruneBlocks(base, tensors, groups, weightNormScores(base, tensors, groups), { heads: 4, units: 32 });
    expect(result.config).toEqual(base);
    for (const [name, t] of tensors) expect(result.tensors.get(name)!.data).toEqual(t.data);
  });

  it('scores a head by the L2 norm of its q/k/v columns and proj rows, a unit by its fc1 column and fc2 row', () => {
    const config: ViTConfig = { ...base, dim: 2, heads: 2, mlpRatio: 1, depth: 1 };
    const t = (shape: number[], values: number[]) => ({ shape, data: Float32Array.from(values) });
    const tensors: TensorMap = new Map([
      ['blocks.0.attn.q.weight', t([2, 2], [1, 2, 3, 4])],
      ['blocks.0.attn.k.weight', t([2, 2], [0, 1, 0, 1])],
      ['blocks.0.attn.v.weight', t([2, 2], [2, 0, 0, 0])],
      ['blocks.0.attn.proj.weight', t([2, 2], [1, 1, 0, 5])],
      ['blocks.0.mlp.fc1.weight', t([2, 2], [1, 0, 1, 2])],
      ['blocks.0.mlp.fc2.weight', t([2, 2], [3, 0, 0, 1])],
    ]);
    const [scores] = weightNormScores(config, tensors, vitBlockGroups(config));
    // head 0: q col 0 (1, 3), k col 0 (0, 0), v col 0 (2, 0), proj row 0 (1, 1) → 1+9+4+1+1 = 16
    // head 1: q col 1 (2, 4), k col 1 (1, 1), v col 1 (0, 0), proj row 1 (0, 5) → 4+16+1+1+25 = 47
    expect([...scores!.heads]).toEqual([4, Math.sqrt(47)]);
    // unit 0: fc1 col 0 (1, 1), fc2 row 0 (3, 0) → 11; unit 1: fc1 col 1 (0, 2), fc2 row 1 (0, 1) → 5
    expect([...scores!.units]).toEqual([Math.sqrt(11), Math.sqrt(5)]);
    expect(topIndices([3, 1, 3, 2], 2)).toEqual([0, 2]);
    expect(topIndices([1, 5, 5, 0], 1)).toEqual([1]); // a tie goes to the lower index
  });

  it('turns keep values into counts, and rejects bad ones with one error naming the field', () => {
    expect(keptCount(0.5, 4, 'headsKeep', 'heads')).toBe(2);
    expect(keptCount(1, 4, 'headsKeep', 'heads')).toBe(4);
    expect(keptCount(3, 4, 'headsKeep', 'heads')).toBe(3);
    expect(keptCount(0.5, 256, 'mlpKeep', 'MLP units')).toBe(128);
    const error = (value: number) => {
      try {
        keptCount(value, 4, 'headsKeep', 'heads');
      } catch (e) {
        expect(e).toBeInstanceOf(ConfigError);
        return (e as ConfigError).message;
      }
      return 'no error';
    };
    expect(error(0)).toBe('headsKeep: must keep something: a fraction in (0, 1] or a count of heads from 1 to 4, got 0');
    expect(error(6)).toBe('headsKeep: cannot keep 6 heads: the model has 4');
    expect(error(0.1)).toBe('headsKeep: 0.1 of 4 heads keeps none (the smallest fraction that keeps one is 0.250)');
    expect(error(2.5)).toBe('headsKeep: 2.5 is neither a fraction in (0, 1] nor a whole count of heads');
  });
});

describe('Taylor importance', () => {
  it('is the squared derivative of the loss by a gate on each head and unit, summed over batches', async () => {
    const config = base;
    const tensors = randomTensors(config, 5);
    const net = new VisionTransformer(config, paramsFromTensors(tensors, vitParamShapes(config), 'test'));
    const batch = { images: pixels, labels, size: 5 };
    const groups = vitBlockGroups(config);
    const twice = await taylorScores(net, groups, [batch, batch]);
    disposeParams(net.params);
    // The loss with head h of layer 1 (or unit j) scaled by g, by central differences at g = 1.
    const lossWithGate = (name: string, rows: [number, number], gate: number) => {
      const scaled: TensorMap = new Map(tensors);
      const t = tensors.get(name)!;
      const data = t.data.slice();
      for (let i = rows[0] * config.dim; i < rows[1] * config.dim; i++) data[i] = data[i]! * gate;
      scaled.set(name, { shape: t.shape, data });
      const n = new VisionTransformer(config, paramsFromTensors(scaled, vitParamShapes(config), 'test'));
      const value = tf.tidy(() => crossEntropy(forward(n, tf.tensor4d(pixels, [5, 1, 8, 8]), { training: false }), labels).dataSync()[0]!);
      disposeParams(n.params);
      return value;
    };
    const eps = 1e-2;
    const derivative = (name: string, rows: [number, number]) => (lossWithGate(name, rows, 1 + eps) - lossWithGate(name, rows, 1 - eps)) / (2 * eps);
    const checks: [keyof GroupScores, number, string, [number, number]][] = [
      ['heads', 1, 'blocks.1.attn.proj.weight', [4, 8]],
      ['heads', 3, 'blocks.1.attn.proj.weight', [12, 16]],
      ['units', 7, 'blocks.1.mlp.fc2.weight', [7, 8]],
    ];
    for (const [kind, index, name, rows] of checks) {
      const d = derivative(name, rows);
      expect(Math.abs(d)).toBeGreaterThan(1e-4);
      // Two identical batches: twice the squared derivative of one.
      expect(twice[1]![kind][index]! / (2 * d * d)).toBeCloseTo(1, 1);
    }
  });
});

describe('pruning a learngene', () => {
  const aux: AuxNetConfig = { kind: 'sws', vit: { ...base, depth: 3 }, stages: [2, 1] };

  it('SWS: every descendant layer inherits its stage\'s smaller block, and grows into a runnable ViT', () => {
    const net = createAuxNet(aux, 2);
    const learngene = extractLearngene('sws', aux.stages, aux.vit, tensorsFromParams(net.params), true);
    disposeParams(net.params);
    const groups = aux.stages.map((_, s) => [stagePrefix(s)]);
    const pruned = pruneBlocks(aux.vit, learngene.tensors, groups, weightNormScores(aux.vit, learngene.tensors, groups), { heads: 1, units: 8 });
    const grown = growDescendant({ ...learngene, config: pruned.config, tensors: pruned.tensors }, { depth: 4, layersSource: [0, 0, 1, 1], numClasses: 3, seed: 0 });
    expect(grown.config).toEqual({ ...pruned.config, depth: 4 });
    expect(attnDim(grown.config)).toBe(4);
    for (const [layer, stage] of [[0, 0], [1, 0], [2, 1], [3, 1]] as const) {
      expect(grown.tensors.get(`blocks.${layer}.attn.q.weight`)!.data).toEqual(pruned.tensors.get(`${stagePrefix(stage)}attn.q.weight`)!.data);
    }
    const logits = logitsOf(grown.config, grown.tensors);
    expect(logits.every(Number.isFinite)).toBe(true);
  });

  it('TLEG: θA and θB keep the same heads, so pruning commutes with the linear expansion', () => {
    const tleg: AuxNetConfig = { kind: 'tleg', vit: { ...base, depth: 3 }, stages: [3] };
    const net = createAuxNet(tleg, 6);
    const tensors = tensorsFromParams(net.params);
    disposeParams(net.params);
    for (const [name, t] of tensors) if (name.startsWith(TLEG_B)) t.data.forEach((_, i) => (t.data[i] = 0.3 * Math.sin(i + name.length)));
    const learngene = extractLearngene('tleg', tleg.stages, tleg.vit, tensors, true);
    const groups = [[TLEG_A, TLEG_B]];
    const pruned = pruneBlocks(tleg.vit, learngene.tensors, groups, weightNormScores(tleg.vit, learngene.tensors, groups), { heads: 2, units: 20 });
    const fromPruned = growDescendant({ ...learngene, config: pruned.config, tensors: pruned.tensors }, { depth: 3, layersSource: [], numClasses: 3, seed: 0 });
    // Grow first, then prune every layer with the learngene's choice of heads and units.
    const grown = growDescendant(learngene, { depth: 3, layersSource: [], numClasses: 3, seed: 0 });
    const { heads, units } = pruned.kept[0]!;
    const forced = vitBlockGroups(grown.config).map(() => ({ heads: Float64Array.from({ length: 4 }, (_, h) => (heads.includes(h) ? 1 : 0)), units: Float64Array.from({ length: 32 }, (_, j) => (units.includes(j) ? 1 : 0)) }));
    const prunedAfter = pruneBlocks(grown.config, grown.tensors, vitBlockGroups(grown.config), forced, { heads: 2, units: 20 });
    for (const [name, t] of prunedAfter.tensors) expect(maxAbsDiff(fromPruned.tensors.get(name)!.data, t.data), name).toBeLessThan(1e-6);
  });
});
