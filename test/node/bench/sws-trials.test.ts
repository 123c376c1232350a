// The training half of `npm run bench:sws` that the jobs do not cover: the validation
// split written as its own IDX folder (disjoint from the pool, the test split left out),
// fine-tuning trials (validation read once at the end, snapshots that read back to the
// same numbers, reuse of a finished trial, divergence), split epochs, and scratch runs
// stopped at a target. Tiny ViTs on the embedded Fashion-MNIST sample.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync, promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { DEFAULT_OPTIM, defaultViTConfig } from '../../../shared/config.js';
import { createViT } from '../../../engine/model/vit.js';
import { type BatchSource, Trainer } from '../../../engine/train/loop.js';
import { disposeParams } from '../../../engine/model/vit.js';
import { initBackend } from '../../../node/backends.js';
import { makeLoaders, measurePreprocess, prepareData } from '../../../node/jobs/data.js';
import { readIdxPair } from '../../../node/data/idx.js';
import { evaluateSnapshot, runScratchToTarget, runTrial, SplitEpochs, writeDevSplit } from '../../../node/bench/sws-trials.js';
import { REPO_ROOT } from '../../helpers/fixtures.js';

const SAMPLE = path.join(REPO_ROOT, 'resources/fashion-mnist-sample');
let tmp: string;

beforeAll(async () => {
  await initBackend();
  tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'learngene-bench-trials-'));
});
afterAll(async () => {
  await fs.rm(tmp, { recursive: true, force: true });
});

describe('the validation split', () => {
  it('holds images out of the training split, writes the rest as the pool, and never copies the test split', async () => {
    const dir = path.join(tmp, 'dev');
    const split = await writeDevSplit(SAMPLE, dir, 20, 7);
    const source = await readIdxPair(path.join(SAMPLE, 'train-images-idx3-ubyte.gz'), path.join(SAMPLE, 'train-labels-idx1-ubyte.gz'));
    const pool = await readIdxPair(path.join(dir, 'train-images-idx3-ubyte'), path.join(dir, 'train-labels-idx1-ubyte'));
    const val = await readIdxPair(path.join(dir, 't10k-images-idx3-ubyte'), path.join(dir, 't10k-labels-idx1-ubyte'));
    const n = source.labels.length;
    expect(split.valImages).toBe(200);
    expect(split.poolImages).toBe(n - 200);
    expect(pool.labels.length + val.labels.length).toBe(n);
    // 20 per class, and every validation image is the source image at its index, absent from the pool.
    for (let c = 0; c < 10; c++) expect(val.labels.filter((l) => l === c).length).toBe(20);
    const size = 28 * 28;
    const key = (data: Uint8Array, i: number) => Buffer.from(data.subarray(i * size, (i + 1) * size)).toString('base64');
    const poolSet = new Set(Array.from({ length: pool.labels.length }, (_, i) => key(pool.images.data, i)));
    split.valIndices.forEach((index, k) => {
      expect(key(val.images.data, k)).toBe(key(source.images.data, index));
      expect(val.labels[k]).toBe(source.labels[index]);
    });
    const leaked = split.valIndices.filter((_, k) => poolSet.has(key(val.images.data, k)));
    // Fashion-MNIST has a few exact duplicate images; a held-out image may equal a pool image only as such a duplicate.
    const duplicatesInSource = new Set<string>();
    const seen = new Set<string>();
    for (let i = 0; i < n; i++) {
      const k = key(source.images.data, i);
      if (seen.has(k)) duplicatesInSource.add(k);
      seen.add(k);
    }
    for (const index of leaked) expect(duplicatesInSource.has(key(source.images.data, index))).toBe(true);
    expect((await fs.readFile(path.join(dir, 'classes.txt'), 'utf8')).split('\n')[0]).toBe('T-shirt/top');
    // The jobs see the validation split as this folder's test split.
    const prepared = await prepareData({ path: dir, valFraction: 0, augment: { cropPadding: 0, horizontalFlip: false } }, 0);
    expect(prepared.testIndices!.length).toBe(200);
    expect(prepared.trainIndices.length).toBe(n - 200);
    // Asking again for the same split rewrites nothing.
    const before = (await fs.stat(path.join(dir, 'train-images-idx3-ubyte'))).mtimeMs;
    await writeDevSplit(SAMPLE, dir, 20, 7);
    expect((await fs.stat(path.join(dir, 'train-images-idx3-ubyte'))).mtimeMs).toBe(before);
  });
});

describe('SplitEpochs', () => {
  it('maps part-epochs onto the underlying epochs in order, dropping the remainder', async () => {
    const calls: [number, number][] = [];
    const inner: BatchSource = { stepsPerEpoch: 10, batchSize: 4, batch: async (epoch, step) => (calls.push([epoch, step]), { images: new Float32Array(0), labels: new Int32Array(0), size: 0 }) };
    const split = new SplitEpochs(inner, 4);
    expect(split.stepsPerEpoch).toBe(2);
    await split.batch(0, 0);
    await split.batch(3, 1);
    await split.batch(5, 1);
    expect(calls).toEqual([[0, 0], [0, 7], [1, 3]]);
    expect(() => new SplitEpochs(inner, 11)).toThrow(/parts must be an integer in 1\.\.10/);
  });
});

