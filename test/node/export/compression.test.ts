// Smaller descendants through every export path: a pruned model (fewer heads, a narrower
// MLP) exported as ONNX, a TensorFlow.js graph model and timm safetensors, each checked by
// the other side's code against the engine's logits; and a trained model, pruned and
// quantized, whose exports agree with the engine's own evaluation of the same model.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import * as tf from '@tensorflow/tfjs-core';
import { loadGraphModel } from '@tensorflow/tfjs-converter';
import * as ort from 'onnxruntime-node';
import { DEFAULT_OPTIM } from '../../../shared/config.js';
import type { DataSpec } from '../../../shared/api.js';
import { encodeNpy } from '../../../engine/io/npy.js';
import { exportModel } from '../../../node/export/index.js';
import { readAnyModel } from '../../../node/import.js';
import type { JobContext } from '../../../node/jobs/phase.js';
import { runPrune } from '../../../node/jobs/prune-jobs.js';
import { runFinetune, runTrain } from '../../../node/jobs/train-jobs.js';
import { runEvaluate } from '../../../node/jobs/evaluate-job.js';
import { SAMPLE_DATA } from '../../helpers/jobs.js';
import { fixturePath, maxAbsDiff, readNpy, REPO_ROOT, useBackend } from '../../helpers/fixtures.js';
import { EXPORT_CASES, fileHandler, ourLogits, ourModel, pythonMissing } from './helpers.js';

const torchMissing = pythonMissing('torch');
const onnxMissing = pythonMissing('onnx');

const quiet: JobContext = { emit: () => undefined, signal: new AbortController().signal, runDir: null, checkpointEvery: 0 };

let tmp: string;
beforeAll(async () => {
  await useBackend('wasm');
  tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'learngene-compression-'));
});
afterAll(async () => {
  await fs.rm(tmp, { recursive: true, force: true });
});

describe.each(EXPORT_CASES.slice(0, 2))('a pruned $name through every export', (c) => {
  let pruned: string;
  let heads: number;
  beforeAll(async () => {
    pruned = path.join(tmp, `${c.name}-pruned`);
    const source = await ourModel(tmp, c);
    heads = (await readAnyModel(source)).meta.config.heads;
    const result = await runPrune({ kind: 'prune', model: source, out: pruned, headsKeep: 0.5, mlpKeep: 0.5, importance: 'weight', seed: 0 }, quiet);
    expect(result.heads).toEqual({ before: heads, after: heads / 2 });
    expect(result.config.headDim).toBe(result.config.dim / heads);
  });

  it('ONNX: runs in onnxruntime and matches the engine within 1e-4', async () => {
    const file = path.join(tmp, `${c.name}-pruned.onnx`);
    await exportModel(pruned, 'onnx', file);
    const input = readNpy(...c.input);
    const session = await ort.InferenceSession.create(file);
    const out = await session.run({ pixel_values: new ort.Tensor('float32', input.data, input.shape) });
    await session.release();
    const engine = await ourLogits(pruned, c);
    expect(maxAbsDiff(out.logits!.data as Float32Array, engine)).toBeLessThan(1e-4);
    // …and pruning changed the model (the comparison could fail).
    expect(maxAbsDiff(engine, readNpy(...c.logits).data)).toBeGreaterThan(1e-3);
    if (!onnxMissing) {
      const check = spawnSync('/usr/bin/python3', ['-c', 'import sys, onnx\nonnx.checker.check_model(onnx.load(sys.argv[1]), full_check=True)\nprint("ok")', file], { encoding: 'utf8' });
      expect(check.stdout.trim(), check.stderr).toBe('ok');
    }
  });

  it('TensorFlow.js: loads with tf.loadGraphModel and matches the engine within 1e-4', async () => {
    const out = path.join(tmp, `${c.name}-pruned-tfjs`);
    const result = await exportModel(pruned, 'tfjs', out);
    const graphModel = await loadGraphModel(fileHandler(result.files[0]!));
    const input = readNpy(...c.input);
    const x = tf.tensor4d(input.data, input.shape as [number, number, number, number]);
    const y = graphModel.execute({ pixel_values: x }, 'logits') as tf.Tensor;
    expect(maxAbsDiff(y.dataSync(), await ourLogits(pruned, c))).toBeLessThan(1e-4);
    tf.dispose([x, y]);
    graphModel.dispose();
  });

  it.skipIf(torchMissing !== null)('timm: the pruned heads as zeros load strictly in PyTorch and give the engine\'s logits within 1e-4', async () => {
    const out = path.join(tmp, `${c.name}-pruned-timm`);
    const result = await exportModel(pruned, 'timm', out);
    const kept = heads / 2;
    expect(result.warnings.some((w) => w.startsWith(`attention was pruned to ${kept} of ${heads} heads; timm's VisionTransformer needs all ${heads}, so the ${kept} pruned head(s) are written as zeros`))).toBe(true);
    const config = JSON.parse(await fs.readFile(result.files[1]!, 'utf8'));
    expect(config.model_args.num_heads).toBe(heads);
    expect(config.learngene.prunedConfig.heads).toBe(kept);
    const engine = await ourLogits(pruned, c);
    const expected = path.join(tmp, `${c.name}-pruned-expected.npy`);
    await fs.writeFile(expected, encodeNpy({ shape: [readNpy(...c.input).shape[0]!, engine.length / readNpy(...c.input).shape[0]!], data: engine }));
    const run = spawnSync('/usr/bin/python3', [path.join(REPO_ROOT, 'scripts/fixtures/check_timm_export.py'), result.files[0]!, result.files[1]!, fixturePath(...c.input), expected, '--atol', '1e-4'], { encoding: 'utf8' });
    const report = JSON.parse(run.stdout.trim().split('\n').pop()!);
    expect(run.status, run.stderr).toBe(0);
    expect(report.max_abs_diff).toBeLessThan(1e-4);
    // Our own import of the timm export is the full-width model: the same function.
    const back = await readAnyModel(out);
    expect(back.meta.config.heads).toBe(heads);
    expect(back.meta.config.headDim).toBeUndefined();
  });
});

