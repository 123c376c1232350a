// Issue 2's integration test: a first-time user trains a small ViT on real
// Fashion-MNIST images, evaluates it and runs a raw forward pass, all through the CLI.

import { describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, writeFileSync, existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { decodeNpy, encodeNpy } from '../../engine/io/npy.js';
import { loadModel } from '../../node/model-store.js';
import { forward } from '../../engine/model/vit.js';
import { maxAbsDiff, useBackend } from '../helpers/fixtures.js';
import { fashionMnistPath, runCli } from '../helpers/cli.js';

const work = mkdtempSync(path.join(os.tmpdir(), 'lg-cli-'));
const model = path.join(work, 'teacher');
const data = fashionMnistPath();

describe('learngene train → evaluate → predict on Fashion-MNIST', () => {
  it('trains depth 4 / dim 64 / heads 4 / patch 7 for 3 epochs on 6000 images to ≥ 72% test top-1', { timeout: 900_000 }, async () => {
    const run = await runCli(['train', '--data', data, '--limit', '6000', '--test-limit', '1000', '--depth', '4', '--dim', '64', '--heads', '4', '--patch', '7', '--epochs', '3', '--out', model, '--project', work, '--json']);
    expect(run.code, run.stderr).toBe(0);
    expect(run.json.test.n).toBe(1000);
    expect(run.json.test.top1).toBeGreaterThanOrEqual(0.72);
    expect(run.json.history).toHaveLength(3);
    // progress went to stderr, the result alone to stdout
    expect(run.stderr).toMatch(/epoch 3\/3/);
    expect(run.stdout.trim().split('\n')).toHaveLength(1);
    expect(existsSync(path.join(model, 'model.safetensors'))).toBe(true);
    expect(existsSync(path.join(run.json.runDir, 'events.jsonl'))).toBe(true);
  });

  it('evaluates the saved model on the same 1000 test images', async () => {
    const run = await runCli(['evaluate', '--model', model, '--data', data, '--test-limit', '1000', '--json']);
    expect(run.code, run.stderr).toBe(0);
    expect(run.json.n).toBe(1000);
    expect(run.json.split).toBe('test');
    expect(run.json.top1).toBeGreaterThanOrEqual(0.72);
    expect(run.json.top5).toBeGreaterThanOrEqual(run.json.top1);
  });

  it('predicts raw logits from an NCHW .npy equal to an in-process forward pass', async () => {
    const input = Float32Array.from({ length: 3 * 28 * 28 }, (_, i) => Math.sin(i * 0.01));
    const inputFile = path.join(work, 'x.npy');
    const outputFile = path.join(work, 'y.npy');
    writeFileSync(inputFile, encodeNpy({ shape: [3, 1, 28, 28], data: input }));
    const run = await runCli(['predict', '--model', model, '--input', inputFile, '--output', outputFile, '--json']);
    expect(run.code, run.stderr).toBe(0);
    const logits = decodeNpy(new Uint8Array(readFileSync(outputFile)));
    expect(logits.shape).toEqual([3, 10]);
    await useBackend('wasm');
    const { network } = await loadModel(model);
    const expected = forward(network, tf.tensor4d(input, [3, 1, 28, 28]), { training: false }).dataSync();
    expect(maxAbsDiff(logits.data, expected)).toBeLessThan(1e-6);
  });

  it('rejects an input of the wrong shape, naming the file and the expected shape', async () => {
    const bad = path.join(work, 'bad.npy');
    writeFileSync(bad, encodeNpy({ shape: [2, 3, 28, 28], data: new Float32Array(2 * 3 * 28 * 28) }));
    const run = await runCli(['predict', '--model', model, '--input', bad, '--output', path.join(work, 'never.npy')]);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain(`${bad}: has shape (2, 3, 28, 28) but`);
    expect(run.stderr).toContain('takes (N, 1, 28, 28)');
    expect(existsSync(path.join(work, 'never.npy'))).toBe(false);
  });
});
