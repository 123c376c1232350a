// Data-parallel training (node/train/parallel.ts): the workers' averaged gradients equal
// single-thread gradients, with drop-path, a replicated teacher, uneven slices and
// frozen parameters; a Trainer on the pool follows the local one and resumes bit-exactly.
// The workers run from dist/ (npm test builds it first).

import { existsSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import '../../../engine/gradients.js';
import type { AuxNetConfig, OptimConfig, ViTConfig } from '../../../shared/config.js';
import { DEFAULT_OPTIM } from '../../../shared/config.js';
import { createViT, disposeParams, forward, type Network, tensorsFromParams } from '../../../engine/model/vit.js';
import { createAuxNet } from '../../../engine/sws/auxnet.js';
import { LocalGradients, stepDropPath, type StepGradients, type StepRequest } from '../../../engine/train/gradients.js';
import { NetworkTeacher } from '../../../engine/train/model-teacher.js';
import { CachedTeacher } from '../../../engine/train/teacher-cache.js';
import { Trainer, type BatchSource } from '../../../engine/train/loop.js';
import type { Batch } from '../../../engine/data/types.js';
import { ParallelGradients, sliceBatch } from '../../../node/train/parallel.js';
import { fastTeacher, OnnxNetworkTeacher } from '../../../node/train/onnx-network-teacher.js';
import { REPO_ROOT, useBackend } from '../../helpers/fixtures.js';

const WORKER = path.join(REPO_ROOT, 'dist/node/train/gradient-worker.js');

const config: ViTConfig = { imageSize: 16, channels: 3, patchSize: 4, dim: 32, depth: 3, heads: 2, mlpRatio: 2, qkvBias: true, pooling: 'avg', layerNormEps: 1e-6, gelu: 'exact', dropPath: 0.2, numClasses: 5 };
const preprocess = { imageSize: 16, channels: 3, mean: [0.5, 0.5, 0.5], std: [0.25, 0.25, 0.25] };

function makeBatch(size: number, seed: number, withIndices = false): Batch {
  const images = new Float32Array(size * 3 * 16 * 16).map((_, i) => Math.sin(i * 0.37 + seed) * 1.5);
  const labels = new Int32Array(size).map((_, i) => (i * 3 + seed) % 5);
  return withIndices ? { images, labels, size, indices: new Int32Array(size).map((_, i) => i + seed * 100), augmented: false } : { images, labels, size };
}

function pool(network: Network, workers: number): ParallelGradients {
  return new ParallelGradients(network, { workers, minStepGflop: 0, workerFile: new URL(`file://${WORKER}`) });
}

function request(network: Network, batch: Batch, extra: Partial<StepRequest> = {}): StepRequest {
  return {
    network,
    trainable: new Map(network.params),
    batch,
    dropPath: stepDropPath(network, 3, 7, batch.size),
    teacher: null,
    labelSmoothing: 0.1,
    distill: { alpha: 0.5, tau: 2 },
    ...extra,
  };
}

/** max |a - b| / max |b| over every gradient (relative to each gradient's scale). */
function compare(a: StepGradients, b: StepGradients): number {
  expect([...a.grads.keys()].sort()).toEqual([...b.grads.keys()].sort());
  let worst = 0;
  for (const [name, gb] of b.grads) {
    const x = a.grads.get(name)!.dataSync();
    const y = gb.dataSync();
    let scale = 1e-6;
    let diff = 0;
    for (let i = 0; i < y.length; i++) {
      scale = Math.max(scale, Math.abs(y[i]!));
      diff = Math.max(diff, Math.abs(x[i]! - y[i]!));
    }
    worst = Math.max(worst, diff / scale);
  }
  return worst;
}

beforeAll(async () => {
  if (!existsSync(WORKER)) throw new Error(`${WORKER} is missing: build with "npx tsc -p tsconfig.json" (npm test does) first`);
  await useBackend('wasm');
});

describe('sliceBatch', () => {
  it('splits a batch into near-equal contiguous slices', () => {
    expect(sliceBatch(64, 2)).toEqual([[0, 32], [32, 64]]);
    expect(sliceBatch(7, 3)).toEqual([[0, 3], [3, 5], [5, 7]]);
    expect(sliceBatch(2, 4)).toEqual([[0, 1], [1, 2]]);
  });
});

describe('data-parallel gradients equal single-worker gradients', () => {
  const opened: ParallelGradients[] = [];
  afterAll(() => opened.forEach((p) => p.dispose()));

  it.each([2, 3])('ViT with drop-path and label smoothing, %i workers (uneven slices)', async (workers) => {
    const net = createViT(config, 1);
    const batch = makeBatch(7, 1);
    const local = await new LocalGradients().compute(request(net, batch));
    const p = pool(net, workers);
    opened.push(p);
    const parallel = await p.compute(request(net, batch));
    expect(p.description).toContain(`${workers} wasm workers`);
    expect(Math.abs(parallel.losses.total! - local.losses.total!)).toBeLessThan(1e-5 * Math.abs(local.losses.total!));
    expect(compare(parallel, local)).toBeLessThan(1e-5);
    disposeParams(net.params);
  });

  it('SWS Aux-Net distilled from a replicated teacher, with frozen parameters and weights changed between steps', async () => {
    const aux: AuxNetConfig = { kind: 'sws', vit: { ...config, depth: 4 }, stages: [2, 2] };
    const student = createAuxNet(aux, 2);
    const teacherNet = createViT({ ...config, dropPath: 0 }, 9);
    const teacher = new CachedTeacher(new NetworkTeacher(teacherNet, preprocess, preprocess));
    const trainable = new Map([...student.params].filter(([name]) => !name.startsWith('patch_embed')));
    const p = pool(student, 2);
    opened.push(p);
    for (let step = 0; step < 2; step++) {
      const batch = makeBatch(6, step + 2, true);
      const req = request(student, batch, { teacher, trainable });
      const local = await new LocalGradients().compute({ ...req, teacher: teacher.inner });
      const parallel = await p.compute(req);
      expect(parallel.losses.kd).toBeDefined();
      expect(Math.abs(parallel.losses.kd! - local.losses.kd!)).toBeLessThan(1e-5 * Math.abs(local.losses.kd!) + 1e-7);
      expect(compare(parallel, local)).toBeLessThan(1e-5);
      // the replicas' logits went into the cache
      expect(teacher.lookup(batch)).not.toBeNull();
      for (const v of student.params.values()) v.assign(tf.add(v, 0.01));
    }
    disposeParams(student.params);
    disposeParams(teacherNet.params);
  });

  it('distils from our ViT teacher run in onnxruntime (fastTeacher), equal to the tfjs teacher', async () => {
    const student = createAuxNet({ kind: 'sws', vit: { ...config, depth: 2 }, stages: [2] }, 6);
    const teacherNet = createViT({ ...config, dropPath: 0 }, 7);
    const tfjsTeacher = new NetworkTeacher(teacherNet, preprocess, { ...preprocess, mean: [0.4, 0.5, 0.6] });
    const fast = await fastTeacher(new CachedTeacher(tfjsTeacher));
    expect(fast).toBeInstanceOf(CachedTeacher);
    expect((fast as CachedTeacher).inner).toBeInstanceOf(OnnxNetworkTeacher);
    const batch = makeBatch(5, 3, true);
    const a = (await fast.logits(batch)).dataSync();
    const b = (await tfjsTeacher.logits(batch)).dataSync();
    let diff = 0;
    for (let i = 0; i < a.length; i++) diff = Math.max(diff, Math.abs(a[i]! - b[i]!));
    expect(diff).toBeLessThan(1e-4);
    const p = pool(student, 2);
    opened.push(p);
    const parallel = await p.compute(request(student, makeBatch(5, 4, true), { teacher: fast }));
    const local = await new LocalGradients().compute(request(student, makeBatch(5, 4, true), { teacher: tfjsTeacher }));
    expect(compare(parallel, local)).toBeLessThan(1e-4);
    await ((fast as CachedTeacher).inner as OnnxNetworkTeacher).dispose();
    disposeParams(student.params);
    disposeParams(teacherNet.params);
  });

  it.each(['vit', 'aux'] as const)('evaluation logits of a %s (onnxruntime for a ViT, the workers otherwise) equal a local forward pass', async (kind) => {
    const net = kind === 'vit' ? createViT(config, 4) : createAuxNet({ kind: 'sws', vit: { ...config, depth: 4 }, stages: [1, 3] }, 4);
    const p = pool(net, 2);
    opened.push(p);
    const batch = makeBatch(9, 5);
    await p.compute(request(net, batch));
    for (let round = 0; round < 2; round++) {
      const spread = await p.logits(net, batch);
      const here = tf.tidy(() => forward(net, tf.tensor4d(batch.images, [9, 3, 16, 16]), { training: false }).dataSync());
      let diff = 0;
      for (let i = 0; i < here.length; i++) diff = Math.max(diff, Math.abs(here[i]! - spread[i]!));
      expect(diff).toBeLessThan(1e-5);
      // new weights must be picked up (a re-export / a weight reload)
      for (const v of net.params.values()) v.assign(tf.mul(v, 1.01));
    }
    disposeParams(net.params);
  });
});

describe('Trainer on the worker pool', () => {
  const optim: OptimConfig = { ...DEFAULT_OPTIM, epochs: 1, batchSize: 8, lr: 2e-3, warmupEpochs: 0 };
  const source: BatchSource = { stepsPerEpoch: 4, batchSize: 8, batch: async (_e, step) => makeBatch(8, step) };

  async function train(mode: 'local' | 'pool', stopAfter?: number, resume?: { position: any; optimizer: any; weights: any }) {
    const net = createViT(config, 11);
    const gradients = mode === 'pool' ? pool(net, 2) : new LocalGradients();
    const trainer = new Trainer({ phase: 'dp', network: net, train: source, val: null, optim, seed: 5, gradients });
    if (resume) {
      for (const [name, t] of resume.weights as Map<string, { shape: number[]; data: Float32Array }>) net.params.get(name)!.assign(tf.tensor(t.data, t.shape));
      trainer.restore(resume.position, resume.optimizer);
    }
    if (stopAfter !== undefined) trainer.task.hooks = { afterStep: async (position) => (position.globalStep >= stopAfter ? 'stop' : undefined) };
    await trainer.run();
    const state = { position: structuredClone(trainer.position), optimizer: trainer.optimizerState(), weights: tensorsFromParams(trainer.weights()) };
    trainer.dispose();
    gradients.dispose();
    disposeParams(net.params);
    return state;
  }

  it('follows single-thread training and resumes bit-exactly', async () => {
    const local = await train('local');
    const full = await train('pool');
    for (const [name, t] of local.weights) {
      const other = full.weights.get(name)!;
      let diff = 0;
      for (let i = 0; i < t.data.length; i++) diff = Math.max(diff, Math.abs(t.data[i]! - other.data[i]!));
      expect(diff, name).toBeLessThan(1e-4);
    }
    const half = await train('pool', 2);
    expect(half.position.globalStep).toBe(2);
    const resumed = await train('pool', undefined, half);
    for (const [name, t] of full.weights) expect(Array.from(resumed.weights.get(name)!.data), name).toEqual(Array.from(t.data));
  });
});
