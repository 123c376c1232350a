#!/usr/bin/env node
// `npm run bench`: our engine against a PyTorch reference written to the same spec, in
// ONE run on this machine, alternating (ours, torch, ours, torch, …) so both see the same
// machine state. Configs: ViT image 32, patch 4, dim 192, depth 6, heads 3, 100 classes,
// batch 64, AdamW (+ clip 1.0), CE; and one SWS distillation step (Aux-Net 16 layers in
// stages 3,3,4,3,3, dim 192, teacher ViT depth 12 dim 192, soft KD).
// "Ours" is the default backend (onnxruntime: the training step as one ONNX graph on the
// CPU execution provider); the tfjs wasm fallback and other paths are timed once each,
// and one extra training step is profiled per ONNX node (onnxruntime's enableProfiling).
// Every figure is the median of the timed steps (≥ 5 after warm-up per measurement, all
// rounds pooled); every measurement runs in a fresh process (peak RSS is its own).
//
//   node bench/run.mjs [--rounds 2] [--steps 5] [--warmup 2] [--quick] [--skip-extras]
//                      [--with-cpu]             (also the tfjs cpu backend: ~2 min a step)
//                      [--webgpu-swiftshader]   (also the WebGPU EP on SwiftShader, batch 8)
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
    'with-cpu': { type: 'boolean', default: false },
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

