// The ViT forward against PyTorch reference outputs (scripts/fixtures/make_fixtures.py),
// on wasm and cpu.

import { describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import '../../../engine/gradients.js';
import type { ViTConfig } from '../../../shared/config.js';
import { fromStorageLayout, toStorageLayout } from '../../../engine/model/params.js';
import { forward, forwardFeatures, paramsFromTensors, VisionTransformer, vitParamShapes, createViT, tensorsFromParams, disposeParams } from '../../../engine/model/vit.js';
import { maxAbsDiff, readJson, readNpy, readSafetensors, useBackend } from '../../helpers/fixtures.js';

function loadFixtureModel(name: string): VisionTransformer {
  const config = readJson<ViTConfig>('vit', name, 'config.json');
  const file = readSafetensors('vit', name, 'model.safetensors');
  return new VisionTransformer(config, paramsFromTensors(fromStorageLayout(file.tensors), vitParamShapes(config), name));
}

function run(net: VisionTransformer, name: string): { logits: Float32Array; features: Float32Array } {
  const input = readNpy('vit', name, 'input.npy');
  return tf.tidy(() => {
    const images = tf.tensor4d(input.data, input.shape as [number, number, number, number]);
    const features = forwardFeatures(net, images, { training: false });
    const logits = forward(net, images, { training: false });
    return { logits: logits.dataSync() as Float32Array, features: features.dataSync() as Float32Array };
  });
}

describe.each(['wasm', 'cpu'] as const)('ViT forward on %s', (backend) => {
  it.each(['avg_exact', 'cls_tanh', 'tiny'])('matches PyTorch logits and features for %s within 1e-4', async (name) => {
    await useBackend(backend);
    const net = loadFixtureModel(name);
    const { logits, features } = run(net, name);
    expect(maxAbsDiff(logits, readNpy('vit', name, 'logits.npy').data)).toBeLessThan(1e-4);
    expect(maxAbsDiff(features, readNpy('vit', name, 'features.npy').data)).toBeLessThan(1e-4);
    disposeParams(net.params);
  });
});

describe('ViT across backends', () => {
  it('gives the same logits on wasm and cpu within 1e-4 for a freshly initialized model', async () => {
    const config: ViTConfig = { imageSize: 28, channels: 1, patchSize: 7, dim: 32, depth: 3, heads: 4, mlpRatio: 2, qkvBias: true, pooling: 'cls', layerNormEps: 1e-6, gelu: 'exact', dropPath: 0, numClasses: 10 };
    const input = new Float32Array(4 * 28 * 28).map((_, i) => Math.sin(i * 0.13) * 2);
    const results: Float32Array[] = [];
    for (const backend of ['wasm', 'cpu'] as const) {
      await useBackend(backend);
      const net = createViT(config, 7);
      results.push(tf.tidy(() => forward(net, tf.tensor4d(input, [4, 1, 28, 28]), { training: false }).dataSync() as Float32Array));
      disposeParams(net.params);
    }
    expect(maxAbsDiff(results[0]!, results[1]!)).toBeLessThan(1e-4);
    // and the logits are not trivially equal constants
    expect(Math.abs(results[0]![0]! - results[0]![1]!)).toBeGreaterThan(1e-6);
  });

  it('round-trips timm layouts exactly (storage → memory → storage)', () => {
    const file = readSafetensors('vit', 'avg_exact', 'model.safetensors');
    const config = readJson<ViTConfig>('vit', 'avg_exact', 'config.json');
    const back = toStorageLayout(fromStorageLayout(file.tensors), config);
    expect([...back.keys()].sort()).toEqual([...file.tensors.keys()].sort());
    for (const [name, t] of file.tensors) {
      expect(back.get(name)!.shape).toEqual(t.shape);
      expect(maxAbsDiff(back.get(name)!.data, t.data)).toBe(0);
    }
  });

  it('initializes deterministically from the seed', async () => {
    await useBackend('wasm');
    const config = readJson<ViTConfig>('vit', 'tiny', 'config.json');
    const a = createViT(config, 3);
    const b = createViT(config, 3);
    const c = createViT(config, 4);
    const ta = tensorsFromParams(a.params);
    const tb = tensorsFromParams(b.params);
    const tc = tensorsFromParams(c.params);
    for (const [name, t] of ta) expect(maxAbsDiff(t.data, tb.get(name)!.data)).toBe(0);
    expect(maxAbsDiff(ta.get('blocks.0.mlp.fc1.weight')!.data, tc.get('blocks.0.mlp.fc1.weight')!.data)).toBeGreaterThan(0);
    for (const net of [a, b, c]) disposeParams(net.params);
  });
});
