// A learngene in the official SWS code's layout (`learngene export --format
// sws-reference`) and back (`learngene import`): the exported tensors, taken through a
// .pth by scripts/sws_reference.py and grown the way that code's --load-gene grows them
// (scripts/fixtures/grow_like_sws_reference.py, PyTorch), give exactly our `grow`
// descendants; a .pth of that code comes back as the same learngene.

import { spawnSync } from 'node:child_process';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defaultViTConfig } from '../../../shared/config.js';
import { createAuxNet } from '../../../engine/sws/auxnet.js';
import { extractLearngene } from '../../../engine/sws/learngene.js';
import { decodeSafetensors } from '../../../engine/io/safetensors.js';
import { disposeParams, tensorsFromParams } from '../../../engine/model/vit.js';
import { exportModel } from '../../../node/export/index.js';
import { importSwsReference, isSwsReferenceCheckpoint } from '../../../node/import.js';
import { loadLearngene, runGrow, saveLearngene } from '../../../node/jobs/sws-jobs.js';
import { REPO_ROOT, useBackend } from '../../helpers/fixtures.js';
import { tempDir } from '../../helpers/jobs.js';

const STAGES = [2, 1, 2];
const CLASSES = ['ant', 'bee', 'wasp'];
let root: string;
let learngene: string;
let exported: string;

function python(script: string, ...args: string[]): void {
  const run = spawnSync('/usr/bin/python3', [path.join(REPO_ROOT, 'scripts', script), ...args], { encoding: 'utf8' });
  expect(run.status, `${script}: ${run.stderr}`).toBe(0);
}

async function tensorsOf(file: string) {
  return decodeSafetensors(new Uint8Array(await fs.readFile(file)), file);
}

beforeAll(async () => {
  await useBackend('cpu');
  root = await tempDir('sws-reference');
  const vit = defaultViTConfig({ imageSize: 8, patchSize: 4, channels: 3, dim: 16, heads: 2, depth: 5, mlpRatio: 2, numClasses: 3, pooling: 'avg', layerNormEps: 1e-6 });
  const net = createAuxNet({ kind: 'sws', vit, stages: STAGES }, 7);
  const lg = extractLearngene('sws', STAGES, vit, tensorsFromParams(net.params), true);
  disposeParams(net.params);
  learngene = path.join(root, 'learngene');
  await saveLearngene(learngene, lg, {
    preprocess: { imageSize: 8, channels: 3, mean: [0.4, 0.5, 0.6], std: [0.2, 0.25, 0.3] },
    classNames: CLASSES,
    provenance: { createdBy: 'test', createdAt: new Date(0).toISOString() },
  });
  exported = path.join(root, 'exported');
  const result = await exportModel(learngene, 'sws-reference', exported);
  expect(result.files.map((f) => path.basename(f))).toEqual(['sws-learngene.safetensors', 'sws-reference.json']);
});

afterAll(async () => {
  await fs.rm(root, { recursive: true, force: true });
});

