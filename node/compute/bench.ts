// `npm run bench` on the webgpu backend: the benchmark's steps run whole inside the
// compute page (weights and AdamW there, as engine/compute/service.ts 'train'), so the
// figure is the engine on WebGPU, not the transport. Without a real adapter it runs on
// SwiftShader and says so (CPU emulation: a correctness path, not a speed one).

import type { OptimConfig, ViTConfig } from '../../shared/config.js';
import type { Preprocess } from '../../engine/data/types.js';
import type { WireTensors } from '../../engine/compute/service.js';
import { networkSpec } from '../../engine/model/spec.js';
import { createViT, disposeParams, tensorsFromParams } from '../../engine/model/vit.js';
import { createAuxNet } from '../../engine/sws/auxnet.js';
import { pixelFormatOf } from '../../engine/data/convert.js';
import { launchChromiumHost } from './chromium.js';
import { describeAdapter } from './host.js';
import type { Network } from '../../engine/model/vit.js';

export interface ComputeBenchOptions {
  task: 'train' | 'infer' | 'distill';
  steps: number;
  warmup: number;
  batch: { images: Float32Array; labels: Int32Array; size: number };
  vit: ViTConfig;
  optim: OptimConfig;
  preprocess: Preprocess;
}

function wire(network: Network): WireTensors {
  const out: WireTensors = {};
  for (const [name, t] of tensorsFromParams(network.params)) out[name] = t;
  return out;
}

export async function runComputeBench(options: ComputeBenchOptions): Promise<{ stepMs: number[]; detail: string; adapter: string }> {
  // A real adapter when there is one, else SwiftShader.
  let host;
  let emulated = false;
  try {
    host = await launchChromiumHost();
    if (!describeAdapter(host.info, null).usable) {
      await host.close();
      host = null;
    }
  } catch {
    host = null;
  }
  if (!host) {
    host = await launchChromiumHost({ swiftshader: true });
    emulated = true;
  }
  try {
    const a = host.info.adapter;
    const adapter = a ? [a.vendor, a.architecture, a.description].filter(Boolean).join(' ') : 'none';
    const { task, batch } = options;
    const network = task === 'distill' ? createAuxNet({ kind: 'sws', vit: { ...options.vit, depth: 16 }, stages: [3, 3, 4, 3, 3] }, 1) : createViT(options.vit, 1);
    const teacherNet = task === 'distill' ? createViT({ ...options.vit, depth: 12 }, 2) : null;
    const format = pixelFormatOf(options.preprocess);
    await host.call('open', {
      session: 'bench',
      spec: networkSpec(network),
      weights: wire(network),
      teacher: teacherNet ? { spec: networkSpec(teacherNet), weights: wire(teacherNet), from: format, to: format } : null,
    });
    // Batches go to the page once per step either way; the step's own time is what we time.
    const stepMs: number[] = [];
    for (let i = 0; i < options.warmup + options.steps; i++) {
      const t = performance.now();
      if (task === 'infer') await host.call('logits', { session: 'bench', images: batch.images, size: batch.size });
      else await host.call('train', { session: 'bench', optim: options.optim, seed: 1, distill: { alpha: 1, tau: 1 }, steps: [{ ...batch, lr: 1e-3, globalStep: i }] });
      if (i >= options.warmup) stepMs.push(performance.now() - t);
    }
    disposeParams(network.params);
    if (teacherNet) disposeParams(teacherNet.params);
    return { stepMs, adapter, detail: emulated ? 'WebGPU on SwiftShader (CPU emulation, correctness only)' : `WebGPU on ${adapter}` };
  } finally {
    await host.close();
  }
}
