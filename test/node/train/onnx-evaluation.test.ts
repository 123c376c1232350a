// Around the ONNX training step: evaluation on the same runtime (OnnxInference, the
// executor's own logits), our ViT teacher in onnxruntime (fastTeacher), and resumption:
// a Trainer on onnxruntime stopped mid-run and restored from (weights, moments,
// position) ends bit-identical to the uninterrupted run; restored on tfjs instead, it
// ends within float tolerance.

import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import '../../../engine/gradients.js';
import { DEFAULT_OPTIM, type OptimConfig, type ViTConfig } from '../../../shared/config.js';
import type { Batch } from '../../../engine/data/types.js';
import type { TensorMap } from '../../../engine/io/safetensors.js';
import { createViT, disposeParams, forward, type Network, tensorsFromParams } from '../../../engine/model/vit.js';
import { createAuxNet } from '../../../engine/sws/auxnet.js';
import { NetworkTeacher } from '../../../engine/train/model-teacher.js';
import { CachedTeacher } from '../../../engine/train/teacher-cache.js';
import { type BatchSource, NonFiniteLossError, Trainer, type TrainPosition } from '../../../engine/train/loop.js';
import { TfjsStepExecutor } from '../../../engine/train/executor.js';
import { OnnxInference, OnnxStepExecutor } from '../../../engine/onnx/executor.js';
import { createOrtRuntime } from '../../../node/train/onnx-runtime.js';
import { fastTeacher, OnnxNetworkTeacher } from '../../../node/train/onnx-network-teacher.js';
import { maxAbsDiff, useBackend } from '../../helpers/fixtures.js';

const config: ViTConfig = { imageSize: 16, channels: 3, patchSize: 4, dim: 32, depth: 3, heads: 2, mlpRatio: 2, qkvBias: true, pooling: 'avg', layerNormEps: 1e-6, gelu: 'exact', dropPath: 0.2, numClasses: 5 };
const preprocess = { imageSize: 16, channels: 3, mean: [0.5, 0.5, 0.5], std: [0.25, 0.25, 0.25] };

function makeBatch(size: number, seed: number, withIndices = false): Batch {
  const images = new Float32Array(size * 3 * 16 * 16).map((_, i) => Math.sin(i * 0.37 + seed) * 1.5);
  const labels = new Int32Array(size).map((_, i) => (i * 3 + seed) % 5);
  return withIndices ? { images, labels, size, indices: new Int32Array(size).map((_, i) => i + seed * 100), augmented: false } : { images, labels, size };
}


const tfjsLogits = (net: Network, batch: Batch) =>
  tf.tidy(() => forward(net, tf.tensor4d(batch.images, [batch.size, 3, 16, 16]), { training: false }).dataSync());

describe('evaluation and teachers in onnxruntime', () => {
  beforeAll(async () => {
    await useBackend('cpu');
  });

  it.each(['vit', 'aux'] as const)('OnnxInference logits of a %s equal a tfjs forward pass, and follow new weights', async (kind) => {
    const net = kind === 'vit' ? createViT(config, 4) : createAuxNet({ kind: 'sws', vit: { ...config, depth: 4 }, stages: [1, 3] }, 4);
    const inference = new OnnxInference(await createOrtRuntime('onnxruntime', { threads: 1 }));
    const batch = makeBatch(9, 5);
    for (let round = 0; round < 2; round++) {
      expect(maxAbsDiff((await inference.logits(net, batch))!, tfjsLogits(net, batch))).toBeLessThan(1e-5);
      for (const v of net.params.values()) v.assign(tf.mul(v, 1.01));
    }
    inference.dispose();
    disposeParams(net.params);
  });

  it('our ViT teacher in onnxruntime (fastTeacher) gives the tfjs teacher\'s logits, and a distillation step equals tfjs', async () => {
    const student = createAuxNet({ kind: 'sws', vit: { ...config, depth: 2, dropPath: 0 }, stages: [2] }, 6);
    const studentTfjs = createAuxNet({ kind: 'sws', vit: { ...config, depth: 2, dropPath: 0 }, stages: [2] }, 6);
    const teacherNet = createViT({ ...config, dropPath: 0 }, 7);
    const tfjsTeacher = new NetworkTeacher(teacherNet, preprocess, { ...preprocess, mean: [0.4, 0.5, 0.6] });
    const fast = await fastTeacher(new CachedTeacher(tfjsTeacher));
    expect((fast as CachedTeacher).inner).toBeInstanceOf(OnnxNetworkTeacher);
    const batch = makeBatch(5, 3, true);
    expect(maxAbsDiff((await fast.logits(batch)).dataSync(), (await tfjsTeacher.logits(batch)).dataSync())).toBeLessThan(1e-4);
    const optim = { ...DEFAULT_OPTIM, eps: 1e-6 };
    const task = (network: Network) => ({ network, optim, distill: { alpha: 0.5, tau: 2 }, distilling: true });
    const onnx = new OnnxStepExecutor(task(student), await createOrtRuntime('onnxruntime', { threads: 1 }));
    const tfjs = new TfjsStepExecutor(task(studentTfjs));
    const a = await onnx.step({ batch: makeBatch(5, 4, true), lr: 1e-3, dropPath: null, teacher: fast });
    const b = await tfjs.step({ batch: makeBatch(5, 4, true), lr: 1e-3, dropPath: null, teacher: fast });
    expect(Math.abs(a.kd! - b.kd!) / b.kd!).toBeLessThan(1e-4);
    expect(Math.abs(a.total! - b.total!) / b.total!).toBeLessThan(1e-4);
    // The executor's own evaluation runs its current (not yet synced) weights.
    const evaluated = (await onnx.logits(student, batch))!;
    await onnx.syncWeights();
    expect(maxAbsDiff(evaluated, tfjsLogits(student, batch))).toBeLessThan(1e-5);
    onnx.dispose();
    tfjs.dispose();
    await ((fast as CachedTeacher).inner as OnnxNetworkTeacher).dispose();
    for (const n of [student, studentTfjs, teacherNet]) disposeParams(n.params);
  });
});

