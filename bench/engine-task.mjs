#!/usr/bin/env node
// One measurement of our engine, in a fresh process (so peak RSS is this measurement's):
//   node bench/engine-task.mjs --task train|infer|distill|infer-onnx
//        [--backend onnxruntime|onnxruntime-webgpu|wasm|cpu|tensorflow] [--threads N]
//        [--contrib on|off] [--profile] [--kernels on|off] [--teacher auto|tfjs|onnx]
//        [--steps 5] [--warmup 2] [--batch 64]
// onnxruntime backends run what jobs run: the whole training step as one ONNX graph
// (engine/onnx), evaluation through OnnxInference, our ViT teacher exported in memory.
// --profile (onnxruntime): onnxruntime's per-node profile of the last timed step, summed
// by op type. --teacher (distill): auto = our ViT teacher in onnxruntime, as the distill
// job runs it; tfjs = in tfjs; onnx = an exported .onnx file through OnnxTeacher.
// infer-onnx: onnxruntime-node called directly on our ONNX export (no engine around it).
// Prints one JSON line. Imports the compiled engine from dist/ (npm run bench builds it).
// The models and batch are the ones bench/torch_reference.py builds (synthetic data).

import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';

const { values: args } = parseArgs({
  options: {
    task: { type: 'string' },
    backend: { type: 'string', default: 'onnxruntime' },
    threads: { type: 'string' },
    contrib: { type: 'string', default: 'on' },
    profile: { type: 'boolean', default: false },
    kernels: { type: 'string', default: 'on' },
    teacher: { type: 'string', default: 'auto' },
    steps: { type: 'string', default: '5' },
    warmup: { type: 'string', default: '2' },
    batch: { type: 'string', default: '64' },
  },
});
const steps = Number(args.steps);
const warmup = Number(args.warmup);
const B = Number(args.batch);
const onnxBackend = args.backend.startsWith('onnxruntime');

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

/** onnxruntime's profile (chrome trace JSON) of the last run of the largest session: time by op type and the slowest nodes. */
function summarizeProfile(dir) {
  const files = readdirSync(dir).filter((f) => f.endsWith('.json')).map((f) => path.join(dir, f));
  let best = null;
  for (const file of files) {
    const events = JSON.parse(readFileSync(file, 'utf8'));
    const runs = events.filter((e) => e.cat === 'Session' && e.name === 'model_run');
    const last = runs.at(-1);
    if (!last) continue;
    const nodes = events.filter((e) => e.cat === 'Node' && e.name.endsWith('_kernel_time') && e.ts >= last.ts && e.ts <= last.ts + last.dur);
    if (!best || nodes.length > best.nodes.length) best = { last, nodes };
  }
  if (!best) return null;
  const byOp = new Map();
  for (const e of best.nodes) {
    const op = e.args.op_name;
    const entry = byOp.get(op) ?? { op, ms: 0, nodes: 0 };
    entry.ms += e.dur / 1000;
    entry.nodes += 1;
    byOp.set(op, entry);
  }
  const nodeMs = best.nodes.reduce((sum, e) => sum + e.dur / 1000, 0);
  const shape = (e) => (e.args.input_type_shape ?? []).map((x) => Object.values(x)[0]);
  return {
    runMs: Math.round(best.last.dur / 10) / 100,
    nodeMs: Math.round(nodeMs * 100) / 100,
    nodes: best.nodes.length,
    byOp: [...byOp.values()].sort((a, b) => b.ms - a.ms).map((x) => ({ ...x, ms: Math.round(x.ms * 100) / 100, share: Math.round((x.ms / nodeMs) * 1000) / 1000 })),
    slowest: [...best.nodes].sort((a, b) => b.dur - a.dur).slice(0, 12).map((e) => ({ op: e.args.op_name, ms: Math.round(e.dur / 10) / 100, inputs: shape(e) })),
  };
}

