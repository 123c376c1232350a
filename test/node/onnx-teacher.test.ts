// ONNX classifiers as teachers: the torch.onnx-exported fixture reproduces PyTorch's
// logits through the teacher interface, input layout / size / normalization are read and
// converted, and a tiny student distilled from it for a few steps lowers its KD loss.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import onnxProto from 'onnx-proto';
import { DEFAULT_OPTIM, type ViTConfig } from '../../shared/config.js';
import type { Batch, Preprocess } from '../../engine/data/types.js';
import { createViT, disposeParams } from '../../engine/model/vit.js';
import { Trainer, type BatchSource } from '../../engine/train/loop.js';
import { describeOnnx, OnnxClassifier, OnnxTeacher, resolveInputSpec } from '../../node/onnx-teacher.js';
import { fixturePath, maxAbsDiff, readJson, readNpy, useBackend } from '../helpers/fixtures.js';

const { onnx } = onnxProto;
const MODEL = fixturePath('torchvision_vit', 'model.onnx');
const IMAGENET = { mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225] };
let tmp: string;

beforeAll(async () => {
  await useBackend('wasm');
  tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'learngene-onnx-teacher-'));
});
afterAll(async () => {
  await fs.rm(tmp, { recursive: true, force: true });
});

function batchOf(images: Float32Array, size: number): Batch {
  return { images, labels: new Int32Array(size), size };
}

describe('describeOnnx', () => {
  it('reads inputs, outputs, opset, producer and classes of the torch.onnx fixture', async () => {
    const d = await describeOnnx(MODEL);
    const manifest = readJson('torchvision_vit', 'manifest.json');
    expect(d.inputs).toEqual([{ name: 'pixel_values', type: 'float32', shape: manifest.onnx.inputShape }]);
    expect(d.outputs).toEqual([{ name: 'logits', type: 'float32', shape: manifest.onnx.outputShape }]);
    expect(d.opset).toBe(17);
    expect(d.producer.name).toBe('pytorch');
    expect(d.numClasses).toBe(10);
    expect(d.sha256).toMatch(/^[0-9a-f]{64}$/);
  });
});

describe('OnnxTeacher on the torch.onnx fixture', () => {
  it('gives PyTorch logits within 1e-4 when the student preprocess makes conversion the identity', async () => {
    const input = readNpy('torchvision_vit', 'input.npy');
    const student: Preprocess = { imageSize: 32, channels: 3, ...IMAGENET };
    const teacher = await OnnxTeacher.load(MODEL, student);
    expect(teacher.numClasses).toBe(10);
    expect(teacher.classifier.input).toMatchObject({ name: 'pixel_values', layout: 'NCHW', batch: null, channels: 3, height: 32, width: 32 });
    const logits = await teacher.logits(batchOf(input.data, 2));
    expect(logits.shape).toEqual([2, 10]);
    const diff = maxAbsDiff(logits.dataSync(), readNpy('torchvision_vit', 'logits.npy').data);
    console.log(`ONNX teacher vs PyTorch logits: ${diff.toExponential(2)}`);
    expect(diff).toBeLessThan(1e-4);
    logits.dispose();
    await teacher.dispose();
  });

  it('re-normalizes a student batch with other statistics to the same logits', async () => {
    const input = readNpy('torchvision_vit', 'input.npy');
    // The same pixels normalized with 0.5 / 0.5 instead of ImageNet statistics.
    const pixels = input.data.map((v, i) => {
      const c = Math.floor(i / 1024) % 3;
      return (v * IMAGENET.std[c]! + IMAGENET.mean[c]! - 0.5) / 0.5;
    });
    const teacher = await OnnxTeacher.load(MODEL, { imageSize: 32, channels: 3, mean: [0.5, 0.5, 0.5], std: [0.5, 0.5, 0.5] });
    const logits = await teacher.logits(batchOf(pixels, 2));
    expect(maxAbsDiff(logits.dataSync(), readNpy('torchvision_vit', 'logits.npy').data)).toBeLessThan(1e-4);
    logits.dispose();
    await teacher.dispose();
  });

  it('feeds a 16 px grayscale student to the 32 px RGB teacher (resized, replicated)', async () => {
    const teacher = await OnnxTeacher.load(MODEL, { imageSize: 16, channels: 1, mean: [0.5], std: [0.5] });
    const gray = Float32Array.from({ length: 3 * 16 * 16 }, (_, i) => Math.sin(i * 0.37));
    const logits = await teacher.logits(batchOf(gray, 3));
    expect(logits.shape).toEqual([3, 10]);
    // Same as converting by hand and running the model in its own format.
    const direct = await teacher.classifier.predict(gray, 3, { imageSize: 16, channels: 1, mean: [0.5], std: [0.5] });
    expect(maxAbsDiff(logits.dataSync(), direct)).toBe(0);
    logits.dispose();
    await teacher.dispose();
  });
});

