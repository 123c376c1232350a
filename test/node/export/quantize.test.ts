// int8 ONNX export: the quantizer's arithmetic by hand, and its files judged by the other
// side's code: onnx.checker (python3-onnx), onnxruntime loading them and fusing the QDQ /
// dynamic patterns into its integer kernels (read back from the optimized model it writes),
// logits next to the float export's, and the metadata the float export carries.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import * as ort from 'onnxruntime-node';
import { exportModel } from '../../../node/export/index.js';
import { readAnyModel } from '../../../node/import.js';
import { decodeOnnx } from '../../../node/export/onnx.js';
import { quantizeWeightPerColumn, uint8Params } from '../../../node/export/quantize.js';
import { describeOnnx, OnnxClassifier } from '../../../node/onnx-teacher.js';
import { SAMPLE_DATA } from '../../helpers/jobs.js';
import { readNpy, useBackend } from '../../helpers/fixtures.js';
import { EXPORT_CASES, ourModel, pythonMissing } from './helpers.js';

const onnxMissing = pythonMissing('onnx');
if (onnxMissing) console.warn(`SKIPPING onnx.checker tests: ${onnxMissing} (install python3-onnx)`);

let tmp: string;
beforeAll(async () => {
  await useBackend('wasm');
  tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'learngene-int8-'));
});
afterAll(async () => {
  await fs.rm(tmp, { recursive: true, force: true });
});

/** Op counts of the graph onnxruntime actually runs (level "all"), written by the session itself. */
async function optimizedOps(file: string): Promise<Record<string, number>> {
  const optimized = `${file}.optimized.onnx`;
  const session = await ort.InferenceSession.create(file, { graphOptimizationLevel: 'all', optimizedModelFilePath: optimized });
  await session.release();
  const ops: Record<string, number> = {};
  for (const node of decodeOnnx(new Uint8Array(await fs.readFile(optimized))).graph?.node ?? []) ops[node.opType!] = (ops[node.opType!] ?? 0) + 1;
  return ops;
}

async function logits(file: string, input: { data: Float32Array; shape: number[] }): Promise<Float32Array> {
  const session = await ort.InferenceSession.create(file);
  const out = await session.run({ pixel_values: new ort.Tensor('float32', input.data, input.shape) });
  await session.release();
  return out.logits!.data as Float32Array;
}

function checker(file: string): string {
  const script = 'import sys, onnx\nm = onnx.load(sys.argv[1])\nonnx.checker.check_model(m, full_check=True)\nprint("ok")';
  const run = spawnSync('/usr/bin/python3', ['-c', script, file], { encoding: 'utf8' });
  return run.status === 0 ? run.stdout.trim() : run.stderr.trim();
}

describe('int8 arithmetic', () => {
  it('quantizes weights per output column, symmetric, to ±127 with scale max|w| / 127', () => {
    // W [2, 3]: columns (1, −2), (0.5, 0.25), (0, 0)
    const { q, scale } = quantizeWeightPerColumn(Float32Array.from([1, 0.5, 0, -2, 0.25, 0]), 2, 3);
    expect([...scale]).toEqual([Math.fround(2 / 127), Math.fround(0.5 / 127), 1]);
    expect([...q]).toEqual([64, 127, 0, -127, 64, 0]); // 1 / (2/127) = 63.5 → 64; 0.25 / (0.5/127) = 63.5 → 64
  });

  it('maps a float range onto uint8 with zero exactly representable', () => {
    expect(uint8Params({ min: -1, max: 3 })).toEqual({ scale: 4 / 255, zeroPoint: 64 }); // 1 / (4/255) = 63.75 → 64
    expect(uint8Params({ min: 0.5, max: 2 })).toEqual({ scale: 2 / 255, zeroPoint: 0 }); // widened to [0, 2]
    expect(uint8Params({ min: -3, max: -1 })).toEqual({ scale: 3 / 255, zeroPoint: 255 });
    expect(uint8Params({ min: 0, max: 0 })).toEqual({ scale: 1, zeroPoint: 0 });
  });
});