function runJson(command, argv, label, env = {}) {
  return new Promise((resolve) => {
    const started = Date.now();
    const child = spawn(command, argv, { cwd: root, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, PYTHONUNBUFFERED: '1', ...env } });
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

const ours = (task, extra = [], label = `ours ${task}`, env = {}) =>
  runJson(process.execPath, [path.join(root, 'bench/engine-task.mjs'), '--task', task, '--steps', steps, '--warmup', warmup, ...extra], label, env);
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
    extras.push({ group: 'ours-profile', ...(await ours('train', ['--profile', '--steps', '2', '--warmup', '1'], 'ours train, profiled per ONNX node')) });
    extras.push({ group: 'ours-standard-ops', ...(await ours('train', ['--contrib', 'off'], 'ours train, standard ONNX ops only (no com.microsoft)')) });
    extras.push({ group: 'onnxruntime', ...(await ours('infer-onnx', [], 'onnxruntime-node infer (our ONNX export)')) });
    extras.push({ group: 'ours-onnx-teacher', ...(await ours('distill', ['--teacher', 'onnx'], 'ours distill, .onnx teacher file in onnxruntime')) });
    for (const task of TASKS) extras.push({ group: 'wasm', ...(await ours(task, ['--backend', 'wasm'], `ours ${task}, tfjs wasm (fallback)`)) });
    for (const task of ['train', 'infer']) extras.push({ group: 'wasm-xnnpack-only', ...(await ours(task, ['--backend', 'wasm', '--kernels', 'off', '--steps', '3', '--warmup', '1'], `ours ${task}, tfjs wasm, XNNPACK only`)) });
    if (args['with-cpu']) for (const task of ['train', 'infer']) extras.push({ group: 'cpu', ...(await ours(task, ['--backend', 'cpu', '--steps', '2', '--warmup', '0'], `ours ${task}, tfjs cpu backend (2 steps)`)) });
  }
  // tensorflow (tfjs-node) when installed; GPU execution providers when the probe finds one.
  let tensorflowNote = null;
  try {
    await import('@tensorflow/tfjs-node');
    for (const task of TASKS) extras.push({ group: 'tensorflow', ...(await ours(task, ['--backend', 'tensorflow'], `ours ${task}, tensorflow`)) });
  } catch (error) {
    tensorflowNote = `not benchmarked: @tensorflow/tfjs-node does not load here (${String(error.message ?? error).split('\n')[0].slice(0, 120)})`;
    log(`tensorflow: ${tensorflowNote}`);
  }
  const gpuNotes = {};
  const { probeOnnxBackend } = await import(new URL('../dist/node/train/onnx-probe.js', import.meta.url).href);
  for (const backend of ['onnxruntime-cuda', 'onnxruntime-webgpu']) {
    const probe = await probeOnnxBackend(backend);
    if (probe.usable && !/swiftshader/i.test(process.env.VK_ICD_FILENAMES ?? '')) {
      for (const task of TASKS) extras.push({ group: backend, ...(await ours(task, ['--backend', backend], `ours ${task}, ${backend}`)) });
    } else {
      gpuNotes[backend] = `not benchmarked: ${probe.usable ? 'SwiftShader only (a CPU emulation)' : probe.detail}`;
      log(`${backend}: ${gpuNotes[backend]}`);
    }
  }
  if (args['webgpu-swiftshader']) {
    const env = { VK_ICD_FILENAMES: '/usr/lib/chromium/vk_swiftshader_icd.json', XDG_RUNTIME_DIR: os.tmpdir() };
    for (const task of ['infer', 'train']) extras.push({ group: 'webgpu-swiftshader', ...(await ours(task, ['--backend', 'onnxruntime-webgpu', '--batch', '8', '--steps', '1', '--warmup', '1'], `ours ${task}, onnxruntime-webgpu on SwiftShader, batch 8`, env)) });
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
  const groups = ['ours-default', 'torch', 'ours-standard-ops', 'onnxruntime', 'ours-onnx-teacher', 'wasm', 'wasm-xnnpack-only', 'cpu', 'tensorflow', 'onnxruntime-cuda', 'onnxruntime-webgpu', 'webgpu-swiftshader'];
  const table = [];
  for (const group of groups) for (const task of [...TASKS, 'infer-onnx']) {
    const r = row(group, task);
    if (r) table.push(r);
  }
  const get = (group, task) => table.find((r) => r.group === group && r.task === task) ?? null;
  const ratio = (a, b) => (a && b ? Math.round((a.imagesPerSec / b.imagesPerSec) * 1000) / 1000 : null);
  const t = (task) => get('torch', task);
  const peak = (task) => {
    const a = get('ours-default', task);
    const b = t(task);
    return a && b ? Math.round((a.peakRssMb / b.peakRssMb) * 100) / 100 : null;
  };
  const ratios = {
    train: ratio(get('ours-default', 'train'), t('train')),
    infer: ratio(get('ours-default', 'infer'), t('infer')),
    distill: ratio(get('ours-default', 'distill'), t('distill')),
    trainStandardOps: ratio(get('ours-standard-ops', 'train'), t('train')),
    inferOnnxruntimeDirect: ratio(get('onnxruntime', 'infer-onnx'), t('infer')),
    distillOnnxTeacherFile: ratio(get('ours-onnx-teacher', 'distill'), t('distill')),
    trainWasm: ratio(get('wasm', 'train'), t('train')),
    inferWasm: ratio(get('wasm', 'infer'), t('infer')),
    distillWasm: ratio(get('wasm', 'distill'), t('distill')),
    trainWasmXnnpackOnly: ratio(get('wasm-xnnpack-only', 'train'), t('train')),
    /** Peak RSS of ours / PyTorch's, per task. */
    peakRssTrain: peak('train'),
    peakRssDistill: peak('distill'),
  };
  const profiled = extras.find((x) => x.group === 'ours-profile' && !x.error);

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
      default: 'onnxruntime backend: the whole training step (forward, backward, loss, clipping, AdamW) as one ONNX graph on the CPU execution provider, all cores; evaluation and our ViT teachers in onnxruntime too (as jobs run them)',
    },
    ratios,
    notes: { pytorch: torchSkip, tensorflow: tensorflowNote, ...gpuNotes, cpu: args['with-cpu'] ? 'tfjs cpu backend: 2 steps only, no warm-up (it is ~200x slower)' : null },
    profile: profiled?.profile ?? null,
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
    `**Ratios (ours / PyTorch, same run):** train **${fmt(r.ratios.train, 3)}×**, inference **${fmt(r.ratios.infer, 3)}×**, distillation step **${fmt(r.ratios.distill, 3)}×**; peak RSS ours / PyTorch ${fmt(r.ratios.peakRssTrain, 2)}× (train), ${fmt(r.ratios.peakRssDistill, 2)}× (distill). The tfjs wasm fallback: train ${fmt(r.ratios.trainWasm, 3)}×, inference ${fmt(r.ratios.inferWasm, 3)}×, distillation ${fmt(r.ratios.distillWasm, 3)}×.`,
    '',
    `ViT: ${r.config.vit}; batch ${r.config.batch}; ${r.config.optimizer}. Distillation: ${r.config.distill}. Default: ${r.config.default}.`,
    '',
    '| engine / backend | path | task | img/s | median ms | vs PyTorch | peak RSS MB | steps |',
    '|---|---|---|---:|---:|---:|---:|---:|',
  ];
  for (const x of r.table) {
    const ref = torchOf(x.task === 'infer-onnx' ? 'infer' : x.task);
    const vs = x.group === 'torch' ? '1' : ref ? fmt(x.imagesPerSec / ref.imagesPerSec, 3) : '—';
    const label = x.group === 'torch' ? `PyTorch (${x.backend})` : x.group === 'onnxruntime' ? 'onnxruntime-node' : `ours · ${x.backend}${x.group === 'ours-default' ? ' (default)' : ''}`;
    const pathText = [x.group === 'cpu' ? '**cpu backend, 2 steps (slow path)**' : null, x.strategy, x.teacher ? `teacher: ${x.teacher}` : null].filter(Boolean).join('; ');
    lines.push(`| ${label} | ${pathText || '—'} | ${x.task} | ${fmt(x.imagesPerSec)} | ${fmt(x.medianMs, 0)} | ${vs} | ${x.peakRssMb} | ${x.steps} |`);
  }
  lines.push('');
  for (const [k, v] of Object.entries(r.notes)) if (v) lines.push(`- ${k}: ${v}`);
  if (r.profile) {
    const p = r.profile;
    lines.push('', `## Where a training step's time goes (onnxruntime profile of one step: ${fmt(p.runMs, 0)} ms run, ${fmt(p.nodeMs, 0)} ms in ${p.nodes} nodes; profiling slows it slightly)`, '', '| op | ms | share | nodes |', '|---|---:|---:|---:|');
    for (const o of p.byOp.filter((x) => x.ms >= 0.5)) lines.push(`| ${o.op} | ${fmt(o.ms)} | ${fmt(o.share * 100)}% | ${o.nodes} |`);
    lines.push('', 'Slowest nodes: ' + p.slowest.slice(0, 8).map((n) => `${n.op} ${JSON.stringify(n.inputs)} ${fmt(n.ms, 2)} ms`).join('; ') + '.');
  }
  const failed = r.runs.filter((x) => x.error);
  for (const f of failed) lines.push(`- FAILED ${f.label}: ${String(f.error).split('\n')[0]}`);
  lines.push('', 'Reproduce: `npm run bench` (writes bench/results/<date>.json, latest.json, latest.md).', '');
  return lines.join('\n');
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
