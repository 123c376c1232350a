#!/usr/bin/env node
// One measurement of our engine, in a fresh process (so peak RSS is this measurement's):
//   node bench/engine-task.mjs --task train|infer|distill|infer-onnx --backend wasm|cpu|webgpu
//        [--workers N] [--kernels on|off] [--teacher auto|tfjs|onnx] [--steps 5] [--warmup 2]
// --infer-path (infer): auto = the Trainer's evaluation path (onnxruntime for a ViT);
// tfjs = our engine split over the workers.
// --teacher (distill): auto = our ViT teacher in onnxruntime, as the distill job runs it;
// tfjs = replicated into the workers; onnx = an exported .onnx file through OnnxTeacher.
// Prints one JSON line. Imports the compiled engine from dist/ (npm run bench builds it).
// The models and batch are the ones bench/torch_reference.py builds (synthetic data).

import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';

const { values: args } = parseArgs({
  options: {
    task: { type: 'string' },
    backend: { type: 'string', default: 'wasm' },
    workers: { type: 'string', default: 'auto' },
    kernels: { type: 'string', default: 'on' },
    teacher: { type: 'string', default: 'auto' },
    'infer-path': { type: 'string', default: 'auto' },
    steps: { type: 'string', default: '5' },
    warmup: { type: 'string', default: '2' },
    batch: { type: 'string', default: '64' },
  },
});
const steps = Number(args.steps);
const warmup = Number(args.warmup);
const B = Number(args.batch);

const dist = new URL('../dist/', import.meta.url);
const load = (p) => import(new URL(p, dist).href);

const VIT = { imageSize: 32, channels: 3, patchSize: 4, dim: 192, depth: 6, heads: 3, mlpRatio: 4, qkvBias: true, pooling: 'avg', layerNormEps: 1e-6, gelu: 'exact', dropPath: 0, numClasses: 100 };
const PREPROCESS = { imageSize: 32, channels: 3, mean: [0.5, 0.5, 0.5], std: [0.25, 0.25, 0.25] };
const OPTIM = { epochs: 1, batchSize: B, lr: 1e-3, minLr: 1e-5, weightDecay: 0.05, warmupEpochs: 0, beta1: 0.9, beta2: 0.999, eps: 1e-8, clipGradNorm: 1, labelSmoothing: 0 };

function syntheticBatch() {
  let s = 12345;
  const normal = () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    const u = (s + 1) / 4294967297;
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    const v = (s + 1) / 4294967297;
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
  };
  const images = new Float32Array(B * 3 * 32 * 32).map(normal);
  const labels = new Int32Array(B).map((_, i) => i % 100);
  return { images, labels, size: B };
}

async function timeSteps(fn) {
  for (let i = 0; i < warmup; i++) await fn();
  const times = [];
  for (let i = 0; i < steps; i++) {
    const t = performance.now();
    await fn();
    times.push(performance.now() - t);
  }
  return times;
}