/** image [N, 8, 8, 3] (NHWC, raw [0,1]) → mean over pixels → [N, 3] @ W [3, 4]: a readable NHWC classifier. */
async function writeNhwcModel(file: string, weights: number[], fixedBatch: number | null): Promise<void> {
  const DataType = onnx.TensorProto.DataType;
  const AttributeType = onnx.AttributeProto.AttributeType;
  const dim = (d: number | string) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d });
  const model = onnx.ModelProto.create({
    irVersion: 8,
    opsetImport: [{ domain: '', version: 17 }],
    producerName: 'test',
    graph: {
      name: 'nhwc',
      node: [
        { name: 'pool', opType: 'ReduceMean', input: ['image'], output: ['pooled'], attribute: [{ name: 'axes', type: AttributeType.INTS, ints: [1, 2] }, { name: 'keepdims', type: AttributeType.INT, i: 0 }] },
        { name: 'fc', opType: 'MatMul', input: ['pooled', 'w'], output: ['scores'] },
      ],
      initializer: [{ name: 'w', dataType: DataType.FLOAT, dims: [3, 4], rawData: new Uint8Array(Float32Array.from(weights).buffer) }],
      input: [{ name: 'image', type: { tensorType: { elemType: DataType.FLOAT, shape: { dim: [dim(fixedBatch ?? 'N'), dim(8), dim(8), dim(3)] } } } }],
      output: [{ name: 'scores', type: { tensorType: { elemType: DataType.FLOAT, shape: { dim: [dim(fixedBatch ?? 'N'), dim(4)] } } } }],
    },
  });
  await fs.writeFile(file, onnx.ModelProto.encode(model).finish());
}

