// The ONNX training graph against the PyTorch reference fixtures (test/fixtures/train,
// made by scripts/fixtures/make_fixtures.py): a ViT's loss and every gradient, the
// losses (cross-entropy with label smoothing, KD batchmean and DeiT numel, (1−α)CE + αKD)
// and three AdamW steps with and without timm's no-decay rule.

import { beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_OPTIM } from '../../../shared/config.js';
import { toStorageLayout } from '../../../engine/model/params.js';
import { decays } from '../../../engine/train/adamw.js';
import { OnnxStepExecutor } from '../../../engine/onnx/executor.js';
import { GraphBuilder } from '../../../engine/onnx/graph.js';
import { appendAdamW, lossAndLogitGradient, paramLayout } from '../../../engine/onnx/train-graph.js';
import { smoothedTargetValues } from '../../../engine/train/loss.js';
import { createOrtRuntime, loadOrt } from '../../../node/train/onnx-runtime.js';
import { flat, gradientErrors, maxAbsDiff, readJson, readVitStepFixture, useBackend } from '../../helpers/fixtures.js';

/** Runs a small graph once on the CPU EP. */
async function run(g: GraphBuilder, feeds: Record<string, { data: Float32Array; dims: number[] }>): Promise<Record<string, Float32Array>> {
  const ort = await loadOrt();
  const session = await ort.InferenceSession.create(g.encode({ graphName: 'fixture' }));
  const out = await session.run(Object.fromEntries(Object.entries(feeds).map(([name, t]) => [name, new ort.Tensor('float32', t.data, t.dims)])));
  await session.release();
  return Object.fromEntries(Object.entries(out).map(([name, t]) => [name, t.data as Float32Array]));
}