describe('learngene export --format sws-reference', () => {
  it('names every stage block as that code does (blocks.block.<part>.instances.<stage>) and notes the stages', async () => {
    const { tensors } = await tensorsOf(path.join(exported, 'sws-learngene.safetensors'));
    const names = [...tensors.keys()].sort();
    expect(names.filter((n) => n.startsWith('stages.'))).toEqual([]);
    for (const part of ['norm1', 'attn.qkv', 'attn.proj', 'norm2', 'mlp.fc1', 'mlp.fc2']) {
      for (let s = 0; s < STAGES.length; s++) for (const kind of ['weight', 'bias']) expect(names).toContain(`blocks.block.${part}.instances.${s}.${kind}`);
    }
    expect(tensors.get('blocks.block.attn.qkv.instances.1.weight')!.shape).toEqual([48, 16]); // torch [out, in]
    expect(tensors.get('pos_embed')!.shape).toEqual([1, 4, 16]);
    for (const name of ['patch_embed.proj.weight', 'patch_embed.proj.bias', 'norm.weight', 'norm.bias', 'head.weight', 'head.bias']) expect(names).toContain(name);
    const note = JSON.parse(await fs.readFile(path.join(exported, 'sws-reference.json'), 'utf8'));
    expect(note.stages).toEqual(STAGES);
    expect(note.layers_source['5']).toBe('0,0,1,2,2');
  });

  it('grown by the SWS code\'s rule from a .pth, the descendants equal ours tensor for tensor', async () => {
    const pth = path.join(root, 'learngene.pth');
    python('sws_reference.py', 'to-pth', path.join(exported, 'sws-learngene.safetensors'), pth);
    for (const layers of [[0, 0, 1, 2, 2], [0, 1, 2], [0, 0, 0, 1, 1, 2, 2, 2]]) {
      const theirs = path.join(root, `theirs-${layers.length}.safetensors`);
      python('fixtures/grow_like_sws_reference.py', pth, layers.join(','), theirs, '--head');
      const grown = path.join(root, `ours-${layers.length}`);
      const result = await runGrow({ kind: 'grow', learngene, depth: layers.length, layersSource: layers, out: grown, seed: 0 });
      expect(result.headFrom).toBe('learngene');
      const timm = path.join(root, `ours-${layers.length}-timm`);
      await exportModel(grown, 'timm', timm);
      const ours = (await tensorsOf(path.join(timm, 'model.safetensors'))).tensors;
      const reference = (await tensorsOf(theirs)).tensors;
      expect([...reference.keys()].sort()).toEqual([...ours.keys()].sort());
      for (const [name, t] of reference) {
        expect(ours.get(name)!.shape, name).toEqual(t.shape);
        expect(Buffer.from(ours.get(name)!.data.buffer).equals(Buffer.from(t.data.buffer)), name).toBe(true);
      }
    }
  }, 120_000);
});

describe('learngene import of the SWS code\'s Aux-Net', () => {
  it('a .pth of that code (converted to safetensors) becomes the same learngene, given its stages', async () => {
    const pth = path.join(root, 'learngene.pth');
    const back = path.join(root, 'from-pth.safetensors');
    python('sws_reference.py', 'to-safetensors', pth, back);
    expect(await isSwsReferenceCheckpoint(back)).toBe(true);
    expect(await isSwsReferenceCheckpoint(learngene)).toBe(false);
    await expect(importSwsReference(back, { out: path.join(root, 'nope') })).rejects.toThrow(/with 3 stages; its checkpoints do not record how many layers each has: give them with --stages/);
    await expect(importSwsReference(back, { out: path.join(root, 'nope'), stages: [3, 2] })).rejects.toThrow(/lists 2 stages but .* holds 3/);
    const imported = await importSwsReference(back, { out: path.join(root, 'imported'), stages: STAGES, heads: 2 });
    expect(imported.stages).toEqual(STAGES);
    const original = await loadLearngene(learngene);
    const again = await loadLearngene(path.join(root, 'imported'));
    expect(again.learngene.stages).toEqual(STAGES);
    expect(again.learngene.config).toMatchObject({ dim: 16, heads: 2, depth: 5, patchSize: 4, imageSize: 8, channels: 3, numClasses: 3, pooling: 'avg', mlpRatio: 2, qkvBias: true });
    expect([...again.learngene.tensors.keys()].sort()).toEqual([...original.learngene.tensors.keys()].sort());
    for (const [name, t] of original.learngene.tensors) expect(Array.from(again.learngene.tensors.get(name)!.data), name).toEqual(Array.from(t.data));
  });

  it('our own export comes back whole without --stages (stages, classes and normalization recorded)', async () => {
    const imported = await importSwsReference(path.join(exported, 'sws-learngene.safetensors'), { out: path.join(root, 'round-trip') });
    expect(imported.stages).toEqual(STAGES);
    const again = await loadLearngene(path.join(root, 'round-trip'));
    expect(again.meta.classNames).toEqual(CLASSES);
    expect(again.meta.preprocess.mean).toEqual([0.4, 0.5, 0.6]);
  });

  it('refuses a model for the sws-reference format (it exports learngenes)', async () => {
    await expect(exportModel(path.join(root, 'ours-3'), 'sws-reference', path.join(root, 'x'))).rejects.toThrow(/is not a learngene .*the sws-reference format exports learngenes, not models/);
  });
});
