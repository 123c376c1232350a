// Checkpoint import: each naming of the torchvision fixture (scripts/fixtures/make_fixtures.py)
// imports to the same model, and PyTorch's logits are reproduced on wasm.

import { describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import type { ViTConfig } from '../../../shared/config.js';
import { detectNaming, headsFromArchitecture, importCheckpoint, renameHf, renameTorchvision } from '../../../engine/io/checkpoint-import.js';
import { FormatError } from '../../../engine/io/errors.js';
import type { TensorMap } from '../../../engine/io/safetensors.js';
import { fromStorageLayout } from '../../../engine/model/params.js';
import { disposeParams, forward, paramsFromTensors, VisionTransformer, vitParamShapes } from '../../../engine/model/vit.js';
import { maxAbsDiff, readJson, readNpy, readSafetensors, useBackend } from '../../helpers/fixtures.js';

const manifest = readJson('torchvision_vit', 'manifest.json');

function logitsOf(config: ViTConfig, tensors: TensorMap): Float32Array {
  const net = new VisionTransformer(config, paramsFromTensors(fromStorageLayout(tensors), vitParamShapes(config), 'test'));
  const input = readNpy('torchvision_vit', 'input.npy');
  const out = tf.tidy(() => forward(net, tf.tensor4d(input.data, input.shape as [number, number, number, number]), { training: false }).dataSync() as Float32Array);
  disposeParams(net.params);
  return out;
}

function errorOf(fn: () => unknown): Error {
  try {
    fn();
  } catch (error) {
    return error as Error;
  }
  throw new Error('expected an error');
}

function tensorsOf(names: string[]): TensorMap {
  return new Map(names.map((n) => [n, { shape: [1], data: new Float32Array(1) }]));
}

describe('detectNaming', () => {
  it.each([['timm'], ['hf'], ['torchvision']] as const)('recognizes the %s fixture', (naming) => {
    expect(detectNaming(readSafetensors('torchvision_vit', naming, 'model.safetensors').tensors)).toBe(naming);
  });

  it('returns null for other checkpoints', () => {
    expect(detectNaming(tensorsOf(['conv1.weight', 'fc.weight']))).toBeNull();
  });
});

describe('importCheckpoint on the torchvision fixture', () => {
  it.each([
    ['timm', { configJson: readJson('torchvision_vit', 'timm', 'config.json') }],
    ['hf', { configJson: readJson('torchvision_vit', 'hf', 'config.json') }],
    ['torchvision', { heads: 4 }],
  ] as const)('%s names reproduce PyTorch logits within 1e-4 on wasm', async (naming, options) => {
    await useBackend('wasm');
    const file = readSafetensors('torchvision_vit', naming, 'model.safetensors');
    const imported = importCheckpoint(file.tensors, { ...options, source: `${naming}/model.safetensors` });
    expect(imported.naming).toBe(naming);
    expect(imported.config).toEqual(manifest.config);
    expect([...imported.tensors.keys()].sort()).toEqual(manifest.namings.timm.tensors);
    const diff = maxAbsDiff(logitsOf(imported.config, imported.tensors), readNpy('torchvision_vit', 'logits.npy').data);
    console.log(`${naming}: max abs diff vs PyTorch ${diff.toExponential(2)}`);
    expect(diff).toBeLessThan(1e-4);
  });

  it('renames HF and torchvision to exactly the timm tensors', () => {
    const timm = readSafetensors('torchvision_vit', 'timm', 'model.safetensors').tensors;
    for (const renamed of [renameHf(readSafetensors('torchvision_vit', 'hf', 'model.safetensors').tensors), renameTorchvision(readSafetensors('torchvision_vit', 'torchvision', 'model.safetensors').tensors)]) {
      expect([...renamed.keys()].sort()).toEqual([...timm.keys()].sort());
      for (const [name, t] of timm) {
        expect(renamed.get(name)!.shape).toEqual(t.shape);
        expect(maxAbsDiff(renamed.get(name)!.data, t.data)).toBe(0);
      }
    }
  });

  it('guesses dim/64 heads without --heads or config.json, and says so', () => {
    const file = readSafetensors('torchvision_vit', 'torchvision', 'model.safetensors');
    const imported = importCheckpoint(file.tensors, { source: 'tv' });
    expect(imported.config.heads).toBe(1);
    expect(imported.notes.join('\n')).toMatch(/heads 1 is a GUESS \(dim 64 \/ 64\).*--heads/);
  });

  it('takes heads from a timm architecture name when model_args lacks num_heads', () => {
    expect(headsFromArchitecture('vit_small_patch16_224.augreg_in21k', 384)).toBe(6);
    expect(headsFromArchitecture('deit_tiny_patch16_224', 192)).toBe(3);
    expect(headsFromArchitecture('vit_base_patch16_224', 64)).toBeUndefined();
  });

  it('reads heads, eps and the GELU flavour from an HF config.json', () => {
    const file = readSafetensors('torchvision_vit', 'hf', 'model.safetensors');
    const config = { ...readJson('torchvision_vit', 'hf', 'config.json'), num_attention_heads: 2, layer_norm_eps: 1e-5, hidden_act: 'gelu_pytorch_tanh' };
    const imported = importCheckpoint(file.tensors, { configJson: config, source: 'hf' });
    expect(imported.config).toMatchObject({ heads: 2, layerNormEps: 1e-5, gelu: 'tanh' });
    const withFlag = importCheckpoint(file.tensors, { heads: 4, configJson: config, source: 'hf' });
    expect(withFlag.config.heads).toBe(4);
    expect(withFlag.notes.join('\n')).toContain('heads 4 from --heads overrides 2');
  });

  it('uses the Hugging Face eps default (1e-12) without config.json and drops the unused pooler', () => {
    const hf: TensorMap = new Map(readSafetensors('torchvision_vit', 'hf', 'model.safetensors').tensors);
    hf.set('vit.pooler.dense.weight', { shape: [64, 64], data: new Float32Array(4096) });
    hf.set('vit.pooler.dense.bias', { shape: [64], data: new Float32Array(64) });
    const imported = importCheckpoint(hf, { heads: 4, source: 'hf' });
    expect(imported.config.layerNormEps).toBe(1e-12);
    expect(imported.notes).toContain('layer_norm_eps 1e-12 (the Hugging Face ViTConfig default; no config.json gave it)');
    expect(imported.notes.join()).toContain('dropped vit.pooler.dense.*');
    expect(imported.tensors.has('vit.pooler.dense.weight')).toBe(false);
  });

  it('accepts old torchvision MLP names (linear_1 / linear_2)', () => {
    const file = readSafetensors('torchvision_vit', 'torchvision', 'model.safetensors').tensors;
    const old: TensorMap = new Map([...file].map(([n, t]) => [n.replace('mlp.0.', 'mlp.linear_1.').replace('mlp.3.', 'mlp.linear_2.'), t]));
    expect(importCheckpoint(old, { heads: 4, source: 'old' }).config).toEqual(manifest.config);
  });
});

describe('importCheckpoint errors', () => {
  it('lists the expected namings and the first names found for an unknown checkpoint', () => {
    const names = ['conv1.weight', 'bn1.weight', 'bn1.bias', 'layer1.0.conv1.weight', 'layer1.0.bn1.weight', 'layer1.0.bn1.bias', 'layer1.0.conv2.weight', 'layer1.0.bn2.weight', 'fc.weight', 'fc.bias'];
    const error = errorOf(() => importCheckpoint(tensorsOf(names), { source: 'resnet.safetensors' }));
    expect(error).toBeInstanceOf(FormatError);
    expect(error.message).toContain('resnet.safetensors');
    expect(error.message).toMatch(/expected timm \(patch_embed\.proj\.weight, blocks\.N\.attn\.qkv\.weight …\), Hugging Face \(vit\.embeddings.*\) or torchvision \(conv_proj\.weight, encoder\.layers/);
    expect(error.message).toContain('found: conv1.weight, bn1.weight, bn1.bias, layer1.0.conv1.weight, layer1.0.bn1.weight, layer1.0.bn1.bias, layer1.0.conv2.weight, layer1.0.bn2.weight … (10 tensors)');
    expect(error.message).not.toContain('fc.bias');
  });

  it('names the unsupported timm extras (distillation token/head, LayerScale, register tokens)', () => {
    const timm = readSafetensors('torchvision_vit', 'timm', 'model.safetensors').tensors;
    const extra: TensorMap = new Map(timm);
    const vec = { shape: [64], data: new Float32Array(64) };
    extra.set('dist_token', { shape: [1, 1, 64], data: new Float32Array(64) });
    extra.set('head_dist.weight', { shape: [10, 64], data: new Float32Array(640) });
    extra.set('head_dist.bias', { shape: [10], data: new Float32Array(10) });
    extra.set('blocks.0.ls1.gamma', vec);
    extra.set('blocks.1.ls1.gamma', vec);
    extra.set('blocks.0.ls2.gamma', vec);
    extra.set('reg_token', { shape: [1, 4, 64], data: new Float32Array(256) });
    const error = errorOf(() => importCheckpoint(extra, { heads: 4, source: 'deit.safetensors' }));
    expect(error).toBeInstanceOf(FormatError);
    expect(error.message).toContain('deit.safetensors: is a timm ViT with parts Learngene\'s ViT does not support');
    expect(error.message).toContain('dist_token (DeiT distillation token)');
    expect(error.message).toContain('head_dist.weight, head_dist.bias (DeiT distillation head)');
    expect(error.message).toContain('blocks.N.ls1.gamma, blocks.N.ls2.gamma (LayerScale (init_values))');
    expect(error.message).toContain('reg_token (register tokens (reg_tokens))');
  });

  it('names a pre-logits layer in torchvision checkpoints', () => {
    const tv: TensorMap = new Map(readSafetensors('torchvision_vit', 'torchvision', 'model.safetensors').tensors);
    tv.set('heads.pre_logits.weight', { shape: [64, 64], data: new Float32Array(4096) });
    expect(errorOf(() => importCheckpoint(tv, { heads: 4, source: 'tv' })).message).toContain('heads.pre_logits.weight (pre-logits layer (representation_size))');
  });

  it('reports missing and mis-shaped tensors against the derived config', () => {
    const timm: TensorMap = new Map(readSafetensors('torchvision_vit', 'timm', 'model.safetensors').tensors);
    timm.delete('blocks.1.norm2.bias');
    timm.set('blocks.1.attn.proj.bias', { shape: [32], data: new Float32Array(32) });
    timm.set('something.else', { shape: [3], data: new Float32Array(3) });
    const message = errorOf(() => importCheckpoint(timm, { heads: 4, source: 'broken' })).message;
    expect(message).toContain('missing "blocks.1.norm2.bias"');
    expect(message).toContain('"blocks.1.attn.proj.bias" has shape [32] but [64] was expected');
    expect(message).toContain('unexpected "something.else"');
  });

  it('rejects a checkpoint without a classifier head', () => {
    const timm: TensorMap = new Map(readSafetensors('torchvision_vit', 'timm', 'model.safetensors').tensors);
    timm.delete('head.weight');
    timm.delete('head.bias');
    expect(errorOf(() => importCheckpoint(timm, { heads: 4, source: 'features' })).message).toMatch(/no classifier head/);
  });
});
