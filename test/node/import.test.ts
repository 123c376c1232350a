// `learngene import`: foreign checkpoints on disk (timm, Hugging Face, torchvision
// safetensors with or without a config.json) become our models and reproduce PyTorch.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { promises as fs, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createHash } from 'node:crypto';
import * as tf from '@tensorflow/tfjs-core';
import { FormatError } from '../../engine/io/errors.js';
import { encodeSafetensors } from '../../engine/io/safetensors.js';
import { disposeParams, forward, type Network } from '../../engine/model/vit.js';
import { importModel, loadAnyModel, readAnyModel } from '../../node/import.js';
import { loadModel } from '../../node/model-store.js';
import { fixturePath, maxAbsDiff, readJson, readNpy, readSafetensors, useBackend } from '../helpers/fixtures.js';

const manifest = readJson('torchvision_vit', 'manifest.json');
const IMAGENET = { mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225] };
let tmp: string;

beforeAll(async () => {
  await useBackend('wasm');
  tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'learngene-import-'));
});
afterAll(async () => {
  await fs.rm(tmp, { recursive: true, force: true });
});

function logits(net: Network, dir: string, name: string): Float32Array {
  const input = readNpy(dir, name);
  return tf.tidy(() => forward(net, tf.tensor4d(input.data, input.shape as [number, number, number, number]), { training: false }).dataSync() as Float32Array);
}

function fileHash(file: string): string {
  return createHash('sha256').update(readFileSync(file)).digest('hex');
}

describe('importModel on the torchvision fixture folders', () => {
  it.each([
    ['timm', {}],
    ['hf', {}],
    ['torchvision', { heads: 4 }],
  ] as const)('%s: predicts PyTorch logits within 1e-4 and records the source', async (naming, options) => {
    const model = await importModel(fixturePath('torchvision_vit', naming), options);
    expect(model.naming).toBe(naming);
    expect(model.meta.config).toEqual(manifest.config);
    const diff = maxAbsDiff(logits(model.network, 'torchvision_vit', 'input.npy'), readNpy('torchvision_vit', 'logits.npy').data);
    console.log(`import ${naming}: max abs diff vs PyTorch ${diff.toExponential(2)}`);
    expect(diff).toBeLessThan(1e-4);
    const file = fixturePath('torchvision_vit', naming, 'model.safetensors');
    expect(model.meta.provenance.createdBy).toBe('import');
    expect(model.meta.provenance.inputs?.source).toEqual({ path: file, sha256: fileHash(file), format: naming });
    expect(model.meta.preprocess).toEqual({ imageSize: 32, channels: 3, ...IMAGENET });
    expect(model.meta.classNames).toEqual(naming === 'hf' ? Array.from({ length: 10 }, (_, i) => `class_${i}`) : Array.from({ length: 10 }, (_, i) => String(i)));
    if (naming !== 'torchvision') expect(model.meta.provenance.inputs?.config?.sha256).toBe(fileHash(fixturePath('torchvision_vit', naming, 'config.json')));
    disposeParams(model.network.params);
  });

  it('guesses dim/64 heads for torchvision without --heads and reports it as a note', async () => {
    const model = await importModel(fixturePath('torchvision_vit', 'torchvision', 'model.safetensors'));
    expect(model.meta.config.heads).toBe(1);
    expect(model.notes.some((n) => /heads 1 is a GUESS/.test(n))).toBe(true);
    expect(JSON.stringify(model.meta.provenance.details)).toContain('GUESS');
    disposeParams(model.network.params);
  });

  it('saves with --out, and our model file then passes through unchanged', async () => {
    const out = path.join(tmp, 'teacher');
    const imported = await importModel(fixturePath('torchvision_vit', 'hf'), { out });
    expect(imported.savedTo).toBe(path.join(out, 'model.safetensors'));
    const saved = await loadModel(out);
    expect(saved.meta.provenance.inputs?.source?.format).toBe('hf');
    const again = await loadAnyModel(out, { heads: 2 });
    expect(again.naming).toBe('learngene');
    expect(again.sha256).toBe(saved.sha256);
    expect(again.meta).toEqual(saved.meta);
    expect(again.notes.join()).toContain('--heads 2 ignored');
    expect(maxAbsDiff(logits(again.network, 'torchvision_vit', 'input.npy'), readNpy('torchvision_vit', 'logits.npy').data)).toBeLessThan(1e-4);
    for (const m of [imported, saved, again]) disposeParams(m.network.params);
  });

  it('reads normalization from config.json / preprocessor_config.json and label_names', async () => {
    const dir = path.join(tmp, 'timm-with-cfg');
    await fs.mkdir(dir);
    await fs.copyFile(fixturePath('torchvision_vit', 'timm', 'model.safetensors'), path.join(dir, 'model.safetensors'));
    const config = { ...readJson('torchvision_vit', 'timm', 'config.json'), pretrained_cfg: { mean: [0.5, 0.5, 0.5], std: [0.25, 0.25, 0.25] }, label_names: 'abcdefghij'.split('') };
    await fs.writeFile(path.join(dir, 'config.json'), JSON.stringify(config));
    const source = await readAnyModel(dir);
    expect(source.meta.preprocess).toEqual({ imageSize: 32, channels: 3, mean: [0.5, 0.5, 0.5], std: [0.25, 0.25, 0.25] });
    expect(source.meta.classNames).toEqual('abcdefghij'.split(''));
    expect(source.notes).toContain('normalization from config.json pretrained_cfg');

    const hfDir = path.join(tmp, 'hf-with-preprocessor');
    await fs.cp(fixturePath('torchvision_vit', 'hf'), hfDir, { recursive: true });
    await fs.writeFile(path.join(hfDir, 'preprocessor_config.json'), JSON.stringify({ image_mean: [0.5, 0.5, 0.5], image_std: [0.5, 0.5, 0.5] }));
    expect((await readAnyModel(hfDir)).meta.preprocess.std).toEqual([0.5, 0.5, 0.5]);
  });

  it('takes eps and GELU from the config embedded by timm-named files with our metadata', async () => {
    const source = await readAnyModel(fixturePath('vit', 'cls_tanh', 'model.safetensors'));
    expect(source.naming).toBe('timm');
    expect(source.meta.config).toEqual(readJson('vit', 'cls_tanh', 'config.json'));
    expect(source.meta.preprocess).toEqual({ imageSize: 12, channels: 1, mean: [0.5], std: [0.5] });
  });
});

