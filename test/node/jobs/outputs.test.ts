// Outputs never replace what learngene did not write (issue 14): our models, learngenes,
// exports and demo folders are recognised by their own metadata and may be replaced;
// anything else — a user's folder, a file, a link, a folder of ours with a stranger in
// it — is refused by the job service (every mode), unless forced.

import { promises as fs } from 'node:fs';
import path from 'node:path';
import onnxProto from 'onnx-proto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exportModel } from '../../../node/export/index.js';
import { foreignContent, versionOf, withFreeOutput, writtenPaths } from '../../../node/jobs/outputs.js';
import { JobService } from '../../../node/jobs/service.js';
import { encodeSafetensors } from '../../../engine/io/safetensors.js';
import { MODEL_FORMAT } from '../../../engine/io/model-file.js';
import { fixturePath, useBackend } from '../../helpers/fixtures.js';
import { hashTree, requireBuild, tempDir } from '../../helpers/jobs.js';
import { ourModel, EXPORT_CASES } from '../export/helpers.js';

requireBuild();

let root: string;
let model: string;
beforeAll(async () => {
  await useBackend('cpu');
  root = await tempDir('outputs');
  model = await ourModel(root, EXPORT_CASES[0]);
});
afterAll(async () => {
  await fs.rm(root, { recursive: true, force: true });
});

async function write(file: string, content: string | Uint8Array): Promise<string> {
  await fs.mkdir(path.dirname(file), { recursive: true });
  await fs.writeFile(file, content);
  return file;
}

describe('what is ours to replace', () => {
  it('absent paths, empty folders and every artifact we write', async () => {
    expect(await foreignContent(path.join(root, 'absent'))).toBeNull();
    await fs.mkdir(path.join(root, 'empty'));
    expect(await foreignContent(path.join(root, 'empty'))).toBeNull();
    expect(await foreignContent(model)).toBeNull();
    expect(await foreignContent(path.join(model, 'model.safetensors'))).toBeNull();
    for (const [format, out] of [['onnx', 'e.onnx'], ['onnx', 'e-onnx'], ['tfjs', 'e-tfjs'], ['timm', 'e-timm']] as const) {
      const target = path.join(root, out);
      await exportModel(model, format, target, { shardBytes: 4096 });
      expect(await foreignContent(target), `${format} → ${out}`).toBeNull();
    }
    // A demo folder: reports and model folders of ours.
    const demo = path.join(root, 'demo');
    await fs.cp(model, path.join(demo, 'descendants', 'sws-d2'), { recursive: true });
    await write(path.join(demo, 'demo.md'), '# learngene demo\n\nreport\n');
    await write(path.join(demo, 'compare.json'), JSON.stringify({ kind: 'compare', rows: [], table: '' }));
    expect(await foreignContent(demo)).toBeNull();
    // The leftover of an interrupted atomic write of ours does not count against it.
    await write(path.join(model, '.model.safetensors.tmp-123-0a1b2c3d'), 'partial');
    expect(await foreignContent(model)).toBeNull();
  });

  it('refuses whatever else is there', async () => {
    const user = path.join(root, 'user');
    await write(path.join(user, 'thesis.tex'), 'years of work');
    expect(await foreignContent(user)).toBe('is a folder with files learngene did not write');
    expect(await foreignContent(path.join(user, 'thesis.tex'))).toBe('is a file learngene did not write');
    // Ours, with one stranger inside.
    const mixed = path.join(root, 'mixed');
    await fs.cp(model, mixed, { recursive: true });
    await write(path.join(mixed, 'notes.txt'), 'mine');
    expect(await foreignContent(mixed)).toMatch(/did not write/);
    // A sidecar alone is not an artifact of ours.
    await write(path.join(root, 'config-only', 'config.json'), '{}');
    expect(await foreignContent(path.join(root, 'config-only'))).toMatch(/did not write/);
    // Foreign checkpoints and ONNX models, and safetensors that only claim a format.
    expect(await foreignContent(fixturePath('torchvision_vit', 'hf', 'model.safetensors'))).toMatch(/did not write/);
    expect(await foreignContent(fixturePath('torchvision_vit', 'model.onnx'))).toMatch(/did not write/);
    const pt = await write(path.join(root, 'pt.safetensors'), encodeSafetensors(new Map(), { format: 'pt' }));
    expect(await foreignContent(pt)).toMatch(/did not write/);
    const claimed = await write(path.join(root, 'claimed.safetensors'), encodeSafetensors(new Map(), { format: MODEL_FORMAT }));
    expect(await foreignContent(claimed)).toBeNull();
    const onnx = await write(path.join(root, 'foreign-meta.onnx'), onnxProto.onnx.ModelProto.encode({ metadataProps: [{ key: 'author', value: 'someone' }] }).finish());
    expect(await foreignContent(onnx)).toMatch(/did not write/);
    await fs.symlink(model, path.join(root, 'link'));
    expect(await foreignContent(path.join(root, 'link'))).toBe('is a symbolic link');
  });

  it('knows every path compare and demo write into their folder', () => {
    const optim = { epochs: 1, batchSize: 4, lr: 1e-3, minLr: 0, weightDecay: 0, warmupEpochs: 0, beta1: 0.9, beta2: 0.999, eps: 1e-8, clipGradNorm: 1, labelSmoothing: 0 };
    const data = { valFraction: 0, augment: { cropPadding: 0, horizontalFlip: false } };
    const compare = writtenPaths({ kind: 'compare', learngene: 'lg', data, depths: [2, 4], baselines: ['scratch'], optim, seed: 0, out: '/o' });
    expect(compare.map((p) => p.path)).toEqual(['/o/compare.json', '/o/descendants/sws-d2', '/o/descendants/scratch-d2', '/o/descendants/sws-d4', '/o/descendants/scratch-d4']);
    expect(writtenPaths({ kind: 'compare', learngene: 'lg', data, depths: [2], baselines: [], optim, seed: 0 })).toEqual([]);
    expect(writtenPaths({ kind: 'demo', data, quick: true, out: '/d', seed: 0 }).map((p) => p.path)).toEqual(['/d/teacher', '/d/learngene', '/d/descendants', '/d/compare.json', '/d/demo.json', '/d/demo.md']);
  });
});

