#!/usr/bin/env node
// `npm run bench:kernels`: the wasm kernel table of DEVELOPERS.md — tfjs-backend-wasm
// ops against our SIMD kernels (engine/kernels) on the shapes of the benchmark ViT
// (batch 64 × 64 tokens = 4096 rows, dim 192, MLP 768, 3 heads of 64). One thread.
// Best of N runs per line, in CPU time of this thread (process.cpuUsage: on a busy
// machine, time spent descheduled is not the kernel's).

import { parseArgs } from 'node:util';

const { values: args } = parseArgs({ options: { reps: { type: 'string', default: '7' }, json: { type: 'boolean', default: false } } });
const reps = Number(args.reps);
const dist = new URL('../dist/', import.meta.url);
const load = (p) => import(new URL(p, dist).href);

await load('engine/tf-env.js');
const tf = await import('@tensorflow/tfjs-core');
await import('@tensorflow/tfjs-backend-wasm');
await load('engine/gradients.js');
await tf.setBackend('wasm');
await tf.ready();
const { KERNELS_FLAG } = await load('engine/kernels/wasm-kernels.js');
const fast = await load('engine/ops/fast.js');

function time(fn) {
  let best = Infinity;
  for (let i = 0; i < reps; i++) {
    const t = process.cpuUsage();
    const out = fn();
    const list = Array.isArray(out) ? out : [out];
    list.forEach((o) => o.dataSync());
    const used = process.cpuUsage(t);
    best = Math.min(best, (used.user + used.system) / 1000);
    tf.dispose(list);
  }
  return best;
}
const withKernels = (on, fn) => () => {
  tf.env().set(KERNELS_FLAG, on);
  try {
    return fn();
  } finally {
    tf.env().set(KERNELS_FLAG, true);
  }
};

const rows = [];
function line(what, shape, flops, plain, ours, note = '') {
  const p = plain === null ? null : time(plain);
  const o = ours === null ? null : time(ours);
  const g = (ms) => (flops && ms ? `${((flops / ms) * 1e-6).toFixed(1)}` : '');
  rows.push({ what, shape, tfjsMs: p, oursMs: o, tfjsGflops: g(p), oursGflops: g(o), note });
}

const r = (shape, seed) => tf.randomNormal(shape, 0, 1, 'float32', seed);
const x = r([4096, 192], 1);
const w = r([192, 768], 2);
const h = r([4096, 768], 3);
const w2 = r([768, 192], 4);
const big = r([4096, 576], 5);
const e = r([2359296], 6);
const b = r([768], 7);

