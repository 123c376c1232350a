// The ONNX training graph (engine/onnx/) against the tfjs engine: one optimizer step of a
// ViT (both poolings), an SWS Aux-Net (stages 2,1), a TLEG Aux-Net, a descendant and a
// pruned ViT (fewer, narrower-than-dim heads; an odd MLP width),
// with drop-path, label smoothing 0.1, KD (τ=2, α=0.5, both reductions) and frozen
// parameters: the loss and every updated weight and AdamW moment agree within 1e-4
// relative. tfjs runs on its cpu backend (plain float32 JavaScript: the oracle).

import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import '../../../engine/gradients.js';
import { type AuxNetConfig, DEFAULT_OPTIM, type OptimConfig, type ViTConfig } from '../../../shared/config.js';
import type { Batch } from '../../../engine/data/types.js';
import { createViT, type Network, paramsFromTensors, tensorsFromParams, VisionTransformer, vitParamShapes } from '../../../engine/model/vit.js';
import { AuxNet, createAuxNet } from '../../../engine/sws/auxnet.js';
import { extractLearngene, growDescendant } from '../../../engine/sws/learngene.js';
import { stepDropPath } from '../../../engine/train/gradients.js';
import { type ExecutorTask, type StepExecutor, TfjsStepExecutor } from '../../../engine/train/executor.js';
import { OnnxStepExecutor } from '../../../engine/onnx/executor.js';
import { createOrtRuntime } from '../../../node/train/onnx-runtime.js';
import type { Teacher } from '../../../engine/train/loop.js';
import { relativeError, useBackend } from '../../helpers/fixtures.js';

const vit = (overrides: Partial<ViTConfig> = {}): ViTConfig => ({
  imageSize: 8, channels: 3, patchSize: 4, dim: 16, depth: 3, heads: 2, mlpRatio: 2, qkvBias: true,
  pooling: 'avg', layerNormEps: 1e-6, gelu: 'exact', dropPath: 0.2, numClasses: 5, ...overrides,
});
// Adam's first steps move a weight by lr·g/(|g| + eps): with the default eps 1e-8 a
// gradient at rounding level (1e-9, e.g. a GELU unit that is almost off) moves it by a
// sizeable fraction of lr in a direction set by float rounding, so two correct engines
// differ there by ~1e-3 relative. eps 1e-6 keeps that noise below the tolerance while
// every formula is exercised the same way.
const OPTIM: OptimConfig = { ...DEFAULT_OPTIM, lr: 3e-3, weightDecay: 0.05, labelSmoothing: 0.1, clipGradNorm: 1.0, eps: 1e-6 };
const BATCH = 6;

function makeBatch(config: ViTConfig, seed: number): Batch {
  const { channels: c, imageSize: s, numClasses: k } = config;
  const images = new Float32Array(BATCH * c * s * s).map((_, i) => Math.sin(i * 0.37 + seed) * 1.5);
  const labels = new Int32Array(BATCH).map((_, i) => (i * 3 + seed) % k);
  return { images, labels, size: BATCH };
}

/** A teacher with fixed logits (a function of the image). */
function fixedTeacher(k: number): Teacher {
  return {
    numClasses: k,
    logits: async (batch) => tf.tensor2d(new Float32Array(batch.size * k).map((_, i) => Math.cos(i * 1.3 + batch.images[i % batch.images.length]!) * 3), [batch.size, k]),
  };
}

/** A copy of a network with its own variables. */
function clone(network: Network): Network {
  const params = new Map([...network.params].map(([name, v]) => [name, tf.variable(v.clone(), true)]));
  return network instanceof AuxNet ? new AuxNet(network.aux, params) : new VisionTransformer(network.config, params);
}


interface Case {
  name: string;
  network: () => Network;
  distill?: { alpha: number; tau: number; reduction?: 'batchmean' | 'numel' };
  frozen?: string[];
}