describe('ONNX training graph = PyTorch fixtures', () => {
  beforeAll(async () => {
    await useBackend('cpu');
  });

  it('a ViT step: the loss and the gradient of every parameter equal autograd', async () => {
    const { config, network, input, labels, loss, grads: expected } = readVitStepFixture();
    // No clipping: after one step the first moment is (1 − β1)·gradient.
    const optim = { ...DEFAULT_OPTIM, clipGradNorm: 0, weightDecay: 0, labelSmoothing: 0 };
    const executor = new OnnxStepExecutor({ network, optim, distill: { alpha: 1, tau: 1 }, distilling: false }, await createOrtRuntime('onnxruntime', { threads: 1 }));
    const losses = await executor.step({ batch: { images: Float32Array.from(input.data), labels, size: labels.length }, lr: 1e-3, dropPath: null, teacher: null });
    expect(losses.total).toBeCloseTo(loss, 4);
    const grads = new Map([...(await executor.optimizerState())].filter(([name]) => name.startsWith('adam_m.')).map(([name, t]) => [
      name.slice('adam_m.'.length),
      { shape: t.shape, data: t.data.map((m) => m / (1 - optim.beta1)) },
    ]));
    const { names, expectedNames, errors } = gradientErrors(toStorageLayout(grads, config), expected);
    expect(names).toEqual(expectedNames);
    for (const [name, error] of errors) expect(error, name).toBeLessThan(1e-4);
    executor.dispose();
  });

  const losses = readJson('train', 'losses.json');
  const [batch, classes] = [losses.studentLogits.length, losses.studentLogits[0].length];

  async function lossGraph(smoothing: number, distill: { alpha: number; tau: number; reduction: 'batchmean' | 'numel' } | null) {
    const g = new GraphBuilder({ contribOps: true });
    const logits = g.input('logits', [batch, classes]);
    const targets = g.input('targets', [batch, classes]);
    const teacher = distill ? g.input('teacher', [batch, classes]) : null;
    const out = lossAndLogitGradient(g, logits, targets, teacher, distill);
    g.output(out.total, 'total');
    g.output(out.ce, 'ce');
    if (out.kd) g.output(out.kd, 'kd');
    const feeds: Record<string, { data: Float32Array; dims: number[] }> = {
      logits: { data: Float32Array.from(flat(losses.studentLogits)), dims: [batch, classes] },
      targets: { data: smoothedTargetValues(Int32Array.from(losses.labels), classes, smoothing), dims: [batch, classes] },
    };
    if (distill) feeds.teacher = { data: Float32Array.from(flat(losses.teacherLogits)), dims: [batch, classes] };
    return run(g, feeds);
  }

  it('cross-entropy with label smoothing', async () => {
    for (const c of losses.crossEntropy) expect((await lossGraph(c.labelSmoothing, null)).total![0]).toBeCloseTo(c.loss, 5);
  });

  it('KD, batchmean and DeiT numel reductions, and (1 − α)·CE + α·KD', async () => {
    for (const c of losses.kdBatchmean) expect((await lossGraph(0, { alpha: 1, tau: c.tau, reduction: 'batchmean' })).kd![0]).toBeCloseTo(c.loss, 5);
    for (const c of losses.kdDeiT) expect((await lossGraph(0, { alpha: 1, tau: c.tau, reduction: 'numel' })).kd![0]).toBeCloseTo(c.loss, 5);
    const c = losses.combined;
    const out = await lossGraph(0, { alpha: c.alpha, tau: c.tau, reduction: 'batchmean' });
    expect(out.total![0]).toBeCloseTo(c.loss, 5);
    expect(out.ce![0]).toBeCloseTo(c.ce, 5);
    expect(out.kd![0]).toBeCloseTo(c.kd, 5);
  });

  const ref = readJson('train', 'adamw.json');

  async function adamSteps(decayFilter: (name: string, shape: readonly number[]) => boolean) {
    const layout = paramLayout([['matrix', [2, 3]], ['vector', [3]]]);
    const g = new GraphBuilder({ contribOps: true });
    const inputs = {
      params: g.input('params', [layout.floats]),
      adamM: g.input('m', [layout.floats]),
      adamV: g.input('v', [layout.floats]),
      grad: g.input('grad', [layout.floats]),
      stepSize: g.input('step_size', []),
      bias2Sqrt: g.input('bias2_sqrt', []),
      decay: g.input('decay', []),
    };
    const optimizer = { beta1: ref.betas[0], beta2: ref.betas[1], eps: ref.eps, clipGradNorm: 0, weightDecay: ref.weightDecay, decays: decayFilter };
    const out = appendAdamW(g, inputs, optimizer, layout);
    g.output(out.paramsNext, 'params_next');
    g.output(out.mNext, 'm_next');
    g.output(out.vNext, 'v_next');
    let params = Float32Array.from([...flat(ref.params0.matrix), ...flat(ref.params0.vector)]);
    let m = new Float32Array(layout.floats);
    let v = new Float32Array(layout.floats);
    const after: Float32Array[] = [];
    for (const [i, grad] of (ref.grads as { matrix: number[][]; vector: number[] }[]).entries()) {
      const t = i + 1;
      const scalar = (x: number) => ({ data: Float32Array.of(x), dims: [] });
      const result = await run(g, {
        params: { data: params, dims: [layout.floats] },
        m: { data: m, dims: [layout.floats] },
        v: { data: v, dims: [layout.floats] },
        grad: { data: Float32Array.from([...flat(grad.matrix), ...grad.vector]), dims: [layout.floats] },
        step_size: scalar(ref.lr / (1 - ref.betas[0] ** t)),
        bias2_sqrt: scalar(Math.sqrt(1 - ref.betas[1] ** t)),
        decay: scalar(1 - ref.lr * ref.weightDecay),
      });
      [params, m, v] = [result.params_next!, result.m_next!, result.v_next!];
      after.push(params);
    }
    return after;
  }

  it('AdamW: three steps equal torch.optim.AdamW, with decay everywhere and with the timm no-decay rule', async () => {
    (await adamSteps(() => true)).forEach((p, i) => {
      expect(maxAbsDiff(p, [...flat(ref.paramsAfter[i].matrix), ...flat(ref.paramsAfter[i].vector)])).toBeLessThan(2e-6);
    });
    (await adamSteps(decays)).forEach((p, i) => {
      expect(maxAbsDiff(p, [...flat(ref.vectorNoDecay.paramsAfter[i].matrix), ...flat(ref.vectorNoDecay.paramsAfter[i].vector)])).toBeLessThan(2e-6);
    });
  });
});