describe('the job service', () => {
  it('refuses an output over a folder it did not write, leaves it intact, and replaces it when forced', { timeout: 120_000 }, async () => {
    const project = path.join(root, 'project');
    const service = new JobService({ projectDir: project });
    const user = path.join(root, 'user-export');
    await write(path.join(user, 'data.csv'), 'a,b\n1,2\n');
    const before = await hashTree(user);
    const request = { kind: 'export' as const, model, format: 'onnx' as const, out: user };
    await expect(service.submit(request)).rejects.toThrow(/^out: .*user-export already exists and is a folder with files learngene did not write; it would be replaced/);
    expect(await hashTree(user)).toEqual(before);
    await expect(fs.access(path.join(project, 'runs'))).rejects.toThrow();
    const forced = await service.wait((await service.submit(request, { force: true })).id);
    expect(forced.status, JSON.stringify(forced.error)).toBe('done');
    expect(await fs.readdir(user)).toEqual(['model.onnx']);
    // Our own export now: a second export replaces it without being forced.
    const again = await service.wait((await service.submit(request)).id);
    expect(again).toMatchObject({ status: 'done', result: { kind: 'export', files: [path.join(user, 'model.onnx')] } });
  });
});

describe('new versions instead of replacing (the studio)', () => {
  it('moves an output to the first free version: folders, .onnx files, an empty folder counts as free', async () => {
    expect(versionOf('/p/learngene', 2)).toBe('/p/learngene-2');
    expect(versionOf('/p/exports/sws-d1.onnx', 3)).toBe('/p/exports/sws-d1-3.onnx');
    const dir = path.join(root, 'versions');
    await fs.mkdir(path.join(dir, 'learngene'), { recursive: true });
    await fs.writeFile(path.join(dir, 'learngene', 'learngene.safetensors'), 'x');
    await fs.mkdir(path.join(dir, 'learngene-2'));
    const request = { kind: 'grow' as const, learngene: model, depth: 1, out: path.join(dir, 'learngene'), seed: 0 };
    expect((await withFreeOutput(request)).out).toBe(path.join(dir, 'learngene-2'));
    await fs.writeFile(path.join(dir, 'learngene-2', 'x'), 'y');
    expect((await withFreeOutput(request)).out).toBe(path.join(dir, 'learngene-3'));
    expect((await withFreeOutput({ ...request, out: path.join(dir, 'fresh') })).out).toBe(path.join(dir, 'fresh'));
  });

  it('the job service writes an export a second time next to the first, which stays byte for byte', async () => {
    const project = path.join(root, 'versions-project');
    const service = new JobService({ projectDir: project });
    const out = path.join(project, 'exports', 'model.onnx');
    const request = { kind: 'export' as const, model, format: 'onnx' as const, out };
    const first = await service.wait((await service.submit(request, { newVersion: true })).id);
    expect(first.status, JSON.stringify(first.error)).toBe('done');
    const before = await hashTree(path.join(project, 'exports'));
    const second = await service.wait((await service.submit(request, { newVersion: true })).id);
    expect(second.status, JSON.stringify(second.error)).toBe('done');
    expect(second.request).toMatchObject({ out: path.join(project, 'exports', 'model-2.onnx') });
    expect(second.result?.kind === 'export' && second.result.files).toEqual([path.join(project, 'exports', 'model-2.onnx')]);
    const after = await hashTree(path.join(project, 'exports'));
    expect(after['model.onnx']).toBe(before['model.onnx']);
    expect(Object.keys(after).sort()).toEqual(['model-2.onnx', 'model.onnx']);
  });
});