describe.each(EXPORT_CASES.slice(0, 2))('int8 ONNX export of $name', (c) => {
  it('dynamic: loads, is fused into DynamicQuantizeMatMul, and stays close to the float export', async () => {
    const model = await ourModel(tmp, c);
    const float = path.join(tmp, `${c.name}-fp32.onnx`);
    await exportModel(model, 'onnx', float);
    const file = path.join(tmp, `${c.name}-dynamic.onnx`);
    const result = await exportModel(model, 'onnx', file, { quantize: 'int8' });
    // patch embedding, 2 × (q, k, v, proj, fc1, fc2), head
    expect(result.quantization).toEqual({ mode: 'dynamic', matmuls: 14 });
    const ops = await optimizedOps(file);
    expect((ops.DynamicQuantizeMatMul ?? 0) + (ops.MatMulIntegerToFloat ?? 0)).toBe(14);
    expect(ops.MatMulInteger ?? 0).toBe(0);
    const input = readNpy(...c.input);
    const [a, b] = [await logits(float, input), await logits(file, input)];
    const scale = Math.max(...a.map(Math.abs));
    const worst = Math.max(...a.map((x, i) => Math.abs(x - b[i]!)));
    console.log(`${c.name}: dynamic int8 vs float logits max |Δ| ${worst.toExponential(2)} (max |logit| ${scale.toFixed(3)})`);
    expect(worst).toBeLessThan(0.05 * scale);
    expect(worst).toBeGreaterThan(0); // it really is quantized
  });

  it.skipIf(onnxMissing !== null)('static and dynamic pass onnx.checker.check_model(full_check=True)', async () => {
    const model = await ourModel(tmp, c);
    const dynamic = path.join(tmp, `${c.name}-check-dynamic.onnx`);
    await exportModel(model, 'onnx', dynamic, { quantize: 'int8' });
    expect(checker(dynamic)).toBe('ok');
    const file = path.join(tmp, `${c.name}-check-static.onnx`);
    // Calibration data with the model's label set: the sample's first k classes.
    const k = (await readAnyModel(model)).meta.config.numClasses;
    const classes = Array.from({ length: k }, (_, i) => i);
    await exportModel(model, 'onnx', file, { quantize: 'int8', calibration: { data: { path: SAMPLE_DATA, valFraction: 0, limit: 200, classes, augment: { cropPadding: 0, horizontalFlip: false } }, images: 64 } });
    expect(checker(file)).toBe('ok');
  });
});

describe('static int8 export', () => {
  it('is QDQ around Gemm, fused into QGemm, and carries the float export\'s metadata plus how it was quantized', async () => {
    const c = EXPORT_CASES[0];
    const model = await ourModel(tmp, c);
    const float = path.join(tmp, 'meta-fp32.onnx');
    await exportModel(model, 'onnx', float);
    const file = path.join(tmp, 'meta-static.onnx');
    const data = { path: SAMPLE_DATA, valFraction: 0, limit: 300, augment: { cropPadding: 0, horizontalFlip: false } };
    const result = await exportModel(model, 'onnx', file, { quantize: 'int8', calibration: { data, images: 100, method: 'auto' } });
    const q = result.quantization!;
    expect(q).toMatchObject({ mode: 'static', matmuls: 14, calibrationImages: 100, comparedOn: 'held-out images' });
    expect(q.tried!.map((t) => t.method)).toEqual(['minmax', 'percentile']);
    expect(q.tried!.every((t) => t.n === 200)).toBe(true); // the 200 images after the 100 calibration ones
    expect(q.method).toBe(q.tried!.reduce((a, b) => (b.top1 > a.top1 ? b : a)).method);

    const written = await describeOnnx(file);
    expect(written.ops.QuantizeLinear).toBeGreaterThan(0);
    expect(written.ops.DequantizeLinear).toBeGreaterThanOrEqual(14 + written.ops.QuantizeLinear!);
    expect(written.ops.Gemm).toBe(14);
    expect(written.ops.MatMul).toBe(4); // attention scores and attention · V stay float
    const ops = await optimizedOps(file);
    expect(ops.QGemm).toBe(14);
    expect(ops.Gemm ?? 0).toBe(0);

    const floatMeta = (await describeOnnx(float)).metadata;
    for (const key of ['learngene.format', 'learngene.config', 'learngene.preprocess', 'learngene.classNames']) expect(written.metadata[key]).toBe(floatMeta[key]);
    expect(JSON.parse(written.metadata['learngene.provenance']!).details.quantize).toBe('int8');
    expect(JSON.parse(written.metadata['learngene.quantization']!)).toEqual(q);
    expect(written.inputs).toEqual((await describeOnnx(float)).inputs);
    const classifier = await OnnxClassifier.load(file);
    expect(classifier.recordedPreprocess).toEqual(JSON.parse(floatMeta['learngene.preprocess']!));
    expect(classifier.classNames).toEqual(JSON.parse(floatMeta['learngene.classNames']!));
    await classifier.dispose();
  });

  it('refuses calibration data whose labels are not the model\'s, and int8 for other formats, before writing anything', async () => {
    const model = await ourModel(tmp, EXPORT_CASES[0]);
    const out = path.join(tmp, 'refused.onnx');
    const data = { path: SAMPLE_DATA, valFraction: 0, classes: [0, 1, 2], augment: { cropPadding: 0, horizontalFlip: false } };
    await expect(exportModel(model, 'onnx', out, { quantize: 'int8', calibration: { data } })).rejects.toThrow(`calibration.data: ${SAMPLE_DATA} has 3 classes but the model predicts 10; calibrate on the data the model was trained for`);
    await expect(exportModel(model, 'tfjs', path.join(tmp, 'refused-tfjs'), { quantize: 'int8' })).rejects.toThrow('quantize: int8 quantization is for the ONNX export, not tfjs');
    await expect(fs.access(out)).rejects.toThrow();
    await expect(fs.access(path.join(tmp, 'refused-tfjs'))).rejects.toThrow();
  });
});
