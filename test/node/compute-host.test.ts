// The WebGPU compute host (compute/page.ts in headless Chromium via node/compute/
// chromium.ts) on SwiftShader's WebGPU adapter: a training step's loss and gradients on
// webgpu match the wasm backend here; whole training steps in the page follow the Trainer
// on wasm. Skipped, with the reason printed, only when /usr/bin/chromium is missing.

import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import '../../engine/gradients.js';
import type { OptimConfig, ViTConfig } from '../../shared/config.js';
import { DEFAULT_OPTIM } from '../../shared/config.js';
import { createViT, disposeParams, tensorsFromParams } from '../../engine/model/vit.js';
import { networkSpec } from '../../engine/model/spec.js';
import { LocalGradients, stepDropPath, type StepRequest } from '../../engine/train/gradients.js';
import { scheduleFor, Trainer } from '../../engine/train/loop.js';
import { learningRateAt } from '../../engine/train/schedule.js';
import type { Batch } from '../../engine/data/types.js';
import type { WireTensors } from '../../engine/compute/service.js';
import { DEFAULT_CHROMIUM, launchChromiumHost } from '../../node/compute/chromium.js';
import { ComputeHostGradients } from '../../node/compute/gradients.js';
import { describeAdapter, type ComputeHost } from '../../node/compute/host.js';
import { REPO_ROOT, useBackend } from '../helpers/fixtures.js';

const chromium = process.env.LEARNGENE_CHROMIUM ?? DEFAULT_CHROMIUM;
const haveChromium = existsSync(chromium);
if (!haveChromium) console.log(`compute-host tests skipped: no Chromium at ${chromium} (set LEARNGENE_CHROMIUM)`);

const PAGE = path.join(REPO_ROOT, 'dist/compute-host/compute.js');

/** Newest modification time under the folders the page is built from. */
function newestSource(): number {
  let newest = 0;
  const walk = (dir: string) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const p = path.join(dir, entry.name);
      if (entry.isDirectory()) walk(p);
      else if (/\.(ts|html)$/.test(entry.name)) newest = Math.max(newest, statSync(p).mtimeMs);
    }
  };
  for (const dir of ['compute', 'engine', 'shared']) walk(path.join(REPO_ROOT, dir));
  return newest;
}

const config: ViTConfig = { imageSize: 16, channels: 3, patchSize: 4, dim: 32, depth: 2, heads: 2, mlpRatio: 2, qkvBias: true, pooling: 'avg', layerNormEps: 1e-6, gelu: 'exact', dropPath: 0.1, numClasses: 5 };

function batch(size: number, seed: number): Batch {
  return {
    images: new Float32Array(size * 3 * 16 * 16).map((_, i) => Math.sin(i * 0.41 + seed)),
    labels: new Int32Array(size).map((_, i) => (i + seed) % 5),
    size,
  };
}