async function main() {
  const result = { task: args.task, engine: 'ours', backend: args.backend, batch: B };
  const batch = syntheticBatch();

  await load('engine/tf-env.js');
  const tf = await import('@tensorflow/tfjs-core');
  await load('engine/gradients.js');
  // tfjs holds the weights in this thread (wasm) and computes on the tfjs backends.
  const tfjsBackend = onnxBackend ? 'wasm' : args.backend;
  if (tfjsBackend === 'wasm') await import('@tensorflow/tfjs-backend-wasm');
  else if (tfjsBackend === 'cpu') await import('@tensorflow/tfjs-backend-cpu');
  else if (tfjsBackend === 'tensorflow') await import('@tensorflow/tfjs-node');
  const kernels = await load('engine/kernels/wasm-kernels.js');
  if (args.kernels === 'off') tf.env().set(kernels.KERNELS_FLAG, false);
  if (!(await tf.setBackend(tfjsBackend))) throw new Error(`backend ${tfjsBackend} did not initialize`);
  await tf.ready();

  const { createViT, forward } = await load('engine/model/vit.js');
  const { createAuxNet } = await load('engine/sws/auxnet.js');
  const { Trainer } = await load('engine/train/loop.js');
  const { TfjsStepExecutor } = await load('engine/train/executor.js');
  const { NetworkTeacher } = await load('engine/train/model-teacher.js');
  const { OnnxStepExecutor, OnnxInference } = await load('engine/onnx/executor.js');
  const ortRuntime = await load('node/train/onnx-runtime.js');
  const profileDir = args.profile ? mkdtempSync(path.join(os.tmpdir(), 'lg-profile-')) : null;
  let runtime = null;
  if (onnxBackend) {
    ortRuntime.setActiveOnnxBackend(args.backend); // teachers on the same execution provider
    runtime = await ortRuntime.createOrtRuntime(args.backend, {
      ...(args.threads ? { threads: Number(args.threads) } : {}),
      contribOps: args.contrib === 'on',
      ...(profileDir ? { profilePrefix: path.join(profileDir, 'step') } : {}),
    });
    result.strategy = `${runtime.description}${args.contrib === 'on' ? '' : ' · standard ops only'}`;
  } else {
    result.kernels = kernels.wasmKernelsActive();
    result.strategy = `tfjs ${tfjsBackend} · one thread${tfjsBackend === 'wasm' ? (result.kernels ? ' · Learngene SIMD kernels' : ' · XNNPACK only') : ''}`;
  }

  if (args.task === 'infer-onnx') {
    const ort = await import('onnxruntime-node');
    const network = createViT(VIT, 1);
    const session = await ort.InferenceSession.create(await onnxBytesOf(network), { graphOptimizationLevel: 'all' });
    const feeds = { pixel_values: new ort.Tensor('float32', batch.images, [B, 3, 32, 32]) };
    result.engine = 'onnxruntime-node';
    result.strategy = 'onnxruntime-node on our ONNX export (default session options)';
    result.stepMs = await timeSteps(async () => {
      const out = await session.run(feeds);
      out.logits.dispose?.();
    });
  } else if (args.task === 'infer') {
    const network = createViT(VIT, 1);
    const inference = runtime ? new OnnxInference(runtime) : null;
    result.stepMs = await timeSteps(async () => {
      if (inference) {
        await inference.logits(network, batch);
      } else {
        const out = tf.tidy(() => forward(network, tf.tensor4d(batch.images, [B, 3, 32, 32]), { training: false }));
        await out.data();
        out.dispose();
      }
    });
    if (inference) result.strategy += ' · evaluation graph (weights as inputs), as jobs evaluate';
    inference?.dispose();
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
        result.teacher = 'an .onnx file through OnnxTeacher (onnxruntime)';
      } else if (args.teacher === 'tfjs') {
        teacher = new NetworkTeacher(teacherNet, PREPROCESS, PREPROCESS);
        result.teacher = 'our ViT in tfjs';
      } else {
        // what the distill job does: our ViT exported in memory and run by onnxruntime
        const { fastTeacher } = await load('node/train/onnx-network-teacher.js');
        teacher = await fastTeacher(new NetworkTeacher(teacherNet, PREPROCESS, PREPROCESS));
        result.teacher = teacher instanceof NetworkTeacher ? 'our ViT in tfjs (onnxruntime unavailable)' : 'our ViT in onnxruntime (in-memory ONNX export)';
      }
    } else {
      network = createViT(VIT, 1);
    }
    const task = { network, optim: OPTIM, distill: { alpha: 1, tau: 1 }, distilling: teacher !== null };
    const executor = runtime ? new OnnxStepExecutor(task, runtime) : new TfjsStepExecutor(task);
    const trainer = new Trainer({ phase: 'bench', network, train: null, val: null, optim: OPTIM, seed: 1, teacher, distill: { alpha: 1, tau: 1 }, executor });
    result.stepMs = await timeSteps(async () => {
      const losses = await trainer.trainStep(batch, 1e-3);
      if (!Number.isFinite(losses.total)) throw new Error(`non-finite loss ${losses.total}`);
    });
    trainer.dispose();
    executor.dispose();
    cleanup();
  }
  result.medianMs = median(result.stepMs);
  result.imagesPerSec = (B / result.medianMs) * 1000;
  result.peakRssMb = process.resourceUsage().maxRSS / 1024;
  result.stepMs = result.stepMs.map((t) => Math.round(t * 100) / 100);
  if (profileDir) {
    // Sessions write their profile when released.
    await new Promise((resolve) => setTimeout(resolve, 500));
    result.profile = summarizeProfile(profileDir);
    rmSync(profileDir, { recursive: true, force: true });
  }
  console.log(JSON.stringify(result));
  // onnxruntime sessions may keep the loop alive
  process.exit(0);
}

main().catch((error) => {
  console.log(JSON.stringify({ task: args.task, engine: 'ours', backend: args.backend, error: error.stack ?? String(error) }));
  process.exit(1);
});
