// Stage-wise weight sharing: shared blocks, gradient accumulation, learngene extraction,
// descendants grown from it, TLEG expansion, and the default layer → stage mapping.

import { describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import '../../../engine/gradients.js';
import type { AuxNetConfig, ViTConfig } from '../../../shared/config.js';
import { ConfigError, DEFAULT_OPTIM } from '../../../shared/config.js';
import { AuxNet, createAuxNet, stagePrefix, TLEG_A, TLEG_B } from '../../../engine/sws/auxnet.js';
import { defaultLayersSource, resolveLayersSource, stageOfLayer } from '../../../engine/sws/layers-source.js';
import { extractLearngene, growDescendant, teacherCopyTensors } from '../../../engine/sws/learngene.js';
import { decodeLearngene, encodeLearngene } from '../../../engine/io/learngene-file.js';
import { blockParamShapes, createViT, disposeParams, forward, paramsFromTensors, tensorsFromParams, VisionTransformer, vitParamShapes } from '../../../engine/model/vit.js';
import { crossEntropy } from '../../../engine/train/loss.js';
import { Trainer } from '../../../engine/train/loop.js';
import { maxAbsDiff, useBackend } from '../../helpers/fixtures.js';

await useBackend('wasm');

const vit: ViTConfig = { imageSize: 8, channels: 1, patchSize: 4, dim: 16, depth: 5, heads: 2, mlpRatio: 2, qkvBias: true, pooling: 'avg', layerNormEps: 1e-6, gelu: 'exact', dropPath: 0, numClasses: 3 };
const swsConfig: AuxNetConfig = { kind: 'sws', vit, stages: [2, 1, 2] };
const images = tf.tensor4d(Float32Array.from({ length: 4 * 64 }, (_, i) => Math.sin(i * 0.37) + 0.2 * Math.cos(i * 1.7)), [4, 1, 8, 8]);
const labels = new Int32Array([0, 1, 2, 1]);

function layerTensors(net: AuxNet, layer: number): Float32Array[] {
  return tf.tidy(() => {
    const b = net.blockForLayer(layer);
    return [b.norm1.weight, b.q.weight, b.q.bias!, b.proj.weight, b.fc1.weight, b.fc2.bias].map((t) => t.dataSync() as Float32Array);
  });
}

describe('SWS Aux-Net', () => {
  it('gives every layer of a stage the same block, before and after an optimizer step', async () => {
    const net = createAuxNet(swsConfig, 1);
    expect(stageOfLayer(swsConfig.stages)).toEqual([0, 0, 1, 2, 2]);
    const check = () => {
      const [l0, l1, l3, l4, l2] = [0, 1, 3, 4, 2].map((l) => layerTensors(net, l));
      l0!.forEach((t, i) => expect(maxAbsDiff(t, l1![i]!)).toBe(0));
      l3!.forEach((t, i) => expect(maxAbsDiff(t, l4![i]!)).toBe(0));
      // different stages differ
      expect(maxAbsDiff(l0![1]!, l2![1]!)).toBeGreaterThan(0);
    };
    check();
    const batch = { images: images.dataSync() as Float32Array, labels, size: 4 };
    const trainer = new Trainer({ phase: 't', network: net, train: { stepsPerEpoch: 1, batchSize: 4, batch: async () => batch }, val: null, optim: { ...DEFAULT_OPTIM, epochs: 1 }, seed: 1 });
    const before = tensorsFromParams(net.params);
    await trainer.run();
    check();
    expect(maxAbsDiff(before.get('stages.0.attn.q.weight')!.data, net.params.get('stages.0.attn.q.weight')!.dataSync())).toBeGreaterThan(0);
    // only one set of block parameters per stage exists
    expect([...net.params.keys()].filter((n) => n.startsWith('stages.'))).toHaveLength(3 * blockParamShapes(vit).size);
    trainer.dispose();
    disposeParams(net.params);
  });

  it('accumulates the gradients of all layers of a stage on the shared block (= sum over tied copies)', () => {
    const aux = createAuxNet(swsConfig, 2);
    const auxTensors = tensorsFromParams(aux.params);
    // An unshared ViT whose block i is a copy of stage(i): the same function, separate variables.
    const layerStage = stageOfLayer(swsConfig.stages);
    const plain = new Map<string, { shape: number[]; data: Float32Array }>();
    for (const [name, t] of auxTensors) if (!name.startsWith('stages.')) plain.set(name, t);
    layerStage.forEach((stage, layer) => {
      for (const name of blockParamShapes(vit).keys()) plain.set(`blocks.${layer}.${name}`, auxTensors.get(stagePrefix(stage) + name)!);
    });
    const tied = new VisionTransformer(vit, paramsFromTensors(plain, vitParamShapes(vit), 'tied'));
    const gradsOf = (net: { params: Map<string, tf.Variable> }, network: Parameters<typeof forward>[0]) => {
      const { grads } = tf.variableGrads(() => crossEntropy(forward(network, images, { training: false }), labels), [...net.params.values()]);
      return new Map([...net.params].map(([name, v]) => [name, grads[v.name]!.dataSync() as Float32Array]));
    };
    const auxGrads = gradsOf(aux, aux);
    const tiedGrads = gradsOf(tied, tied);
    // logits agree, so the networks are the same function
    expect(maxAbsDiff(forward(aux, images, { training: false }).dataSync(), forward(tied, images, { training: false }).dataSync())).toBeLessThan(1e-6);
    for (const name of blockParamShapes(vit).keys()) {
      swsConfig.stages.forEach((_, stage) => {
        const layers = layerStage.flatMap((s, l) => (s === stage ? [l] : []));
        const sum = new Float32Array(auxGrads.get(stagePrefix(stage) + name)!.length);
        for (const l of layers) tiedGrads.get(`blocks.${l}.${name}`)!.forEach((g, i) => (sum[i]! += g));
        const scale = Math.max(1e-6, ...Array.from(sum, Math.abs));
        expect(maxAbsDiff(auxGrads.get(stagePrefix(stage) + name)!, sum) / scale, `${stage}/${name}`).toBeLessThan(1e-4);
      });
    }
    disposeParams(aux.params);
    disposeParams(tied.params);
  });
});

describe('learngene and descendants', () => {
  it('grows block i as a bit-exact copy of stage layersSource[i], through a file round trip', () => {
    const aux = createAuxNet(swsConfig, 3);
    const learngene = extractLearngene('sws', swsConfig.stages, vit, tensorsFromParams(aux.params), true);
    const bytes = encodeLearngene(learngene, { preprocess: { imageSize: 8, channels: 1, mean: [0.5], std: [0.25] }, classNames: ['a', 'b', 'c'], provenance: { createdBy: 'test', createdAt: 'now' } });
    const { learngene: loaded } = decodeLearngene(bytes, 'lg');
    expect([...loaded.tensors.keys()].some((n) => n.startsWith('blocks.'))).toBe(false);
    const layersSource = [0, 1, 1, 2];
    const grown = growDescendant(loaded, { depth: 4, layersSource, numClasses: 3, seed: 0 });
    layersSource.forEach((stage, i) => {
      for (const name of blockParamShapes(vit).keys()) {
        expect(grown.tensors.get(`blocks.${i}.${name}`)!.data).toEqual(aux.params.get(stagePrefix(stage) + name)!.dataSync());
      }
    });
    expect(grown.headFrom).toBe('learngene');
    expect(grown.tensors.get('fc_norm.weight')!.data).toEqual(aux.params.get('fc_norm.weight')!.dataSync());
    disposeParams(aux.params);
  });

  it('a Des-Net of depth L reproduces the Aux-Net logits exactly (SWS and TLEG)', () => {
    for (const aux of [createAuxNet(swsConfig, 4), createAuxNet({ kind: 'tleg', vit, stages: [5] }, 5)]) {
      // give TLEG's θB non-zero norms too
      if (aux.aux.kind === 'tleg') for (const [n, v] of aux.params) if (n.startsWith(TLEG_B)) v.assign(tf.add(v, tf.mul(tf.randomNormal(v.shape, 0, 1, 'float32', 9), 0.05)));
      const learngene = extractLearngene(aux.aux.kind, aux.aux.stages, vit, tensorsFromParams(aux.params), true);
      const grown = growDescendant(learngene, { depth: vit.depth, layersSource: [], numClasses: 3, seed: 0 });
      const des = new VisionTransformer(grown.config, paramsFromTensors(grown.tensors, vitParamShapes(grown.config), 'des'));
      const a = forward(aux, images, { training: false }).dataSync();
      const d = forward(des, images, { training: false }).dataSync();
      expect(maxAbsDiff(a, d), aux.aux.kind).toBe(0);
      disposeParams(aux.params);
      disposeParams(des.params);
    }
  });

  it('TLEG layer i of a depth-D descendant is θA + (i/D)·θB', () => {
    const aux = createAuxNet({ kind: 'tleg', vit, stages: [5] }, 6);
    const learngene = extractLearngene('tleg', [5], vit, tensorsFromParams(aux.params), false);
    const grown = growDescendant(learngene, { depth: 3, layersSource: [], numClasses: 7, seed: 1 });
    const a = aux.params.get(TLEG_A + 'mlp.fc1.weight')!.dataSync();
    const b = aux.params.get(TLEG_B + 'mlp.fc1.weight')!.dataSync();
    for (let i = 0; i < 3; i++) {
      const expected = Float32Array.from(a, (x, j) => x + (i / 3) * b[j]!);
      expect(maxAbsDiff(grown.tensors.get(`blocks.${i}.mlp.fc1.weight`)!.data, expected)).toBeLessThan(1e-7);
    }
    expect(grown.headFrom).toBe('fresh');
    expect(grown.tensors.get('head.weight')!.shape).toEqual([16, 7]);
    disposeParams(aux.params);
  });

  it('keeps the head only when the label set matches', () => {
    const aux = createAuxNet(swsConfig, 7);
    const learngene = extractLearngene('sws', swsConfig.stages, vit, tensorsFromParams(aux.params), true);
    expect(growDescendant(learngene, { depth: 2, layersSource: [], numClasses: 3, seed: 0 }).headFrom).toBe('learngene');
    const other = growDescendant(learngene, { depth: 2, layersSource: [], numClasses: 5, seed: 0 });
    expect(other.headFrom).toBe('fresh');
    expect(other.tensors.get('head.bias')!.shape).toEqual([5]);
    const headless = extractLearngene('sws', swsConfig.stages, vit, tensorsFromParams(aux.params), false);
    expect(headless.tensors.has('head.weight')).toBe(false);
    expect(growDescendant(headless, { depth: 2, layersSource: [], numClasses: 3, seed: 0 }).headFrom).toBe('fresh');
    disposeParams(aux.params);
  });

  it('teacher-copy takes the teacher\'s first D blocks', () => {
    const teacher = createViT({ ...vit, depth: 4 }, 8);
    const tensors = tensorsFromParams(teacher.params);
    const copy = teacherCopyTensors(teacher.config, tensors, 2, 3, 0);
    expect(copy.layers).toEqual([0, 1]);
    expect(copy.tensors.get('blocks.1.mlp.fc2.weight')!.data).toEqual(tensors.get('blocks.1.mlp.fc2.weight')!.data);
    expect(copy.tensors.has('blocks.2.mlp.fc2.weight')).toBe(false);
    expect(() => teacherCopyTensors(teacher.config, tensors, 5, 3, 0)).toThrow(/teacher-copy needs depth ≤ the teacher's 4 layers/);
    disposeParams(teacher.params);
  });
});

describe('default layersSource', () => {
  it.each([
    [[3, 3, 4, 3, 3], 16, [0, 0, 0, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 4, 4, 4]],
    [[3, 3, 4, 3, 3], 12, [0, 0, 0, 1, 1, 2, 2, 2, 3, 3, 4, 4]],
    [[3, 3, 4, 3, 3], 5, [0, 1, 2, 3, 4]],
    [[3, 3, 4, 3, 3], 6, [0, 1, 2, 2, 3, 4]],
    [[3, 3, 4, 3, 3], 20, [0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4]],
    [[2, 2, 2, 2], 6, [0, 0, 1, 1, 2, 3]],
    [[2, 2, 2, 2], 3, [0, 2, 3]],
    [[2, 2, 2, 2], 2, [0, 3]],
    [[2, 2, 2, 2], 1, [0]],
    [[1, 5], 4, [0, 1, 1, 1]],
  ])('stages %j, depth %i → %j', (stages, depth, expected) => {
    const mapping = defaultLayersSource(stages, depth);
    expect(mapping).toEqual(expected);
    expect(mapping).toHaveLength(depth);
    for (let i = 1; i < mapping.length; i++) expect(mapping[i]!).toBeGreaterThanOrEqual(mapping[i - 1]!);
  });

  it('validates a given list', () => {
    expect(resolveLayersSource([3, 3, 4, 3, 3], 6, [0, 0, 1, 2, 3, 4])).toEqual([0, 0, 1, 2, 3, 4]);
    expect(() => resolveLayersSource([3, 3, 4, 3, 3], 3, [0, 2, 1])).toThrow(/stage order must be kept/);
    expect(() => resolveLayersSource([3, 3, 4, 3, 3], 3, [0, 1, 5])).toThrow(/every index must be a stage in 0..4/);
    expect(() => resolveLayersSource([3, 3, 4, 3, 3], 4, [0, 1, 2])).toThrow(ConfigError);
  });
});
