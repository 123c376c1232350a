#!/usr/bin/env node
// `npm run bench`: our engine against a PyTorch reference written to the same spec, in
// ONE run on this machine, alternating (ours, torch, ours, torch, …) so both see the same
// machine state. Configs (as issue 7): ViT image 32, patch 4, dim 192, depth 6, heads 3,
// 100 classes, batch 64, AdamW (+ clip 1.0), CE; and one SWS distillation step (Aux-Net
// 16 layers in stages 3,3,4,3,3, dim 192, teacher ViT depth 12 dim 192, soft KD).
// Every figure is the median of the timed steps (≥ 5 after warm-up per measurement, all
// rounds pooled); every measurement runs in a fresh process (peak RSS is its own).
//
//   node bench/run.mjs [--rounds 2] [--steps 5] [--warmup 2] [--quick] [--skip-extras]
//                      [--webgpu-swiftshader]   (also time WebGPU on SwiftShader, batch 8)
// Writes bench/results/<date>.json, bench/results/latest.json (with "ratios") and
// bench/results/latest.md. Needs dist/ built (npm run bench does it) and, for the
// reference, /usr/bin/python3 with torch (skipped with the reason otherwise).

import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { gitState, packageVersion, root, tryRun } from './common.mjs';

const { values: args } = parseArgs({
  options: {
    rounds: { type: 'string', default: '2' },
    steps: { type: 'string', default: '5' },
    warmup: { type: 'string', default: '2' },
    quick: { type: 'boolean', default: false },
    'skip-extras': { type: 'boolean', default: false },
    'webgpu-swiftshader': { type: 'boolean', default: false },
    python: { type: 'string', default: '/usr/bin/python3' },
  },
});
const rounds = args.quick ? 1 : Number(args.rounds);
const steps = String(args.quick ? 3 : Math.max(5, Number(args.steps)));
const warmup = String(args.quick ? 1 : Number(args.warmup));
const TASKS = ['train', 'infer', 'distill'];

function log(message) {
  process.stderr.write(`[bench] ${message}\n`);
}

function runJson(command, argv, label) {
  return new Promise((resolve) => {
    const started = Date.now();
    const child = spawn(command, argv, { cwd: root, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, PYTHONUNBUFFERED: '1' } });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    child.on('close', (code) => {
      const line = out.trim().split('\n').filter((l) => l.startsWith('{')).pop();
      let parsed = null;
      try {
        parsed = line ? JSON.parse(line) : null;
      } catch {
        parsed = null;
      }
      const seconds = ((Date.now() - started) / 1000).toFixed(0);
      if (!parsed || parsed.error || code !== 0) {
        const error = parsed?.error ?? (err.trim().split('\n').slice(-3).join(' | ') || `exit code ${code}`);
        log(`${label}: FAILED (${seconds}s): ${String(error).split('\n')[0]}`);
        resolve({ label, error: String(error) });
      } else {
        log(`${label}: ${parsed.imagesPerSec.toFixed(1)} img/s (median ${parsed.medianMs.toFixed(0)} ms, ${seconds}s)`);
        resolve({ label, ...parsed });
      }
    });
  });
}

const ours = (task, extra = [], label = `ours ${task}`) =>
  runJson(process.execPath, [path.join(root, 'bench/engine-task.mjs'), '--task', task, '--steps', steps, '--warmup', warmup, ...extra], label);
const torch = (task) => runJson(args.python, [path.join(root, 'bench/torch_reference.py'), '--task', task, '--steps', steps, '--warmup', warmup], `torch ${task}`);

