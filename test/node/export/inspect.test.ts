// `learngene inspect` provenance for every kind of model file: ours, foreign
// checkpoints, and each export (ONNX, tfjs, timm) pointing back at its source.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describeModelForInspect, exportModel } from '../../../node/export/index.js';
import { loadModel } from '../../../node/model-store.js';
import { fixturePath, readJson, useBackend } from '../../helpers/fixtures.js';
import { EXPORT_CASES, ourModel } from './helpers.js';

let tmp: string;
beforeAll(async () => {
  await useBackend('wasm');
  tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'learngene-inspect-'));
});
afterAll(async () => {
  await fs.rm(tmp, { recursive: true, force: true });
});

describe('describeModelForInspect', () => {
  it('shows a foreign checkpoint as it would import, and our imported model with its source hash', async () => {
    const foreign = await describeModelForInspect(fixturePath('torchvision_vit', 'hf'));
    expect(foreign).toMatchObject({ kind: 'checkpoint', format: 'hf', config: readJson('torchvision_vit', 'manifest.json').config });
    expect(foreign.provenance?.inputs?.source?.sha256).toBe(foreign.sha256);

    const model = await ourModel(tmp, EXPORT_CASES[2]);
    const ours = await describeModelForInspect(model);
    expect(ours.kind).toBe('learngene-model');
    expect(ours.provenance?.createdBy).toBe('import');
    expect(ours.provenance?.inputs?.source).toMatchObject({ sha256: foreign.sha256, format: 'hf' });
  });

  it.each(['onnx', 'tfjs', 'timm'] as const)('traces a %s export back to the source model', async (format) => {
    const model = await ourModel(tmp, EXPORT_CASES[0]);
    const source = await loadModel(model);
    const out = path.join(tmp, `inspect-${format}`);
    const result = await exportModel(model, format, out);
    const d = await describeModelForInspect(out);
    expect(d.kind).toBe({ onnx: 'onnx', tfjs: 'tfjs-graph-model', timm: 'timm-export' }[format]);
    expect(d.config).toEqual(source.meta.config);
    expect(d.preprocess).toEqual(source.meta.preprocess);
    expect(d.classNames).toEqual(source.meta.classNames);
    expect(d.provenance?.createdBy).toBe('export');
    expect(d.provenance?.inputs?.model).toEqual({ path: path.resolve(model), sha256: source.sha256, format: 'learngene-model' });
    expect(d.provenance?.details?.exportFormat).toBe(format);
    // The file named directly gives the same answer as its folder.
    expect((await describeModelForInspect(result.files[0]!)).provenance).toEqual(d.provenance);
  });

  it('describes a foreign ONNX file without provenance, saying so', async () => {
    const d = await describeModelForInspect(fixturePath('torchvision_vit', 'model.onnx'));
    expect(d.kind).toBe('onnx');
    expect(d.provenance).toBeUndefined();
    expect(d.notes.join()).toMatch(/not exported by Learngene \(producer pytorch/);
    expect(d.onnx?.numClasses).toBe(10);
  });
});
