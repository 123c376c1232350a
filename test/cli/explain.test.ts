// Issue 15 through the CLI: evaluation that explains (confusion matrix, per-class metrics,
// the most confident mistakes), predict on image files, and heads kept only for the same
// label names. One tiny ViT trained on a generated image folder (train/ and test/) and a
// learngene distilled from it; the numbers are checked against independent computations
// (our own forward pass in tfjs with the preprocessing written out here, arithmetic on
// the confusion matrix).

import { mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import sharp from 'sharp';
import * as tf from '@tensorflow/tfjs-core';
import { loadModel } from '../../node/model-store.js';
import { forward, disposeParams } from '../../engine/model/vit.js';
import { useBackend } from '../helpers/fixtures.js';
import { runCli, type CliRun } from '../helpers/cli.js';

const CLASSES = ['disc', 'ring', 'bars'];
let root: string;
let data: string;
let grayData: string;
let model: string;
let grayModel: string;
let learngene: string;

/** Three classes of w×h images an eye tells apart; colour or gray. */
async function makeFolder(dir: string, perClass: number, gray: boolean, seed: number): Promise<void> {
  let state = seed;
  const rand = () => (state = (state * 1103515245 + 12345) % 2147483648) / 2147483648;
  for (const split of ['train', 'test']) {
    for (const [c, name] of CLASSES.entries()) {
      mkdirSync(path.join(dir, split, name), { recursive: true });
      const count = split === 'train' ? perClass : Math.ceil(perClass / 3);
      for (let i = 0; i < count; i++) {
        const size = 16;
        const px = Buffer.alloc(size * size * 3);
        for (let y = 0; y < size; y++) {
          for (let x = 0; x < size; x++) {
            const r2 = (x - 7.5) ** 2 + (y - 7.5) ** 2;
            const on = c === 0 ? r2 < 20 + rand() * 8 : c === 1 ? Math.abs(Math.sqrt(r2) - 5.5) < 1.3 : (x + Math.floor(rand() * 2)) % 4 < 2;
            const v = on ? 180 + rand() * 75 : rand() * 80;
            px.set(gray ? [v, v, v] : [v, 255 - v * 0.6, 60 + c * 60], (y * size + x) * 3);
          }
        }
        let image = sharp(px, { raw: { width: size, height: size, channels: 3 } });
        if (gray) image = image.toColourspace('b-w');
        await image.png().toFile(path.join(dir, split, name, `${String(i).padStart(3, '0')}.png`));
      }
    }
  }
}

function ok(run: CliRun): CliRun {
  expect(run.code, `${run.stderr}\n${run.stdout}`).toBe(0);
  return run;
}

beforeAll(async () => {
  root = mkdtempSync(path.join(os.tmpdir(), 'lg-explain-'));
  data = path.join(root, 'shapes');
  grayData = path.join(root, 'shapes-gray');
  await makeFolder(data, 24, false, 3);
  await makeFolder(grayData, 24, true, 5);
  model = path.join(root, 'model');
  grayModel = path.join(root, 'gray-model');
  learngene = path.join(root, 'learngene');
  const common = ['--depth', '2', '--dim', '16', '--heads', '2', '--patch', '4', '--epochs', '2', '--batch', '8', '--project', root, '--json'];
  ok(await runCli(['train', '--data', data, '--out', model, ...common]));
  ok(await runCli(['train', '--data', grayData, '--out', grayModel, ...common]));
}, 600_000);

afterAll(() => {
  if (root) rmSync(root, { recursive: true, force: true });
});

/** The reference forward pass: our model in tfjs on an image preprocessed here (sharp → [0,1] → mean/std). */
async function referenceProbabilities(modelDir: string, file: string, asGray: boolean): Promise<number[]> {
  await useBackend('cpu');
  const { network, meta } = await loadModel(modelDir);
  try {
    const { imageSize: s, channels: c, mean, std } = meta.preprocess;
    const { data: rgb } = await sharp(file).resize(s, s, { fit: 'fill', kernel: 'linear' }).removeAlpha().toColourspace('srgb').raw().toBuffer({ resolveWithObject: true });
    const pixels = s * s;
    const planes = new Float32Array(c * pixels);
    for (let i = 0; i < pixels; i++) {
      const [r, g, b] = rgb.length === pixels ? [rgb[i]!, rgb[i]!, rgb[i]!] : [rgb[3 * i]!, rgb[3 * i + 1]!, rgb[3 * i + 2]!];
      if (asGray) {
        // ITU-R BT.601 luma in 16-bit fixed point, rounded.
        const y = (r * 19595 + g * 38470 + b * 7471 + 0x8000) >>> 16;
        planes[i] = (y / 255 - mean[0]!) / std[0]!;
      } else {
        [r, g, b].forEach((v, ch) => (planes[ch * pixels + i] = (v / 255 - mean[ch]!) / std[ch]!));
      }
    }
    const logits = tf.tidy(() => tf.softmax(forward(network, tf.tensor4d(planes, [1, c, s, s]), { training: false })));
    return Array.from(await logits.data());
  } finally {
    disposeParams(network.params);
  }
}

function expectTopMatches(top: { label: string; index: number; probability: number }[], reference: number[], classNames: string[]): void {
  const order = reference.map((p, i) => [p, i] as const).sort((a, b) => b[0] - a[0]);
  expect(top.map((t) => t.index)).toEqual(order.slice(0, top.length).map(([, i]) => i));
  for (const t of top) {
    expect(t.label).toBe(classNames[t.index]);
    expect(Math.abs(t.probability - reference[t.index]!)).toBeLessThan(1e-4);
  }
}

describe('learngene evaluate --json explains', () => {
  it('has confusion (C×C integers summing to n), per_class and mistakes, agreeing with predict on every test image', async () => {
    const run = ok(await runCli(['evaluate', '--model', model, '--data', data, '--mistakes', '50', '--json']));
    const r = run.json;
    expect(r.split).toBe('test');
    expect(r.classNames).toEqual(['bars', 'disc', 'ring']); // folder names, sorted
    expect(r.confusion).toHaveLength(3);
    for (const row of r.confusion) {
      expect(row).toHaveLength(3);
      for (const v of row) expect(Number.isInteger(v)).toBe(true);
    }
    const total = r.confusion.flat().reduce((a: number, b: number) => a + b, 0);
    expect(total).toBe(r.n);
    expect(r.n).toBe(24);
    // top-1 and per-class metrics from the matrix, by hand.
    const diagonal = [0, 1, 2].reduce((a, i) => a + r.confusion[i][i], 0);
    expect(r.top1).toBeCloseTo(diagonal / r.n, 12);
    r.per_class.forEach((c: { label: string; accuracy: number; precision: number; recall: number; n: number }, i: number) => {
      const rowSum = r.confusion[i].reduce((a: number, b: number) => a + b, 0);
      const colSum = r.confusion.reduce((a: number, row: number[]) => a + row[i]!, 0);
      expect(c.label).toBe(r.classNames[i]);
      expect(c.n).toBe(rowSum);
      expect(c.recall).toBeCloseTo(r.confusion[i][i] / rowSum, 12);
      expect(c.accuracy).toBeCloseTo(c.recall, 12);
      expect(c.precision).toBeCloseTo(colSum ? r.confusion[i][i] / colSum : 0, 12);
    });
    // The text form lists the classes.
    const text = ok(await runCli(['evaluate', '--model', model, '--data', data]));
    expect(text.stdout).toMatch(/class\s+n\s+accuracy\s+precision\s+recall/);

    // Every test image through predict (files decoded by sharp, as a user's would be):
    // the same predicted class as evaluate counted, cell by cell.
    const files: { file: string; label: number }[] = [];
    for (const [label, name] of r.classNames.entries()) {
      for (const f of readdirSync(path.join(data, 'test', name)).sort()) files.push({ file: path.join(data, 'test', name, f), label });
    }
    const predicted = ok(await runCli(['predict', '--model', model, '--image', ...files.map((f) => f.file), '--top', '3', '--json'])).json;
    expect(predicted.predictions).toHaveLength(files.length);
    const confusion = [0, 1, 2].map(() => [0, 0, 0]);
    files.forEach((f, i) => confusion[f.label]![predicted.predictions[i].top[0].index]! += 1);
    expect(confusion).toEqual(r.confusion);
    // Mistakes: wrong, most confident first, and the probability predict gives the same image.
    const wrong = files.filter((f, i) => predicted.predictions[i].top[0].index !== f.label).length;
    expect(r.mistakes).toHaveLength(wrong);
    for (let i = 1; i < r.mistakes.length; i++) expect(r.mistakes[i - 1].probability).toBeGreaterThanOrEqual(r.mistakes[i].probability);
    for (const m of r.mistakes) {
      expect(m.predicted).not.toBe(m.true);
      expect(m.label).toBe(r.classNames[m.true]);
      // Folder test images are indexed in sorted class then file order.
      const p = predicted.predictions[m.index];
      expect(files[m.index]!.label).toBe(m.true);
      expect(p.top[0].index).toBe(m.predicted);
      expect(Math.abs(p.top[0].probability - m.probability)).toBeLessThan(1e-4);
    }
    // Thumbnails' indices: every image of a cell is listed there.
    for (const cell of r.examples) {
      for (const index of cell.indices) {
        expect(files[index]!.label).toBe(cell.true);
        expect(predicted.predictions[index].top[0].index).toBe(cell.predicted);
      }
    }
  }, 300_000);

  it('evaluates a learngene as its Aux-Net: the numbers distill reported', async () => {
    const distilled = ok(await runCli(['distill', '--teacher', model, '--data', data, '--stages', '1,1', '--epochs', '1', '--batch', '8', '--out', learngene, '--project', root, '--json'])).json;
    const evaluated = ok(await runCli(['evaluate', '--model', learngene, '--data', data, '--json'])).json;
    expect(evaluated.n).toBe(distilled.test.n);
    expect(evaluated.top1).toBeCloseTo(distilled.test.top1, 10);
    expect(Math.abs(evaluated.loss - distilled.test.loss)).toBeLessThan(1e-4);
  }, 300_000);
});

describe('learngene predict --image', () => {
  it('reads a PNG and a JPEG of other sizes, preprocessed as the model says; the ONNX export gives the same', async () => {
    const png = path.join(root, 'wide.png');
    const jpeg = path.join(root, 'photo.jpg');
    const source = path.join(data, 'test', 'ring', '000.png');
    await sharp(source).resize(40, 30).png().toFile(png);
    await sharp(source).resize(50, 50).jpeg({ quality: 95 }).toFile(jpeg);
    const run = ok(await runCli(['predict', '--model', model, '--image', png, jpeg, '--top', '2', '--json']));
    expect(run.json.predictions.map((p: { image: string }) => p.image)).toEqual([png, jpeg]);
    expect(run.json.imageSize).toBe(32); // folder images have no stored size: the model's default
    for (const [i, file] of [png, jpeg].entries()) {
      const top = run.json.predictions[i].top;
      expect(top).toHaveLength(2);
      expectTopMatches(top, await referenceProbabilities(model, file, false), run.json.classNames);
    }
    const onnx = path.join(root, 'model.onnx');
    ok(await runCli(['export', '--model', model, '--format', 'onnx', '--out', onnx]));
    const viaOnnx = ok(await runCli(['predict', '--model', onnx, '--image', png, jpeg, '--top', '2', '--json'])).json;
    expect(viaOnnx.classNames).toEqual(run.json.classNames);
    viaOnnx.predictions.forEach((p: { top: { index: number; probability: number }[] }, i: number) => {
      expect(p.top.map((t) => t.index)).toEqual(run.json.predictions[i].top.map((t: { index: number }) => t.index));
      p.top.forEach((t, k) => expect(Math.abs(t.probability - run.json.predictions[i].top[k].probability)).toBeLessThan(1e-5));
    });
  }, 300_000);

  it('converts a color image for a grayscale model and a grayscale image for a color model', async () => {
    const color = path.join(data, 'test', 'disc', '001.png');
    const gray = path.join(grayData, 'test', 'disc', '001.png');
    expect((await sharp(gray).metadata()).channels).toBe(1);
    const toGray = ok(await runCli(['predict', '--model', grayModel, '--image', color, '--top', '3', '--json'])).json;
    expect(toGray.channels).toBe(1);
    expectTopMatches(toGray.predictions[0].top, await referenceProbabilities(grayModel, color, true), toGray.classNames);
    const toColor = ok(await runCli(['predict', '--model', model, '--image', gray, '--top', '3', '--json'])).json;
    expect(toColor.channels).toBe(3);
    expectTopMatches(toColor.predictions[0].top, await referenceProbabilities(model, gray, false), toColor.classNames);
  }, 300_000);

  it('names a file that is not an image, and a missing one', async () => {
    const text = path.join(root, 'notes.png');
    await import('node:fs/promises').then((fs) => fs.writeFile(text, 'not an image'));
    const bad = await runCli(['predict', '--model', model, '--image', text, '--json']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain(text);
    const missing = await runCli(['predict', '--model', model, '--image', path.join(root, 'nope.jpg')]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('nope.jpg');
    const both = await runCli(['predict', '--model', model, '--image', text, '--input', 'x.npy', '--output', 'y.npy']);
    expect(both.code).toBe(2);
    expect(both.stderr).toContain('two modes');
  }, 120_000);
});

describe('heads follow label names, not counts', () => {
  it('grow: other names → fresh head; the learngene\'s names or its count → its head', async () => {
    const grow = (classes: string | null, out: string) =>
      runCli(['grow', '--learngene', learngene, '--depth', '1', ...(classes ? ['--classes', classes] : []), '--out', path.join(root, out), '--json']);
    expect(ok(await grow('apple,pear,plum', 'g-other')).json.headFrom).toBe('fresh');
    expect(ok(await grow('bars,disc,ring', 'g-same')).json.headFrom).toBe('learngene');
    expect(ok(await grow('ring,disc,bars', 'g-reordered')).json.headFrom).toBe('fresh');
    expect(ok(await grow('3', 'g-count')).json.headFrom).toBe('learngene');
    expect(ok(await grow(null, 'g-default')).json.headFrom).toBe('learngene');
    const inspected = ok(await runCli(['inspect', path.join(root, 'g-other'), '--json'])).json;
    expect(inspected.classNames).toEqual(['apple', 'pear', 'plum']);
  }, 120_000);

  it('finetune: a dataset with the same count but other names starts a fresh head', async () => {
    const renamed = path.join(root, 'renamed');
    for (const split of ['train', 'test']) {
      for (const [i, name] of ['bars', 'disc', 'ring'].entries()) {
        const to = path.join(renamed, split, ['x', 'y', 'z'][i]!);
        mkdirSync(to, { recursive: true });
        for (const f of readdirSync(path.join(data, split, name))) await sharp(path.join(data, split, name, f)).toFile(path.join(to, f));
      }
    }
    const fresh = ok(await runCli(['finetune', '--model', model, '--data', renamed, '--epochs', '1', '--batch', '8', '--out', path.join(root, 'ft-renamed'), '--project', root, '--json'])).json;
    expect(fresh.headReset).toBe(true);
    const kept = ok(await runCli(['finetune', '--model', model, '--data', data, '--epochs', '1', '--batch', '8', '--out', path.join(root, 'ft-same'), '--project', root, '--json'])).json;
    expect(kept.headReset).toBe(false);
  }, 300_000);
});
