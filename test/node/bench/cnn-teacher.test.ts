// The bench's teacher of another family: scripts/train-cnn-teacher.py trains a small CNN
// with PyTorch and exports it to ONNX. Its recorded cost matches a hand count of the
// layer shapes; onnxruntime, fed the way the distill job feeds an ONNX teacher, scores
// the held-out images as PyTorch did; and `learngene distill --teacher teacher.onnx`
// distils a learngene from it. Skips with the reason when /usr/bin/python3 lacks torch.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync, promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { initBackend } from '../../../node/backends.js';
import { makeLoaders, measurePreprocess, prepareData } from '../../../node/jobs/data.js';
import { OnnxTeacher } from '../../../node/onnx-teacher.js';
import { teacherTop1, writeDevSplit } from '../../../node/bench/sws-trials.js';
import { runCli } from '../../helpers/cli.js';
import { REPO_ROOT } from '../../helpers/fixtures.js';
import { pythonMissing } from '../export/helpers.js';

const torchMissing = pythonMissing('torch') ?? pythonMissing('onnx');
if (torchMissing) console.warn(`SKIPPING the CNN teacher script: ${torchMissing} (install python3-torch python3-onnx)`);

const SAMPLE = path.join(REPO_ROOT, 'resources/fashion-mnist-sample');
let tmp: string;
let data: string;
let teacherFile: string;
let summary: Record<string, any>;

beforeAll(async () => {
  await initBackend();
  tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'learngene-cnn-teacher-'));
  data = (await writeDevSplit(SAMPLE, path.join(tmp, 'data'), 30, 1)).dir;
  teacherFile = path.join(tmp, 'cnn', 'teacher.onnx');
  if (torchMissing) return;
  const run = spawnSync('/usr/bin/python3', [path.join(REPO_ROOT, 'scripts/train-cnn-teacher.py'), '--data', data, '--out', teacherFile, '--epochs', '1', '--limit', '1000', '--seed', '0'], { encoding: 'utf8' });
  if (run.status !== 0) throw new Error(`train-cnn-teacher.py failed: ${run.stderr}`);
  summary = JSON.parse(await fs.readFile(`${teacherFile}.json`, 'utf8'));
}, 120_000);
afterAll(async () => {
  await fs.rm(tmp, { recursive: true, force: true });
});

describe.skipIf(torchMissing !== null)('scripts/train-cnn-teacher.py', () => {
  it('records the cost counted from its layer shapes', () => {
    // conv 3×3 stride 2: 14·14·32·(1·9); conv 3×3 stride 2: 7·7·64·(32·9); linear 7·7·64 → 10.
    const macs = 14 * 14 * 32 * 9 + 7 * 7 * 64 * 32 * 9 + 3136 * 10;
    expect(summary.forwardMacsPerImage).toBe(macs);
    expect(summary.trainFlopsPerImage).toBe(3 * 2 * macs);
    // conv1 288, BN 2·32, conv2 18,432, BN 2·64, linear 31,360 + 10.
    expect(summary.params).toBe(288 + 64 + 18_432 + 128 + 31_370);
    // 1000 images, batch 64, the last partial batch dropped.
    expect(summary.trainImages).toBe(960);
    expect(summary.history).toHaveLength(1);
    expect(summary.input.normalization).toEqual({ mean: [0.5], std: [0.5] });
  });

  it('scores the held-out images in onnxruntime as PyTorch did (fed as the distill job feeds it)', async () => {
    const spec = { path: data, valFraction: 0, augment: { cropPadding: 0, horizontalFlip: false } };
    const prepared = await prepareData(spec, 0);
    // The student's normalization (the data's mean/std); the teacher converts it to its own 0.5/0.5.
    const preprocess = await measurePreprocess(prepared, 28, 1);
    const teacher = await OnnxTeacher.load(teacherFile, preprocess);
    try {
      const ours = await teacherTop1(teacher, makeLoaders(prepared, preprocess, spec, 64, 0).test!);
      // 300 held-out images: float differences may flip at most one arg-max.
      expect(Math.abs(ours - summary.history[0].heldOutTop1)).toBeLessThanOrEqual(1 / 300 + 1e-12);
      expect(ours).toBeGreaterThan(0.5);
    } finally {
      await teacher.dispose();
      // A second dispose (the distill job's teacher and its opener both release it) is harmless.
      await teacher.dispose();
    }
  });

  it('is a teacher for `learngene distill --teacher teacher.onnx`', async () => {
    const out = path.join(tmp, 'learngene');
    const run = await runCli(['distill', '--teacher', teacherFile, '--data', data, '--stages', '1,1', '--dim', '32', '--heads', '2', '--epochs', '1', '--limit', '256', '--val-fraction', '0', '--test-limit', '100', '--project', tmp, '--out', out, '--json']);
    expect(run.stderr).not.toMatch(/Session already disposed/);
    expect(run.code).toBe(0);
    expect(run.json.kind).toBe('distill');
    expect(run.json.auxKind).toBe('sws');
    expect(run.json.stages).toEqual([1, 1]);
    expect(existsSync(path.join(out, 'learngene.safetensors'))).toBe(true);
  }, 120_000);
});