describe('OnnxClassifier input handling', () => {
  const w = [1, 0, 0, 0.5, 0, 1, 0, -1, 0, 0, 1, 2];
  /** What the NHWC model must output for a gray NCHW batch normalized with 0.5/0.5, fed raw [0,1] RGB. */
  function expected(gray: Float32Array, n: number): number[] {
    const out: number[] = [];
    for (let b = 0; b < n; b++) {
      let mean = 0;
      for (let i = 0; i < 64; i++) mean += gray[b * 64 + i]! * 0.5 + 0.5;
      mean /= 64;
      for (let k = 0; k < 4; k++) out.push(mean * (w[k]! + w[4 + k]! + w[8 + k]!));
    }
    return out;
  }

  it.each([[null], [2]] as const)('reads an NHWC input (batch %s), converts gray → RGB, normalization "none"', async (fixedBatch) => {
    const file = path.join(tmp, `nhwc-${fixedBatch}.onnx`);
    await writeNhwcModel(file, w, fixedBatch);
    const student: Preprocess = { imageSize: 8, channels: 1, mean: [0.5], std: [0.5] };
    const teacher = await OnnxTeacher.load(file, student, { normalization: 'none' });
    expect(teacher.classifier.input).toMatchObject({ layout: 'NHWC', batch: fixedBatch, channels: 3, height: 8, width: 8 });
    expect(teacher.numClasses).toBe(4);
    const gray = Float32Array.from({ length: 3 * 64 }, (_, i) => Math.cos(i * 0.11));
    const logits = await teacher.logits(batchOf(gray, 3)); // 3 images: a fixed batch of 2 needs a padded second chunk
    expect(maxAbsDiff(logits.dataSync(), expected(gray, 3))).toBeLessThan(1e-5);
    logits.dispose();
    await teacher.dispose();
  });

  it('resolves layouts and sizes, and says what it cannot feed', () => {
    expect(resolveInputSpec('x', ['N', 224, 224, 3], {}, 'm')).toMatchObject({ layout: 'NHWC', height: 224, channels: 3, batch: null });
    expect(resolveInputSpec('x', [1, 1, 28, 28], {}, 'm')).toMatchObject({ layout: 'NCHW', channels: 1, height: 28, batch: 1 });
    expect(resolveInputSpec('x', ['N', 3, 'H', 'W'], { imageSize: 64 }, 'm')).toMatchObject({ layout: 'NCHW', height: 64, width: 64 });
    expect(() => resolveInputSpec('x', ['N', 3, 'H', 'W'], {}, 'm.onnx')).toThrow(/m\.onnx: input "x" has a dynamic height .*give the image size/);
    expect(() => resolveInputSpec('x', ['N', 3, 224], {}, 'm.onnx')).toThrow(/rank-4 batch/);
    expect(() => resolveInputSpec('x', ['N', 4, 32, 32], {}, 'm.onnx')).toThrow(/neither axis 1 nor axis 3 holds 1 or 3 channels/);
  });

  it('rejects a file that is not ONNX', async () => {
    const file = path.join(tmp, 'not.onnx');
    await fs.writeFile(file, 'hello, this is text');
    await expect(OnnxClassifier.load(file)).rejects.toThrow(/not\.onnx: (is not an ONNX model|onnxruntime could not load it)/);
  });
});

describe('distillation from the ONNX teacher', () => {
  it('lowers the KD loss of a tiny student over a few steps', async () => {
    const preprocess: Preprocess = { imageSize: 32, channels: 3, ...IMAGENET };
    const teacher = await OnnxTeacher.load(MODEL, preprocess);
    const config: ViTConfig = { imageSize: 32, channels: 3, patchSize: 8, dim: 32, depth: 1, heads: 2, mlpRatio: 2, qkvBias: true, pooling: 'avg', layerNormEps: 1e-6, gelu: 'exact', dropPath: 0, numClasses: 10 };
    const student = createViT(config, 3);
    // A fixed batch of random images: the KD loss on it must fall as the student fits the teacher.
    const images = Float32Array.from({ length: 16 * 3 * 32 * 32 }, (_, i) => Math.sin(i * 12.9898) * 1.5);
    const source: BatchSource = { stepsPerEpoch: 12, batchSize: 16, batch: async () => ({ images, labels: new Int32Array(16), size: 16 }) };
    const kd: number[] = [];
    const trainer = new Trainer({
      phase: 'distill from onnx',
      network: student,
      train: source,
      val: null,
      optim: { ...DEFAULT_OPTIM, epochs: 1, batchSize: 16, lr: 3e-3, minLr: 3e-3, weightDecay: 0 },
      seed: 1,
      teacher,
      distill: { alpha: 1, tau: 1 },
      hooks: { emit: (e) => { if (e.type === 'step') kd.push(e.losses.kd!); } },
    });
    await trainer.run();
    console.log(`KD loss per step: ${kd.map((v) => v.toFixed(4)).join(' ')}`);
    expect(kd).toHaveLength(12);
    expect(kd.every(Number.isFinite)).toBe(true);
    expect(kd[kd.length - 1]!).toBeLessThan(0.7 * kd[0]!);
    trainer.dispose();
    disposeParams(student.params);
    await teacher.dispose();
  });
});