function median(values) {
  const s = [...values].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

async function onnxBytesOf(network) {
  const { buildInferenceGraph } = await load('engine/export/graph.js');
  const { encodeOnnx } = await load('node/export/onnx.js');
  const { toStorageLayout } = await load('engine/model/params.js');
  const { tensorsFromParams } = await load('engine/model/vit.js');
  const storage = toStorageLayout(tensorsFromParams(network.params), network.config);
  return encodeOnnx(buildInferenceGraph(network.config, storage), { metadata: { 'learngene.preprocess': JSON.stringify(PREPROCESS) } });
}

async function main() {
  const result = { task: args.task, engine: 'ours', backend: args.backend, batch: B };
  const batch = syntheticBatch();

  if (args.backend === 'webgpu') {
    // the models are created here (on wasm) and sent to the page
    const tf = await import('@tensorflow/tfjs-core');
    await import('@tensorflow/tfjs-backend-wasm');
    await tf.setBackend('wasm');
    const { runComputeBench } = await load('node/compute/bench.js');
    Object.assign(result, await runComputeBench({ task: args.task, steps, warmup, batch, vit: VIT, optim: OPTIM, preprocess: PREPROCESS }));
    result.medianMs = median(result.stepMs);
    result.imagesPerSec = (B / result.medianMs) * 1000;
    result.peakRssMb = process.resourceUsage().maxRSS / 1024;
    console.log(JSON.stringify(result));
    return;
  }

  await load('engine/tf-env.js');
  const tf = await import('@tensorflow/tfjs-core');
  await load('engine/gradients.js');
  if (args.backend === 'wasm') await import('@tensorflow/tfjs-backend-wasm');
  else if (args.backend === 'cpu') await import('@tensorflow/tfjs-backend-cpu');
  else if (args.backend === 'tensorflow') await import('@tensorflow/tfjs-node');
  const kernels = await load('engine/kernels/wasm-kernels.js');
  if (args.kernels === 'off') tf.env().set(kernels.KERNELS_FLAG, false);
  if (!(await tf.setBackend(args.backend))) throw new Error(`backend ${args.backend} did not initialize`);
  await tf.ready();
  result.kernels = kernels.wasmKernelsActive();

  const { createViT, forward } = await load('engine/model/vit.js');
  const { createAuxNet } = await load('engine/sws/auxnet.js');
  const { Trainer } = await load('engine/train/loop.js');
  const { LocalGradients } = await load('engine/train/gradients.js');
  const { ParallelGradients, defaultWorkerCount } = await load('node/train/parallel.js');
  const { NetworkTeacher } = await load('engine/train/model-teacher.js');
  const workers = args.backend !== 'wasm' ? 1 : args.workers === 'auto' ? defaultWorkerCount() : Number(args.workers);
  result.workers = workers;

  const strategyFor = (network) => (workers > 1 ? new ParallelGradients(network, { workers, minStepGflop: 0, evaluateWithOnnx: args['infer-path'] !== 'tfjs' }) : new LocalGradients());

  if (args.task === 'infer-onnx') {
    const ort = await import('onnxruntime-node');
    const network = createViT(VIT, 1);
    const session = await ort.InferenceSession.create(await onnxBytesOf(network), { graphOptimizationLevel: 'all' });
    const feeds = { pixel_values: new ort.Tensor('float32', batch.images, [B, 3, 32, 32]) };
    result.engine = 'onnxruntime-node';
    result.detail = `onnxruntime-node ${ort.env.versions?.node ?? ''} on our ONNX export (default threads)`;
    result.stepMs = await timeSteps(async () => {
      const out = await session.run(feeds);
      out.logits.dispose?.();
    });
  } else if (args.task === 'infer') {
    const network = createViT(VIT, 1);
    const strategy = strategyFor(network);
    if (strategy.logits) {
      // start the workers (they start on the first training step) with one tiny step
      await strategy.compute?.({ network, trainable: new Map(network.params), batch, dropPath: null, teacher: null, labelSmoothing: 0, distill: { alpha: 1, tau: 1 } }).then((r) => tf.dispose([...r.grads.values()]));
    }
    result.stepMs = await timeSteps(async () => {
      if (strategy.logits && workers > 1) {
        await strategy.logits(network, batch);
      } else {
        const out = tf.tidy(() => forward(network, tf.tensor4d(batch.images, [B, 3, 32, 32]), { training: false }));
        await out.data();
        out.dispose();
      }
    });
    const how = strategy.lastEvaluation;
    result.strategy = how === 'onnxruntime' ? 'evaluation path: onnxruntime on an in-memory export of the weights' : how === 'workers' ? `tfjs, split over ${workers} wasm workers` : 'tfjs, one thread';
    strategy.dispose();
  } else {
    let network;
    let teacher = null;
    let cleanup = () => undefined;
    if (args.task === 'distill') {
      network = createAuxNet({ kind: 'sws', vit: { ...VIT, depth: 16 }, stages: [3, 3, 4, 3, 3] }, 1);
      const teacherNet = createViT({ ...VIT, depth: 12 }, 2);
      if (args.teacher === 'onnx') {
        const { OnnxTeacher } = await load('node/onnx-teacher.js');
        const dir = mkdtempSync(path.join(os.tmpdir(), 'lg-bench-'));
        const file = path.join(dir, 'teacher.onnx');
        writeFileSync(file, await onnxBytesOf(teacherNet));
        teacher = await OnnxTeacher.load(file, PREPROCESS);
        cleanup = () => rmSync(dir, { recursive: true, force: true });
        result.teacher = 'an .onnx file through OnnxTeacher (onnxruntime, main thread)';
      } else if (args.teacher === 'tfjs') {
        teacher = new NetworkTeacher(teacherNet, PREPROCESS, PREPROCESS);
        result.teacher = workers > 1 ? 'our ViT in tfjs, replicated in the workers' : 'our ViT in tfjs';
      } else {
        // what the distill job does: our ViT exported in memory and run by onnxruntime
        const { fastTeacher } = await load('node/train/onnx-network-teacher.js');
        teacher = await fastTeacher(new NetworkTeacher(teacherNet, PREPROCESS, PREPROCESS));
        result.teacher = teacher instanceof NetworkTeacher ? 'our ViT in tfjs (onnxruntime unavailable)' : 'our ViT in onnxruntime (in-memory ONNX export, main thread)';
      }
    } else {
      network = createViT(VIT, 1);
    }
    const gradients = strategyFor(network);
    const trainer = new Trainer({ phase: 'bench', network, train: null, val: null, optim: OPTIM, seed: 1, teacher, distill: { alpha: 1, tau: 1 }, gradients });
    result.stepMs = await timeSteps(async () => {
      const losses = await trainer.trainStep(batch, 1e-3);
      if (!Number.isFinite(losses.total)) throw new Error(`non-finite loss ${losses.total}`);
    });
    result.strategy = gradients.description;
    trainer.dispose();
    gradients.dispose();
    cleanup();
  }
  result.medianMs = median(result.stepMs);
  result.imagesPerSec = (B / result.medianMs) * 1000;
  result.peakRssMb = process.resourceUsage().maxRSS / 1024;
  result.stepMs = result.stepMs.map((t) => Math.round(t * 100) / 100);
  console.log(JSON.stringify(result));
  // worker threads and onnxruntime sessions may keep the loop alive
  process.exit(0);
}

main().catch((error) => {
  console.log(JSON.stringify({ task: args.task, engine: 'ours', backend: args.backend, error: error.stack ?? String(error) }));
  process.exit(1);
});