describe('trials', () => {
  const config = defaultViTConfig({ depth: 1, dim: 16, heads: 2, patchSize: 7, numClasses: 10 });
  async function loaders() {
    const spec = { path: SAMPLE, valFraction: 0, limit: 256, testLimit: 100, augment: { cropPadding: 0, horizontalFlip: false } };
    const data = await prepareData(spec, 0);
    const l = makeLoaders(data, await measurePreprocess(data, 28, 1), spec, 32, 0);
    return { train: l.train, val: l.test! };
  }

  it('reads validation once at the end; the snapshots read back to the same numbers; a finished trial is reused', async () => {
    const { train, val } = await loaders();
    const dir = path.join(tmp, 'trial');
    let built = 0;
    const options = { dir, phase: 't', network: () => (built++, createViT(config, 3)), train, val, optim: { ...DEFAULT_OPTIM, epochs: 2, batchSize: 32, lr: 2e-3 }, seed: 3, snapshots: true };
    const trial = await runTrial(options);
    expect(trial.diverged).toBeNull();
    expect(trial.images).toBe(2 * 8 * 32);
    expect(trial.trainSecondsByEpoch).toHaveLength(2);
    expect(trial.val!.n).toBe(100);
    // The final snapshot is the network validation saw.
    expect((await evaluateSnapshot(trial.snapshots!.final, val)).top1).toBe(trial.val!.top1);
    // The epoch-1 snapshot holds the weights after epoch 1: the same run with the Trainer's
    // own per-epoch validation (on the live weights in the step executor) sees the same.
    const reference = createViT(config, 3);
    const trainer = new Trainer({ phase: 'reference', network: reference, train, val, optim: options.optim, seed: 3 });
    const { history } = await trainer.run();
    trainer.dispose();
    disposeParams(reference.params);
    const first = await evaluateSnapshot(trial.snapshots!.epoch1, val);
    expect(first.top1).toBe(history[0]!.val!.top1);
    expect(first.loss).toBeCloseTo(history[0]!.val!.loss, 5);
    expect(history[1]!.val!.top1).toBe(trial.val!.top1);
    expect(first.loss).not.toBeCloseTo(trial.val!.loss, 3);
    // Reused: nothing built or trained again.
    const again = await runTrial(options);
    expect(built).toBe(1);
    expect(again).toEqual(trial);
    // Without its snapshots, a trial that wants them runs again (and computes the same numbers).
    await fs.rm(trial.snapshots!.final);
    const rerun = await runTrial(options);
    expect(built).toBe(2);
    expect(rerun.val).toEqual(trial.val);
  });

  it('records a diverged run instead of failing the search', async () => {
    const { train, val } = await loaders();
    const trial = await runTrial({ dir: path.join(tmp, 'diverged'), phase: 'd', network: () => createViT(config, 3), train, val, optim: { ...DEFAULT_OPTIM, epochs: 1, batchSize: 32, lr: 1e9, clipGradNorm: 0, weightDecay: 0 }, seed: 3, snapshots: true });
    expect(trial.diverged).toMatch(/loss became (NaN|Infinity)/);
    expect(trial.val).toBeNull();
    expect(trial.snapshots).toBeNull();
    expect(existsSync(path.join(tmp, 'diverged', 'trial.json'))).toBe(true);
  });

  it('a scratch run stops at the first validation reaching the target, or runs to the cap', async () => {
    const { train, val } = await loaders();
    const base = { phase: 's', network: () => createViT(config, 3), train, val, optim: { ...DEFAULT_OPTIM, epochs: 1, batchSize: 32, lr: 2e-3 }, seed: 3, evalsPerEpoch: 4 };
    const reached = await runScratchToTarget({ ...base, dir: path.join(tmp, 'reached'), target: 0 });
    expect(reached.top1ByEval).toHaveLength(1);
    expect(reached.imagesPerEval).toBe(2 * 32);
    const capped = await runScratchToTarget({ ...base, dir: path.join(tmp, 'capped'), target: 1.01 });
    expect(capped.top1ByEval).toHaveLength(4);
    expect(capped.trainSecondsByEval).toHaveLength(4);
    // The capped run's first part is the reached run's only part (same seed, same batches).
    expect(capped.top1ByEval[0]).toBe(reached.top1ByEval[0]);
    // Each validation is of the weights at that point: the Trainer validating every part agrees.
    const reference = createViT(config, 3);
    const trainer = new Trainer({ phase: 'reference', network: reference, train: new SplitEpochs(train, 4), val, optim: { ...base.optim, epochs: 4 }, seed: 3 });
    const { history } = await trainer.run();
    trainer.dispose();
    disposeParams(reference.params);
    expect(capped.top1ByEval).toEqual(history.map((h) => h.val!.top1));
    expect(new Set(capped.top1ByEval).size).toBeGreaterThan(1);
  });
});