describe('importModel errors', () => {
  it('names the expected namings for an unknown checkpoint', async () => {
    const file = path.join(tmp, 'resnet.safetensors');
    const t = (shape: number[]) => ({ shape, data: new Float32Array(shape.reduce((a, b) => a * b, 1)) });
    await fs.writeFile(file, encodeSafetensors(new Map([['conv1.weight', t([4, 3, 3, 3])], ['fc.weight', t([10, 4])], ['fc.bias', t([10])]])));
    const error = await importModel(file).catch((e: Error) => e);
    expect(error).toBeInstanceOf(FormatError);
    expect((error as Error).message).toContain(`${file}: is not a Vision Transformer checkpoint`);
    expect((error as Error).message).toContain('found: conv1.weight, fc.bias, fc.weight');
  });

  it('asks which file to use when a folder holds several', async () => {
    const dir = path.join(tmp, 'two');
    await fs.mkdir(dir);
    await fs.writeFile(path.join(dir, 'a.safetensors'), encodeSafetensors(new Map()));
    await fs.writeFile(path.join(dir, 'b.safetensors'), encodeSafetensors(new Map()));
    await expect(importModel(dir)).rejects.toThrow(/holds several \.safetensors files \(a\.safetensors, b\.safetensors\); pass the one to import/);
    await expect(importModel(path.join(tmp, 'missing'))).rejects.toThrow(/does not exist/);
  });

  it('merges Hugging Face shards listed in model.safetensors.index.json', async () => {
    const dir = path.join(tmp, 'sharded');
    await fs.mkdir(dir);
    const all = readSafetensors('torchvision_vit', 'hf', 'model.safetensors').tensors;
    const names = [...all.keys()];
    const half = Math.ceil(names.length / 2);
    const parts = [names.slice(0, half), names.slice(half)];
    const weightMap: Record<string, string> = {};
    for (const [i, part] of parts.entries()) {
      const shard = `model-0000${i + 1}-of-00002.safetensors`;
      await fs.writeFile(path.join(dir, shard), encodeSafetensors(new Map(part.map((n) => [n, all.get(n)!]))));
      for (const n of part) weightMap[n] = shard;
    }
    await fs.writeFile(path.join(dir, 'model.safetensors.index.json'), JSON.stringify({ weight_map: weightMap }));
    await fs.copyFile(fixturePath('torchvision_vit', 'hf', 'config.json'), path.join(dir, 'config.json'));
    const model = await importModel(dir);
    expect(maxAbsDiff(logits(model.network, 'torchvision_vit', 'input.npy'), readNpy('torchvision_vit', 'logits.npy').data)).toBeLessThan(1e-4);
    disposeParams(model.network.params);
    // The index file itself names the checkpoint too.
    const byIndex = await importModel(path.join(dir, 'model.safetensors.index.json'));
    expect(maxAbsDiff(logits(byIndex.network, 'torchvision_vit', 'input.npy'), readNpy('torchvision_vit', 'logits.npy').data)).toBeLessThan(1e-4);
    disposeParams(byIndex.network.params);
    await fs.writeFile(path.join(dir, 'broken.index.json'), JSON.stringify({ metadata: {} }));
    await expect(importModel(path.join(dir, 'broken.index.json'))).rejects.toThrow(/broken\.index\.json: is not a safetensors index \(no "weight_map"/);
  });
});