describe('a trained model, pruned and quantized: exports agree with the engine', () => {
  // A fixed subset: the first 1,000 test images of the embedded sample (class-balanced).
  const data: DataSpec = { path: SAMPLE_DATA, valFraction: 0, limit: 2000, testLimit: 1000, augment: { cropPadding: 0, horizontalFlip: false } };
  const calibration = { data: { ...data, limit: 1000 }, images: 128 };
  let model: string;
  let prunedModel: string;

  beforeAll(async () => {
    model = path.join(tmp, 'trained');
    const optim = { ...DEFAULT_OPTIM, epochs: 2, batchSize: 32, lr: 2e-3, warmupEpochs: 0.2 };
    const trained = await runTrain({ kind: 'train', data, out: model, model: { depth: 2, dim: 64, heads: 4, patchSize: 7 }, optim, seed: 0 }, quiet);
    console.log(`trained: test top-1 ${(trained.test!.top1 * 100).toFixed(2)}% (n=${trained.test!.n})`);
    const pruned = path.join(tmp, 'trained-pruned');
    await runPrune({ kind: 'prune', model, out: pruned, headsKeep: 2, mlpKeep: 0.5, importance: 'taylor', data, batches: 4, seed: 0 }, quiet);
    prunedModel = path.join(tmp, 'trained-pruned-ft');
    await runFinetune({ kind: 'finetune', model: pruned, data, out: prunedModel, optim: { ...optim, epochs: 1, lr: 1e-3 }, seed: 0 }, quiet);
  }, 300_000);

  const top1 = async (file: string) => (await runEvaluate({ kind: 'evaluate', model: file, data, split: 'test' })).top1;

  it.each([
    ['fp32', {}],
    ['int8 static', { quantize: 'int8' as const, calibration }],
    ['int8 dynamic', { quantize: 'int8' as const }],
  ])('%s, of the model and of its pruned + fine-tuned version: top-1 within 0.5 points on 1,000 test images', async (name, options) => {
    for (const source of [model, prunedModel]) {
      const engine = await top1(source);
      const file = path.join(tmp, `${path.basename(source)}-${name.replace(' ', '-')}.onnx`);
      const result = await exportModel(source, 'onnx', file, options);
      const onnx = await top1(file);
      console.log(`${path.basename(source)} ${name}: engine ${(engine * 100).toFixed(2)}%, onnxruntime ${(onnx * 100).toFixed(2)}%${result.quantization?.method ? ` (${result.quantization.method})` : ''}`);
      expect(engine).toBeGreaterThan(0.5); // a model worth comparing
      expect(Math.abs(onnx - engine)).toBeLessThanOrEqual(0.005);
      if (name === 'fp32') expect(onnx).toBe(engine);
    }
  });

  it('int8 static: at most 30% of the float file at dim 64', async () => {
    const float = path.join(tmp, 'size-fp32.onnx');
    const int8 = path.join(tmp, 'size-int8.onnx');
    await exportModel(model, 'onnx', float);
    await exportModel(model, 'onnx', int8, { quantize: 'int8', calibration });
    const share = (await fs.stat(int8)).size / (await fs.stat(float)).size;
    console.log(`int8 / fp32 file size: ${(share * 100).toFixed(1)}%`);
    expect(share).toBeLessThanOrEqual(0.3);
  });
});