describe('a Trainer on onnxruntime', () => {
  const optim: OptimConfig = { ...DEFAULT_OPTIM, epochs: 2, batchSize: 6, lr: 3e-3, warmupEpochs: 0.5, labelSmoothing: 0.1 };
  const source: BatchSource = { stepsPerEpoch: 3, batchSize: 6, batch: async (epoch, step) => makeBatch(6, epoch * 10 + step) };
  interface Saved { position: TrainPosition; optimizer: TensorMap; weights: TensorMap }

  async function train(executorFor: (net: Network) => Promise<ConstructorParameters<typeof Trainer>[0]['executor']>, stopAfter?: number, resume?: Saved) {
    const net = createViT(config, 1);
    if (resume) for (const [name, v] of net.params) v.assign(tf.tensor(resume.weights.get(name)!.data, v.shape));
    const trainer = new Trainer({ phase: 'resume', network: net, train: source, val: null, optim, seed: 3, executor: await executorFor(net) });
    if (resume) trainer.restore(resume.position, resume.optimizer);
    let saved: Saved | undefined;
    trainer.task.hooks = {
      afterStep: async (position) => {
        if (stopAfter !== undefined && position.globalStep === stopAfter) {
          saved = { position: structuredClone(position), optimizer: await trainer.optimizerState(), weights: tensorsFromParams(await trainer.weights()) };
          return 'stop';
        }
      },
    };
    await trainer.run();
    const weights = tensorsFromParams(await trainer.weights());
    trainer.executor.dispose();
    trainer.dispose();
    disposeParams(net.params);
    return { weights, saved };
  }

  const onnx = async (net: Network) => new OnnxStepExecutor({ network: net, optim, distill: { alpha: 1, tau: 1 }, distilling: false }, await createOrtRuntime('onnxruntime', { threads: 2 }));
  const tfjs = async (net: Network) => new TfjsStepExecutor({ network: net, optim, distill: { alpha: 1, tau: 1 }, distilling: false });

  it('stops on a non-finite loss with the last good weights and moments', async () => {
    await useBackend('cpu');
    const net = createViT({ ...config, dropPath: 0 }, 2);
    const good = makeBatch(2, 1);
    const bad: Batch = { ...good, images: new Float32Array(good.images.length).fill(NaN) };
    const source: BatchSource = { stepsPerEpoch: 2, batchSize: 2, batch: async (_epoch, step) => (step === 0 ? good : bad) };
    const executor = await onnx(net);
    const trainer = new Trainer({ phase: 'nan-test', network: net, train: source, val: null, optim: { ...optim, epochs: 1 }, seed: 1, executor });
    let afterGood: { weights: TensorMap; moments: TensorMap } | null = null;
    trainer.task.hooks = { afterStep: async () => void (afterGood ??= { weights: tensorsFromParams(await trainer.weights()), moments: await trainer.optimizerState() }) };
    await expect(trainer.run()).rejects.toThrow(/nan-test: loss became NaN at epoch 1, step 2/);
    const weights = tensorsFromParams(await trainer.weights());
    for (const [name, t] of afterGood!.weights) expect(Array.from(weights.get(name)!.data), name).toEqual(Array.from(t.data));
    for (const [name, t] of await trainer.optimizerState()) expect(Array.from(t.data), name).toEqual(Array.from(afterGood!.moments.get(name)!.data));
    expect(trainer.position.globalStep).toBe(1);
    executor.dispose();
    trainer.dispose();
    disposeParams(net.params);
  });

  it('resumes bit-exactly on the same backend and thread count, and within tolerance on tfjs', async () => {
    await useBackend('cpu');
    const whole = await train(onnx);
    const first = await train(onnx, 4); // stops mid-epoch 2
    const resumed = await train(onnx, undefined, first.saved!);
    for (const [name, t] of whole.weights) expect(Array.from(resumed.weights.get(name)!.data), name).toEqual(Array.from(t.data));
    const onTfjs = await train(tfjs, undefined, first.saved!);
    let diff = 0;
    let norm = 0;
    for (const [name, t] of whole.weights) {
      const other = onTfjs.weights.get(name)!.data;
      for (let i = 0; i < t.data.length; i++) {
        diff += (other[i]! - t.data[i]!) ** 2;
        norm += t.data[i]! ** 2;
      }
    }
    expect(Math.sqrt(diff / norm)).toBeLessThan(1e-4);
  });
});