const CASES: Case[] = [
  { name: 'ViT, avg pooling, KD τ=2 α=0.5', network: () => createViT(vit(), 1), distill: { alpha: 0.5, tau: 2 } },
  { name: 'ViT, cls pooling, CE with label smoothing', network: () => createViT(vit({ pooling: 'cls', gelu: 'tanh', qkvBias: false }), 2) },
  { name: 'SWS Aux-Net (stages 2,1), KD τ=2 α=0.5 numel', network: () => createAuxNet({ kind: 'sws', vit: vit(), stages: [2, 1] } as AuxNetConfig, 3), distill: { alpha: 0.5, tau: 2, reduction: 'numel' } },
  { name: 'TLEG Aux-Net, pure KD', network: () => createAuxNet({ kind: 'tleg', vit: vit({ depth: 4 }), stages: [4] } as AuxNetConfig, 4), distill: { alpha: 1, tau: 1 } },
  {
    name: 'descendant grown from an SWS learngene, frozen embedding',
    network: () => {
      const aux = createAuxNet({ kind: 'sws', vit: vit(), stages: [2, 1] } as AuxNetConfig, 5);
      const learngene = extractLearngene('sws', [2, 1], aux.config, tensorsFromParams(aux.params), true);
      const grown = growDescendant(learngene, { depth: 4, layersSource: [], numClasses: 5, seed: 6 });
      return new VisionTransformer(grown.config, paramsFromTensors(grown.tensors, vitParamShapes(grown.config), 'descendant'));
    },
    frozen: ['patch_embed.proj.weight', 'patch_embed.proj.bias'],
  },
  // A pruned shape (learngene prune): 2 heads of width 4 (attention 8 wide, dim 16), an MLP of 11 units.
  { name: 'pruned ViT: 2 heads of width 4, MLP of 11 units', network: () => createViT(vit({ heads: 2, headDim: 4, mlpRatio: 11 / 16 }), 7) },
];

describe('one training step: onnxruntime graph = tfjs engine', () => {
  beforeAll(async () => {
    await useBackend('cpu');
  });

  for (const c of CASES) {
    it(c.name, async () => {
      const base = c.network();
      const config = base.config;
      const netOnnx = clone(base);
      const netTfjs = clone(base);
      const teacher = c.distill ? fixedTeacher(config.numClasses) : null;
      const task = (network: Network): ExecutorTask => ({
        network,
        optim: OPTIM,
        distill: c.distill ?? { alpha: 1, tau: 1 },
        distilling: Boolean(c.distill),
        ...(c.frozen ? { frozen: new Set(c.frozen) } : {}),
      });
      const onnx: StepExecutor = new OnnxStepExecutor(task(netOnnx), await createOrtRuntime('onnxruntime', { threads: 1 }));
      const tfjs: StepExecutor = new TfjsStepExecutor(task(netTfjs));
      // Two steps, so the second uses non-zero moments and bias corrections of step 2.
      for (let step = 0; step < 2; step++) {
        const batch = makeBatch(config, step);
        const dropPath = stepDropPath(base, 11, step, BATCH);
        const a = await onnx.step({ batch, lr: OPTIM.lr, dropPath, teacher });
        const b = await tfjs.step({ batch, lr: OPTIM.lr, dropPath, teacher });
        // (trainTop1 and agreement are shares of the batch and may be 0 on both sides.)
        for (const part of Object.keys(b)) expect(Math.abs(a[part]! - b[part]!) / Math.max(Math.abs(b[part]!), 1e-6), `${part} at step ${step}`).toBeLessThan(1e-4);
        expect(Object.keys(a).sort()).toEqual(Object.keys(b).sort());
      }
      await onnx.syncWeights();
      const momentsOnnx = await onnx.optimizerState();
      const momentsTfjs = await tfjs.optimizerState();
      expect([...momentsOnnx.keys()].sort()).toEqual([...momentsTfjs.keys()].sort());
      // The key bias's gradient is exactly zero (softmax ignores a shift shared by a row's
      // scores, and q·b_k is one), so both engines hold rounding noise there, which Adam's
      // normalization turns into steps of ±lr: compared as "≈ 0 in both", not to 1e-4.
      const zeroGradient = (name: string) => /attn\.k\.bias$/.test(name);
      const largestMoment = Math.max(...[...momentsTfjs].filter(([n]) => n.startsWith('adam_m.')).map(([, t]) => Math.max(...Array.from(t.data, Math.abs))));
      for (const [name, t] of momentsTfjs) {
        const ours = momentsOnnx.get(name)!.data;
        if (zeroGradient(name)) {
          if (name.startsWith('adam_m.')) for (const m of [ours, t.data]) expect(Math.max(...Array.from(m, Math.abs)), name).toBeLessThan(1e-4 * largestMoment);
        } else expect(relativeError(ours, t.data), name).toBeLessThan(1e-4);
      }
      for (const [name, v] of netTfjs.params) {
        if (zeroGradient(name)) continue;
        expect(relativeError(netOnnx.params.get(name)!.dataSync(), v.dataSync()), name).toBeLessThan(1e-4);
        if (c.frozen?.includes(name)) expect(Array.from(netOnnx.params.get(name)!.dataSync())).toEqual(Array.from(base.params.get(name)!.dataSync()));
      }
      onnx.dispose();
      tfjs.dispose();
    });
  }
});