line('matMul x·W', '[4096,192]·[192,768]', 2 * 4096 * 192 * 768, () => tf.matMul(x, w), () => fast.gemm(x, w));
line('matMul, bias fused', '[4096,192]·[192,768] + b', 2 * 4096 * 192 * 768, () => tf.add(tf.matMul(x, w), b), () => fast.gemm(x, w, false, false, b));
line('dX = dY·Wᵀ (transposeB)', '[4096,768]·[192,768]ᵀ', 2 * 4096 * 192 * 768, () => tf.matMul(h, w, false, true), () => fast.gemm(h, w, false, true));
line('dW = Xᵀ·dY (transposeA)', '[4096,192]ᵀ·[4096,768]', 2 * 4096 * 192 * 768, () => tf.matMul(x, h, true, false), () => fast.gemm(x, h, true, false));
line('dW via explicit transpose + plain matMul', '[4096,192]ᵀ·[4096,768]', 2 * 4096 * 192 * 768, () => tf.matMul(tf.transpose(x), h), null, 'the old fast pattern');
line('matMul x·W (fc2)', '[4096,768]·[768,192]', 2 * 4096 * 192 * 768, () => tf.matMul(h, w2), () => fast.gemm(h, w2));
const q = r([192, 64, 64], 8);
const k = r([192, 64, 64], 9);
line('batched matMul (attention scores)', '[192,64,64]·[192,64,64]', 2 * 192 * 64 * 64 * 64, () => tf.matMul(q, k), null, 'the slow path');
const q2 = r([4096, 192], 10);
const k2 = r([4096, 192], 11);
const v2 = r([4096, 192], 12);
line('attention core forward (QKᵀ, softmax, PV; 3 heads)', 'q,k,v [4096,192]', 4 * 64 * 3 * 64 * 64 * 64, withKernels(false, () => fast.multiHeadAttention(q2, k2, v2, 64, 3)), () => fast.multiHeadAttention(q2, k2, v2, 64, 3), 'tfjs: transposes + batched matmuls + softmax');
const probe = r([4096, 192], 13);
const attnGrad = (on) => withKernels(on, () => tf.grads((a, bb, c) => tf.sum(tf.mul(fast.multiHeadAttention(a, bb, c, 64, 3), probe)))([q2, k2, v2]));
line('attention core forward + backward', 'q,k,v [4096,192]', 3 * 4 * 64 * 3 * 64 * 64 * 64, attnGrad(false), attnGrad(true));
const g = r([192], 14);
const be = r([192], 15);
line('LayerNorm forward', '[4096,192]', null, withKernels(false, () => fast.layerNorm(x, g, be, 1e-6)), () => fast.layerNorm(x, g, be, 1e-6));
const lnGrad = (on) => withKernels(on, () => tf.grads((a, gg, bb) => tf.sum(tf.mul(fast.layerNorm(a, gg, bb, 1e-6), probe)))([x, g, be]));
line('LayerNorm forward + backward', '[4096,192]', null, lnGrad(false), lnGrad(true));
line('GELU (exact) forward', '[4096,768]', null, () => tf.mul(tf.mul(h, 0.5), tf.add(1, tf.erf(tf.mul(h, Math.SQRT1_2)))), () => fast.geluExact(h), 'tfjs: Erf kernel');
line('GELU (exact) forward, rational erf from fast ops', '[4096,768]', null, withKernels(false, () => fast.geluExact(h)), null, 'the old fast pattern');
const hp = r([4096, 768], 16);
const geluGrad = (on) => withKernels(on, () => tf.grads((a) => tf.sum(tf.mul(fast.geluExact(a), hp)))([h]));
line('GELU forward + backward', '[4096,768]', null, geluGrad(false), geluGrad(true));
line('sum over rows (bias gradient)', '[4096,768] → [768]', null, () => tf.sum(h, 0), () => fast.sumRows(h));
line('sum over rows as a ones-matmul', '[4096,768] → [768]', null, withKernels(false, () => fast.sumRows(h)), null, 'the old fast pattern');
line('2-D transpose', '[4096,576]', null, () => tf.transpose(big), null);
line('rank-4 transpose', '[64,64,3,64] perm 0,2,1,3', null, () => tf.transpose(tf.reshape(x, [64, 64, 3, 64]), [0, 2, 1, 3]), null);
for (const [name, f] of [['add', (t) => tf.add(t, t)], ['mul', (t) => tf.mul(t, t)], ['square', (t) => tf.square(t)], ['sigmoid', (t) => tf.sigmoid(t)], ['sqrt', (t) => tf.sqrt(tf.abs(t))], ['exp', (t) => tf.exp(t)], ['tanh', (t) => tf.tanh(t)], ['erf', (t) => tf.erf(t)], ['greater', (t) => tf.greater(t, 0)], ['maximum', (t) => tf.maximum(t, 0)]]) {
  line(`elementwise ${name}`, '[2359296]', null, () => f(e), null);
}

const fmt = (v) => (v === null ? '—' : v.toFixed(2));
if (args.json) console.log(JSON.stringify(rows, null, 2));
else {
  console.log('| operation | shape | tfjs wasm ms (CPU) | GFLOP/s | Learngene kernel ms (CPU) | GFLOP/s | note |');
  console.log('|---|---|---:|---:|---:|---:|---|');
  for (const row of rows) console.log(`| ${row.what} | ${row.shape} | ${fmt(row.tfjsMs)} | ${row.tfjsGflops} | ${fmt(row.oursMs)} | ${row.oursGflops} | ${row.note} |`);
}
