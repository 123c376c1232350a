// The GPU path, run on this GPU-less machine through the SwiftShader Vulkan driver that
// Debian's chromium package installs (a CPU emulation: right answers, no speed):
// onnxruntime-node's WebGPU execution provider trains a tiny ViT step that equals the
// CPU EP's, and `learngene backends --json` lists onnxruntime-webgpu as usable (emulated,
// so `auto` keeps the CPU). .ci/run installs chromium and libvulkan1 for this.

import { existsSync, mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import { DEFAULT_OPTIM, defaultViTConfig } from '../../../shared/config.js';
import { createViT, type Network, VisionTransformer } from '../../../engine/model/vit.js';
import { stepDropPath } from '../../../engine/train/gradients.js';
import { OnnxStepExecutor } from '../../../engine/onnx/executor.js';
import { createOrtRuntime } from '../../../node/train/onnx-runtime.js';
import { runCli } from '../../helpers/cli.js';
import { relativeError, useBackend } from '../../helpers/fixtures.js';

const SWIFTSHADER = '/usr/lib/chromium/vk_swiftshader_icd.json';
// Dawn reads these when it creates its Vulkan instance (the first WebGPU session).
const GPU_ENV = { VK_ICD_FILENAMES: SWIFTSHADER, XDG_RUNTIME_DIR: os.tmpdir() };
Object.assign(process.env, GPU_ENV);


describe('onnxruntime WebGPU execution provider (SwiftShader)', () => {
  beforeAll(async () => {
    expect(existsSync(SWIFTSHADER), `${SWIFTSHADER} is missing: install Debian's chromium package (it ships SwiftShader's Vulkan driver)`).toBe(true);
    await useBackend('cpu');
  });

  it('trains tiny ViT steps equal to the CPU EP within 1e-4, the state kept on the device between steps', async () => {
    const config = defaultViTConfig({ imageSize: 8, channels: 3, patchSize: 4, dim: 16, depth: 2, heads: 2, mlpRatio: 2, dropPath: 0.1, numClasses: 4 });
    const base = createViT(config, 7);
    const clone = (): Network => new VisionTransformer(config, new Map([...base.params].map(([name, v]) => [name, tf.variable(v.clone(), true)])));
    const optim = { ...DEFAULT_OPTIM, lr: 2e-3, labelSmoothing: 0.1, eps: 1e-6 };
    const task = (network: Network) => ({ network, optim, distill: { alpha: 1, tau: 1 }, distilling: false });
    const gpuNet = clone();
    const cpuNet = clone();
    const gpu = new OnnxStepExecutor(task(gpuNet), await createOrtRuntime('onnxruntime-webgpu'));
    const cpu = new OnnxStepExecutor(task(cpuNet), await createOrtRuntime('onnxruntime', { threads: 1 }));
    const batch = {
      images: new Float32Array(4 * 3 * 8 * 8).map((_, i) => Math.sin(i * 0.7)),
      labels: Int32Array.from([0, 1, 2, 3]),
      size: 4,
    };
    // Two steps: the second reads the weights and moments the first left on the device.
    for (let step = 0; step < 2; step++) {
      const dropPath = stepDropPath(base, 5, step, 4);
      const a = await gpu.step({ batch, lr: optim.lr, dropPath, teacher: null });
      const b = await cpu.step({ batch, lr: optim.lr, dropPath, teacher: null });
      console.log(`loss at step ${step + 1}: WebGPU ${a.total} · CPU ${b.total}`);
      expect(Math.abs(a.total! - b.total!) / b.total!).toBeLessThan(1e-4);
    }
    // Evaluation runs on the weights where they are.
    expect(relativeError((await gpu.logits(gpuNet, batch))!, (await cpu.logits(cpuNet, batch))!)).toBeLessThan(1e-4);
    await gpu.syncWeights();
    await cpu.syncWeights();
    for (const [name, v] of cpuNet.params) {
      if (name.endsWith('attn.k.bias')) continue; // zero gradient: rounding noise (see onnx-step.test.ts)
      expect(relativeError(gpuNet.params.get(name)!.dataSync(), v.dataSync()), name).toBeLessThan(1e-4);
    }
    const moments = await cpu.optimizerState();
    for (const [name, t] of await gpu.optimizerState()) {
      if (name.endsWith('attn.k.bias')) continue;
      expect(relativeError(t.data, moments.get(name)!.data), name).toBeLessThan(1e-4);
    }
    gpu.dispose();
    cpu.dispose();
  });

  it('learngene backends --json lists onnxruntime-webgpu as usable, and auto keeps the CPU EP', async () => {
    const cache = mkdtempSync(path.join(os.tmpdir(), 'lg-probe-'));
    const run = await runCli(['backends', '--json'], { env: { ...GPU_ENV, XDG_CACHE_HOME: cache } });
    expect(run.code, run.stderr).toBe(0);
    const webgpu = run.json.backends.find((b: { name: string }) => b.name === 'onnxruntime-webgpu');
    expect(webgpu).toMatchObject({ usable: true, gpu: true, emulated: true, engine: 'onnxruntime' });
    expect(webgpu.detail).toMatch(/SwiftShader/);
    expect(run.json.default).toBe('onnxruntime');
    // Without a Vulkan driver there is no adapter, and it says so.
    const none = await runCli(['backends', '--json'], { env: { VK_ICD_FILENAMES: path.join(cache, 'none.json'), XDG_RUNTIME_DIR: os.tmpdir(), XDG_CACHE_HOME: cache } });
    expect(none.json.backends.find((b: { name: string }) => b.name === 'onnxruntime-webgpu')).toMatchObject({ usable: false });
  });
});
