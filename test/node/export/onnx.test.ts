// ONNX export, checked by the other side's own code: onnxruntime-node runs it against our
// tfjs logits, and (when python3-onnx is installed) onnx.checker.check_model(full_check).

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import * as ort from 'onnxruntime-node';
import { exportModel } from '../../../node/export/index.js';
import { loadModel } from '../../../node/model-store.js';
import { describeOnnx, OnnxClassifier } from '../../../node/onnx-teacher.js';
import { maxAbsDiff, readNpy, useBackend } from '../../helpers/fixtures.js';
import { EXPORT_CASES, ourLogits, ourModel, pythonMissing } from './helpers.js';

const onnxMissing = pythonMissing('onnx');
if (onnxMissing) console.warn(`SKIPPING onnx.checker tests: ${onnxMissing} (install python3-onnx)`);

let tmp: string;
beforeAll(async () => {
  await useBackend('wasm');
  tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'learngene-onnx-'));
});
afterAll(async () => {
  await fs.rm(tmp, { recursive: true, force: true });
});

describe.each(EXPORT_CASES)('ONNX export of $name', (c) => {
  it('runs in onnxruntime-node and matches our tfjs logits within 1e-4 (whole batch and batch 1)', async () => {
    const model = await ourModel(tmp, c);
    const result = await exportModel(model, 'onnx', path.join(tmp, `${c.name}.onnx`));
    expect(result.files).toEqual([path.join(tmp, `${c.name}.onnx`)]);
    const session = await ort.InferenceSession.create(result.files[0]!);
    expect(session.inputNames).toEqual(['pixel_values']);
    expect(session.outputNames).toEqual(['logits']);
    const input = readNpy(...c.input);
    const ours = await ourLogits(model, c);
    const full = await session.run({ pixel_values: new ort.Tensor('float32', input.data, input.shape) });
    const diff = maxAbsDiff(full.logits!.data as Float32Array, ours);
    const vsTorch = maxAbsDiff(full.logits!.data as Float32Array, readNpy(...c.logits).data);
    console.log(`${c.name}: onnxruntime vs our tfjs ${diff.toExponential(2)}, vs PyTorch ${vsTorch.toExponential(2)}`);
    expect(diff).toBeLessThan(1e-4);
    const [, ch, h, w] = input.shape as [number, number, number, number];
    const k = ours.length / input.shape[0]!;
    const single = await session.run({ pixel_values: new ort.Tensor('float32', input.data.slice(ch * h * w, 2 * ch * h * w), [1, ch, h, w]) });
    expect(single.logits!.dims).toEqual([1, k]);
    expect(maxAbsDiff(single.logits!.data as Float32Array, ours.subarray(k, 2 * k))).toBeLessThan(1e-4);
    await session.release();
  });

  it.skipIf(onnxMissing !== null)('passes onnx.checker.check_model(full_check=True)', async () => {
    const file = path.join(tmp, `${c.name}-check.onnx`);
    await exportModel(await ourModel(tmp, c), 'onnx', file);
    const script = 'import sys, onnx\nm = onnx.load(sys.argv[1])\nonnx.checker.check_model(m, full_check=True)\nprint("ok", m.ir_version, m.opset_import[0].version)';
    const run = spawnSync('/usr/bin/python3', ['-c', script, file], { encoding: 'utf8' });
    expect(run.stderr).toBe('');
    expect(run.stdout.trim()).toBe('ok 8 17');
  });
});

describe('ONNX export metadata', () => {
  it('records provenance, config, preprocess and class names, read back by describeOnnx and OnnxClassifier', async () => {
    const c = EXPORT_CASES[2];
    const model = await ourModel(tmp, c);
    const source = await loadModel(model);
    const out = path.join(tmp, 'folder-export');
    const result = await exportModel(model, 'onnx', out);
    expect(result.files).toEqual([path.join(out, 'model.onnx')]);
    const d = await describeOnnx(result.files[0]!);
    expect(d.opset).toBe(17);
    expect(d.irVersion).toBe(8);
    expect(d.producer.name).toBe('learngene-studio');
    expect(d.inputs).toEqual([{ name: 'pixel_values', type: 'float32', shape: ['batch', 3, 32, 32] }]);
    expect(d.outputs).toEqual([{ name: 'logits', type: 'float32', shape: ['batch', 10] }]);
    expect(d.numClasses).toBe(10);
    expect(d.ops.Erf).toBe(2); // exact GELU, one per block
    const provenance = JSON.parse(d.metadata['learngene.provenance']!);
    expect(provenance.createdBy).toBe('export');
    expect(provenance.inputs.model).toEqual({ path: path.resolve(model), sha256: source.sha256, format: 'learngene-model' });
    expect(provenance.details.sourceProvenance.inputs.source.format).toBe('hf');
    expect(JSON.parse(d.metadata['learngene.config']!)).toEqual(source.meta.config);

    const classifier = await OnnxClassifier.load(result.files[0]!);
    expect(classifier.classNames).toEqual(source.meta.classNames);
    expect(classifier.recordedPreprocess).toEqual(source.meta.preprocess);
    expect(classifier.format).toMatchObject({ height: 32, width: 32, channels: 3, layout: 'NCHW', mean: source.meta.preprocess.mean, std: source.meta.preprocess.std });
    expect(classifier.preprocess).toEqual(source.meta.preprocess);
    await classifier.dispose();
  });

  it('exports a foreign checkpoint directly, with its import notes as warnings', async () => {
    const result = await exportModel(path.join(path.dirname(EXPORT_CASES[2].checkpoint), 'torchvision'), 'onnx', path.join(tmp, 'tv.onnx'));
    expect(result.warnings.some((w) => /^import: heads 1 is a GUESS/.test(w))).toBe(true);
    const withHeads = await exportModel(path.join(path.dirname(EXPORT_CASES[2].checkpoint), 'torchvision'), 'onnx', path.join(tmp, 'tv4.onnx'), { heads: 4 });
    const session = await ort.InferenceSession.create(withHeads.files[0]!);
    const input = readNpy('torchvision_vit', 'input.npy');
    const out = await session.run({ pixel_values: new ort.Tensor('float32', input.data, input.shape) });
    expect(maxAbsDiff(out.logits!.data as Float32Array, readNpy('torchvision_vit', 'logits.npy').data)).toBeLessThan(1e-4);
    await session.release();
  });
});
