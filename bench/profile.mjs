#!/usr/bin/env node
// Where a training step's time goes on the tfjs wasm FALLBACK backend (the default,
// onnxruntime, is profiled per ONNX node by `npm run bench`), per tfjs kernel, in ONE thread:
// every registered wasm kernel is wrapped to measure its CPU time (process.cpuUsage, so
// a busy machine's descheduling is not counted), over a few steps of the benchmark ViT
// (batch 64, image 32, patch 4, dim 192, depth 6, heads 3, 100 classes) after warm-up.
//   node bench/profile.mjs [--steps 3] [--dist dist] [--markdown]
// --dist points at another build (e.g. an older commit's dist/) to profile it the same way.

import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';

const { values: args } = parseArgs({ options: { steps: { type: 'string', default: '3' }, dist: { type: 'string', default: 'dist' }, markdown: { type: 'boolean', default: false } } });
const dist = pathToFileURL(path.resolve(args.dist) + '/');
const load = (p) => import(new URL(p, dist).href);
const N = Number(args.steps);

const tf = await import('@tensorflow/tfjs-core');
await import('@tensorflow/tfjs-backend-wasm');
await load('engine/gradients.js');
const { createViT } = await load('engine/model/vit.js');
const { Trainer } = await load('engine/train/loop.js');
// The tfjs executor explicitly (builds before the ONNX engine had no executors: the Trainer was tfjs).
let executor = null;
try {
  executor = (await load('engine/train/executor.js')).TfjsStepExecutor;
} catch {
  executor = null;
}
await tf.setBackend('wasm');
await tf.ready();

const stats = new Map();
let on = false;
for (const k of tf.getKernelsForBackend('wasm')) {
  const f = k.kernelFunc;
  k.kernelFunc = (a) => {
    if (!on) return f(a);
    const t = process.cpuUsage();
    const r = f(a);
    const u = process.cpuUsage(t);
    const ms = (u.user + u.system) / 1000;
    const shapes = Object.values(a.inputs).map((x) => (x ? `[${x.shape}]` : '')).join('×');
    const flags = a.attrs?.transposeA || a.attrs?.transposeB ? ` tA${+!!a.attrs.transposeA}tB${+!!a.attrs.transposeB}` : a.attrs?.transA || a.attrs?.transB ? ` tA${+!!a.attrs.transA}tB${+!!a.attrs.transB}` : a.attrs?.perm ? ` perm ${a.attrs.perm}` : '';
    for (const key of [k.kernelName, `${k.kernelName}\t${shapes}${flags}`]) {
      const s = stats.get(key) ?? { n: 0, ms: 0 };
      s.n++;
      s.ms += ms;
      stats.set(key, s);
    }
    return r;
  };
}

const config = { imageSize: 32, channels: 3, patchSize: 4, dim: 192, depth: 6, heads: 3, mlpRatio: 4, qkvBias: true, pooling: 'avg', layerNormEps: 1e-6, gelu: 'exact', dropPath: 0, numClasses: 100 };
const B = 64;
const net = createViT(config, 1);
const batch = { images: new Float32Array(B * 3 * 32 * 32).map((_, i) => Math.sin(i)), labels: new Int32Array(B).map((_, i) => i % 100), size: B };
const optim = { epochs: 1, batchSize: B, lr: 1e-3, minLr: 1e-5, weightDecay: 0.05, warmupEpochs: 0, beta1: 0.9, beta2: 0.999, eps: 1e-8, clipGradNorm: 1, labelSmoothing: 0 };
const trainer = new Trainer({ phase: 'profile', network: net, train: null, val: null, optim, seed: 1, ...(executor ? { executor: new executor({ network: net, optim, distill: { alpha: 1, tau: 1 }, distilling: false }) } : {}) });
await trainer.trainStep(batch, 1e-3);
await trainer.trainStep(batch, 1e-3);
on = true;
const t0 = process.cpuUsage();
const w0 = performance.now();
for (let i = 0; i < N; i++) await trainer.trainStep(batch, 1e-3);
const cpu = process.cpuUsage(t0);
const wall = (performance.now() - w0) / N;
on = false;
const stepCpu = (cpu.user + cpu.system) / 1000 / N;
let inKernels = 0;
for (const [k, s] of stats) if (!k.includes('\t')) inKernels += s.ms / N;

const top = [...stats].filter(([k]) => !k.includes('\t')).sort((a, b) => b[1].ms - a[1].ms);
if (args.markdown) {
  console.log(`Step: ${stepCpu.toFixed(0)} ms CPU (${wall.toFixed(0)} ms wall), ${inKernels.toFixed(0)} ms in kernels, ${(stepCpu - inKernels).toFixed(0)} ms outside (JS, autodiff bookkeeping).`);
  console.log('');
  console.log('| kernel | ms / step | share | calls | biggest shapes |');
  console.log('|---|---:|---:|---:|---|');
  for (const [k, s] of top.filter(([, s]) => s.ms / N >= 0.5)) {
    const sub = [...stats].filter(([kk]) => kk.startsWith(k + '\t')).sort((a, b) => b[1].ms - a[1].ms).slice(0, 2);
    const shapes = sub.map(([kk, ss]) => `${kk.split('\t')[1]} ×${ss.n / N} (${(ss.ms / N).toFixed(0)} ms)`).join('; ');
    console.log(`| ${k} | ${(s.ms / N).toFixed(1)} | ${((100 * s.ms) / N / stepCpu).toFixed(1)}% | ${s.n / N} | ${shapes} |`);
  }
} else {
  console.log(`step ${stepCpu.toFixed(0)} ms CPU (${wall.toFixed(0)} ms wall); in kernels ${inKernels.toFixed(0)} ms`);
  for (const [k, s] of top.slice(0, 25)) {
    console.log(`${k.padEnd(20)} ${(s.ms / N).toFixed(1).padStart(8)} ms ${(s.n / N).toFixed(0).padStart(5)} calls ${((100 * s.ms) / N / stepCpu).toFixed(1).padStart(5)}%`);
    const sub = [...stats].filter(([kk]) => kk.startsWith(k + '\t')).sort((a, b) => b[1].ms - a[1].ms).slice(0, 4);
    for (const [kk, ss] of sub) console.log(`    ${kk.split('\t')[1].padEnd(56)} ${(ss.ms / N).toFixed(1).padStart(8)} ms ${(ss.n / N).toFixed(0).padStart(5)}`);
  }
}