function median(values) {
  const s = [...values].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length === 0 ? NaN : s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

function machine() {
  const cpus = os.cpus();
  return {
    cpu: cpus[0]?.model ?? 'unknown',
    cores: typeof os.availableParallelism === 'function' ? os.availableParallelism() : cpus.length,
    memoryGb: Math.round(os.totalmem() / 2 ** 30),
    platform: `${os.platform()} ${os.release()} ${os.arch()}`,
    node: process.version,
    tfjs: packageVersion('@tensorflow/tfjs-core'),
    tfjsWasm: packageVersion('@tensorflow/tfjs-backend-wasm'),
    onnxruntime: packageVersion('onnxruntime-node'),
    torch: tryRun(args.python, ['-c', 'import torch; print(torch.__version__)']),
    python: tryRun(args.python, ['--version']),
    blas: tryRun(args.python, ['-c', 'import torch; c=torch.__config__.show(); import re; m=re.search(r"BLAS_INFO=(\\w+)", c); print(m.group(1) if m else "?")']),
    ...gitState(),
  };
}

async function main() {
  if (!existsSync(path.join(root, 'dist/engine/model/vit.js'))) throw new Error('dist/ is not built: run "npm run bench" (it builds first) or "npx tsc -p tsconfig.json"');
  const started = new Date();
  const load0 = os.loadavg();
  if (load0[0] > 1) log(`note: load average ${load0.map((l) => l.toFixed(2)).join(' ')} on ${os.availableParallelism?.() ?? os.cpus().length} cores — other work will skew both engines`);
  const torchOk = tryRun(args.python, ['-c', 'import torch']) !== null;
  const torchSkip = torchOk ? null : `${args.python} has no torch (Debian: apt install python3-torch libopenblas0-openmp)`;
  if (torchSkip) log(`PyTorch reference skipped: ${torchSkip}`);

  const runs = [];
  // 1. Alternated: our default backend and PyTorch, task by task, round by round.
  for (let r = 1; r <= rounds; r++) {
    for (const task of TASKS) {
      runs.push({ round: r, group: 'ours-default', ...(await ours(task)) });
      if (!torchSkip) runs.push({ round: r, group: 'torch', ...(await torch(task)) });
    }
  }
  // 2. The other paths, once each.
  const extras = [];
  if (!args['skip-extras']) {
    extras.push({ group: 'onnxruntime', ...(await ours('infer-onnx', [], 'onnxruntime-node infer (our ONNX export)')) });
    extras.push({ group: 'ours-tfjs-teacher', ...(await ours('distill', ['--teacher', 'tfjs'], 'ours distill, teacher in tfjs replicated in the workers')) });
    extras.push({ group: 'ours-onnx-teacher', ...(await ours('distill', ['--teacher', 'onnx'], 'ours distill, .onnx teacher file in onnxruntime')) });
    extras.push({ group: 'wasm-workers-tfjs', ...(await ours('infer', ['--infer-path', 'tfjs'], 'ours infer, tfjs split over the wasm workers')) });
    for (const task of TASKS) extras.push({ group: 'wasm-1-thread', ...(await ours(task, ['--workers', '1'], `ours ${task}, wasm 1 thread`)) });
    for (const task of ['train', 'infer']) extras.push({ group: 'wasm-xnnpack-only', ...(await ours(task, ['--workers', '1', '--kernels', 'off', '--steps', '3', '--warmup', '1'], `ours ${task}, wasm 1 thread, XNNPACK only (before)`)) });
    for (const task of ['train', 'infer']) extras.push({ group: 'cpu', ...(await ours(task, ['--backend', 'cpu', '--steps', '2', '--warmup', '0'], `ours ${task}, cpu backend (2 steps)`)) });
  }
  // tensorflow (tfjs-node) when installed; webgpu when a real adapter exists.
  let tensorflowNote = null;
  try {
    await import('@tensorflow/tfjs-node');
    for (const task of TASKS) extras.push({ group: 'tensorflow', ...(await ours(task, ['--backend', 'tensorflow', '--workers', '1'], `ours ${task}, tensorflow`)) });
  } catch (error) {
    tensorflowNote = `not benchmarked: @tensorflow/tfjs-node does not load here (${String(error.message ?? error).split('\n')[0].slice(0, 120)})`;
    log(`tensorflow: ${tensorflowNote}`);
  }
  let webgpuNote = null;
  try {
    const { probeWebGpu } = await import(new URL('../dist/node/compute/chromium.js', import.meta.url).href);
    const probe = await probeWebGpu();
    if (probe.usable) {
      for (const task of TASKS) extras.push({ group: 'webgpu', ...(await ours(task, ['--backend', 'webgpu'], `ours ${task}, webgpu`)) });
    } else {
      webgpuNote = `not benchmarked: ${probe.detail}`;
      log(`webgpu: ${webgpuNote}`);
      if (args['webgpu-swiftshader']) {
        extras.push({ group: 'webgpu-swiftshader', ...(await ours('infer', ['--backend', 'webgpu', '--batch', '8', '--steps', '1', '--warmup', '1'], 'ours infer, webgpu on SwiftShader, batch 8')) });
      }
    }
  } catch (error) {
    webgpuNote = `not benchmarked: ${String(error.message ?? error).split('\n')[0]}`;
  }
  const load1 = os.loadavg();

  // Pool step times per (group, task).
  const all = [...runs, ...extras].filter((r) => !r.error);
  const row = (group, task) => {
    const rs = all.filter((r) => r.group === group && r.task === task);
    if (rs.length === 0) return null;
    const stepMs = rs.flatMap((r) => r.stepMs);
    const m = median(stepMs);
    const batch = rs[0].batch;
    return {
      group,
      task,
      engine: rs[0].engine,
      backend: rs[0].engine === 'pytorch' ? `torch ${rs[0].torch}, ${rs[0].threads} threads` : rs[0].backend,
      strategy: rs[0].strategy ?? rs[0].detail ?? null,
      teacher: rs[0].teacher ?? null,
      batch,
      steps: stepMs.length,
      measurements: rs.length,
      medianMs: Math.round(m * 10) / 10,
      imagesPerSec: Math.round((batch / m) * 1000 * 10) / 10,
      peakRssMb: Math.round(Math.max(...rs.map((r) => r.peakRssMb))),
    };
  };
  const groups = ['ours-default', 'torch', 'onnxruntime', 'wasm-workers-tfjs', 'ours-tfjs-teacher', 'ours-onnx-teacher', 'wasm-1-thread', 'wasm-xnnpack-only', 'cpu', 'tensorflow', 'webgpu', 'webgpu-swiftshader'];
  const table = [];
  for (const group of groups) for (const task of [...TASKS, 'infer-onnx']) {
    const r = row(group, task);
    if (r) table.push(r);
  }
  const get = (group, task) => table.find((r) => r.group === group && r.task === task) ?? null;
  const ratio = (a, b) => (a && b ? Math.round((a.imagesPerSec / b.imagesPerSec) * 1000) / 1000 : null);
  const t = (task) => get('torch', task);
  const oursInfer = get('ours-default', 'infer');
  const ortInfer = get('onnxruntime', 'infer-onnx');
  const tfjsInfer = get('wasm-workers-tfjs', 'infer');
  const distillBest = [get('ours-default', 'distill'), get('ours-tfjs-teacher', 'distill'), get('ours-onnx-teacher', 'distill')].filter(Boolean).sort((a, b) => b.imagesPerSec - a.imagesPerSec)[0] ?? null;
  const ratios = {
    train: ratio(get('ours-default', 'train'), t('train')),
    infer: ratio(oursInfer, t('infer')),
    distill: ratio(get('ours-default', 'distill'), t('distill')),
    inferPath: oursInfer?.strategy ?? null,
    inferOnnxruntimeDirect: ratio(ortInfer, t('infer')),
    inferTfjs: ratio(tfjsInfer, t('infer')),
    distillBestTeacherPath: ratio(distillBest, t('distill')),
    distillBestTeacher: distillBest?.teacher ?? null,
    trainSingleThread: ratio(get('wasm-1-thread', 'train'), t('train')),
    trainBefore: ratio(get('wasm-xnnpack-only', 'train'), t('train')),
  };

  const result = {
    date: started.toISOString(),
    durationSeconds: Math.round((Date.now() - started.getTime()) / 1000),
    machine: machine(),
    loadAverage: { start: load0.map((l) => Math.round(l * 100) / 100), end: load1.map((l) => Math.round(l * 100) / 100) },
    config: {
      vit: 'image 32, patch 4, dim 192, depth 6, heads 3, mlp 4, qkv bias, avg pooling, GELU exact, 100 classes',
      distill: 'SWS Aux-Net depth 16, stages 3,3,4,3,3, dim 192; teacher ViT depth 12 dim 192 (ours: in onnxruntime, as the distill job runs it); KD alpha 1 tau 1',
      batch: 64,
      optimizer: 'AdamW lr 1e-3 wd 0.05 (matrices), clip 1.0',
      rounds,
      stepsPerMeasurement: Number(steps),
      warmup: Number(warmup),
      default: 'wasm backend, Learngene SIMD kernels, training data-parallel over all cores; evaluation of a ViT and our ViT teachers in onnxruntime (as the Trainer and the distill job run them)',
    },
    ratios,
    notes: { pytorch: torchSkip, tensorflow: tensorflowNote, webgpu: webgpuNote, cpu: 'cpu backend: 2 steps only, no warm-up (it is ~25x slower)' },
    table,
    runs: [...runs, ...extras],
  };
  const dir = path.join(root, 'bench/results');
  mkdirSync(dir, { recursive: true });
  const stamp = started.toISOString().replace(/[:]/g, '-').replace(/\..+$/, '');
  writeFileSync(path.join(dir, `${stamp}.json`), JSON.stringify(result, null, 2) + '\n');
  writeFileSync(path.join(dir, 'latest.json'), JSON.stringify(result, null, 2) + '\n');
  writeFileSync(path.join(dir, 'latest.md'), markdown(result));
  process.stdout.write(markdown(result));
  log(`wrote bench/results/${stamp}.json, latest.json, latest.md`);
}

function markdown(r) {
  const m = r.machine;
  const fmt = (x, d = 1) => (x === null || x === undefined || Number.isNaN(x) ? '—' : x.toFixed(d));
  const torchOf = (task) => r.table.find((x) => x.group === 'torch' && x.task === task);
  const lines = [
    `# Benchmark ${r.date.slice(0, 10)}`,
    '',
    `${m.cpu}, ${m.cores} cores, ${m.memoryGb} GiB · Node ${m.node} · tfjs ${m.tfjs} (wasm ${m.tfjsWasm}) · onnxruntime-node ${m.onnxruntime} · PyTorch ${m.torch ?? '—'} (${m.blas ?? '?'}) · git ${m.git}${m.gitDirty ? ' (uncommitted changes)' : ''}`,
    `Load average ${r.loadAverage.start.join(' ')} at start, ${r.loadAverage.end.join(' ')} at end · ${r.config.rounds} alternated round(s), ${r.config.stepsPerMeasurement} timed steps after ${r.config.warmup} warm-up per measurement, medians over all timed steps · ${r.durationSeconds} s`,
    '',
    `**Ratios (ours / PyTorch, same run):** train **${fmt(r.ratios.train, 3)}×**, inference **${fmt(r.ratios.infer, 3)}×** (${r.ratios.inferPath}; onnxruntime-node called directly ${fmt(r.ratios.inferOnnxruntimeDirect, 3)}×; our tfjs engine on the workers ${fmt(r.ratios.inferTfjs, 3)}×), distillation step **${fmt(r.ratios.distill, 3)}×** (best teacher path ${fmt(r.ratios.distillBestTeacherPath, 3)}×: ${r.ratios.distillBestTeacher ?? '—'}).`,
    '',
    `ViT: ${r.config.vit}; batch ${r.config.batch}; ${r.config.optimizer}. Distillation: ${r.config.distill}. Default: ${r.config.default}.`,
    '',
    '| engine / backend | path | task | img/s | median ms | vs PyTorch | peak RSS MB | steps |',
    '|---|---|---|---:|---:|---:|---:|---:|',
  ];
  for (const x of r.table) {
    const ref = torchOf(x.task === 'infer-onnx' ? 'infer' : x.task);
    const vs = x.group === 'torch' ? '1' : ref ? fmt(x.imagesPerSec / ref.imagesPerSec, 3) : '—';
    const label = x.group === 'torch' ? `PyTorch (${x.backend})` : x.group === 'onnxruntime' ? 'onnxruntime-node' : `ours · ${x.backend}`;
    const pathText = [x.group === 'cpu' ? '**cpu backend, 2 steps (slow path)**' : null, x.strategy, x.teacher ? `teacher: ${x.teacher}` : null, x.group === 'wasm-xnnpack-only' ? 'XNNPACK only, no Learngene kernels (before)' : null].filter(Boolean).join('; ');
    lines.push(`| ${label} | ${pathText || '—'} | ${x.task} | ${fmt(x.imagesPerSec)} | ${fmt(x.medianMs, 0)} | ${vs} | ${x.peakRssMb} | ${x.steps} |`);
  }
  lines.push('');
  for (const [k, v] of Object.entries(r.notes)) if (v) lines.push(`- ${k}: ${v}`);
  const failed = r.runs.filter((x) => x.error);
  for (const f of failed) lines.push(`- FAILED ${f.label}: ${String(f.error).split('\n')[0]}`);
  lines.push('', 'Reproduce: `npm run bench` (writes bench/results/<date>.json, latest.json, latest.md).', '');
  return lines.join('\n');
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