describe.skipIf(!haveChromium)('WebGPU compute host (SwiftShader)', () => {
  let host: ComputeHost;

  beforeAll(async () => {
    if (!existsSync(PAGE) || statSync(PAGE).mtimeMs < newestSource()) {
      execFileSync(process.execPath, [path.join(REPO_ROOT, 'node_modules/vite/bin/vite.js'), 'build', '--config', 'compute/vite.config.ts'], { cwd: REPO_ROOT, stdio: 'pipe' });
    }
    await useBackend('wasm');
    host = await launchChromiumHost({ swiftshader: true });
  }, 180_000);

  afterAll(async () => {
    await host?.close();
  });

  it('runs tfjs on a WebGPU adapter and calls SwiftShader what it is', () => {
    expect(host.info.backend).toBe('webgpu');
    expect(host.info.adapter?.fallback || /swiftshader/i.test(host.info.adapter?.architecture ?? '')).toBe(true);
    expect(describeAdapter(host.info, null)).toEqual({ usable: false, fallback: true, detail: expect.stringContaining('SwiftShader only') });
    expect(describeAdapter({ backend: 'webgpu', adapter: { vendor: 'nvidia', architecture: 'ampere', description: '', fallback: false } }, null).usable).toBe(true);
  });

  it("a training step's loss and gradients on webgpu match wasm", async () => {
    const net = createViT(config, 3);
    const b = batch(4, 1);
    const request: StepRequest = {
      network: net,
      trainable: new Map(net.params),
      batch: b,
      dropPath: stepDropPath(net, 1, 0, b.size),
      teacher: null,
      labelSmoothing: 0.1,
      distill: { alpha: 1, tau: 1 },
    };
    const wasm = await new LocalGradients().compute(request);
    const gpu = new ComputeHostGradients(host, net);
    const remote = await gpu.compute(request);
    console.log(`loss wasm ${wasm.losses.total} webgpu ${remote.losses.total}`);
    expect(Math.abs(remote.losses.total! - wasm.losses.total!)).toBeLessThan(1e-3);
    for (const [name, g] of wasm.grads) {
      const a = g.dataSync();
      const r = remote.grads.get(name)!.dataSync();
      let scale = 1e-3;
      let diff = 0;
      for (let i = 0; i < a.length; i++) {
        scale = Math.max(scale, Math.abs(a[i]!));
        diff = Math.max(diff, Math.abs(a[i]! - r[i]!));
      }
      expect(diff / scale, name).toBeLessThan(1e-2);
    }
    tf.dispose([...wasm.grads.values(), ...remote.grads.values()]);
    gpu.dispose();
    disposeParams(net.params);
  });

  it('trains through the Trainer with steps on webgpu, and whole steps in the page, like wasm', async () => {
    const optim: OptimConfig = { ...DEFAULT_OPTIM, epochs: 1, batchSize: 4, lr: 3e-3, warmupEpochs: 0 };
    const source = { stepsPerEpoch: 3, batchSize: 4, batch: async (_e: number, step: number) => batch(4, step + 5) };
    const run = async (mode: 'wasm' | 'webgpu') => {
      const net = createViT(config, 8);
      const gradients = mode === 'webgpu' ? new ComputeHostGradients(host, net) : new LocalGradients();
      const trainer = new Trainer({ phase: mode, network: net, train: source, val: null, optim, seed: 2, gradients });
      const losses: number[] = [];
      trainer.task.hooks = { emit: (e) => void (e.type === 'step' && losses.push(e.losses.total!)) };
      await trainer.run();
      trainer.dispose();
      gradients.dispose();
      disposeParams(net.params);
      return losses;
    };
    const onWasm = await run('wasm');
    const onGpu = await run('webgpu');
    console.log(`Trainer losses wasm ${onWasm.join(', ')} | webgpu ${onGpu.join(', ')}`);
    onGpu.forEach((l, i) => expect(Math.abs(l - onWasm[i]!)).toBeLessThan(1e-3));

    // Whole steps inside the page (AdamW there too).
    const net = createViT(config, 8);
    const weights: WireTensors = {};
    for (const [name, t] of tensorsFromParams(net.params)) weights[name] = t;
    await host.call('open', { session: 'whole', spec: networkSpec(net), weights });
    const steps = [];
    for (let step = 0; step < 3; step++) {
      const b = await source.batch(0, step);
      steps.push({ ...b, lr: learningRateAt(scheduleFor(optim, source.stepsPerEpoch), step), globalStep: step });
    }
    const { losses } = await host.call<{ losses: Record<string, number>[] }>('train', { session: 'whole', optim, seed: 2, steps });
    console.log(`whole steps in the page: ${losses.map((l) => l.total).join(', ')}`);
    losses.forEach((l, i) => expect(Math.abs(l.total! - onWasm[i]!)).toBeLessThan(1e-3));
    await host.call('close', { session: 'whole' });
    disposeParams(net.params);
  });
});
