// Issue 4 through the CLI: foreign checkpoints predict like PyTorch, import/export/inspect
// work as commands, and an ONNX model teaches a student.

import { describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { decodeNpy } from '../../engine/io/npy.js';
import { fixturePath, maxAbsDiff, readNpy, REPO_ROOT } from '../helpers/fixtures.js';
import { runCli } from '../helpers/cli.js';

const work = mkdtempSync(path.join(os.tmpdir(), 'lg-io-'));
const input = fixturePath('torchvision_vit', 'input.npy');
const expected = readNpy('torchvision_vit', 'logits.npy');

describe('foreign checkpoints through the CLI', () => {
  it.each([
    ['timm', []],
    ['hf', []],
    ['torchvision', ['--heads', '4']],
  ])('learngene predict on the %s naming matches PyTorch within 1e-4', async (naming, extra) => {
    const output = path.join(work, `${naming}.npy`);
    const run = await runCli(['predict', '--model', fixturePath('torchvision_vit', naming, 'model.safetensors'), '--input', input, '--output', output, ...extra]);
    expect(run.code, run.stderr).toBe(0);
    const logits = decodeNpy(new Uint8Array(readFileSync(output)));
    expect(logits.shape).toEqual(expected.shape);
    expect(maxAbsDiff(logits.data, expected.data)).toBeLessThan(1e-4);
  });

  it('imports, inspects and exports to ONNX, which predicts the same logits', async () => {
    const model = path.join(work, 'imported');
    const imported = await runCli(['import', fixturePath('torchvision_vit', 'torchvision'), '--heads', '4', '--out', model, '--json']);
    expect(imported.code, imported.stderr).toBe(0);
    expect(imported.json.naming).toBe('torchvision');
    const inspected = await runCli(['inspect', model, '--json']);
    expect(inspected.code, inspected.stderr).toBe(0);
    expect(inspected.json.provenance.createdBy).toBe('import');
    expect(inspected.json.provenance.inputs.source.format).toBe('torchvision');
    expect(inspected.json.provenance.inputs.source.sha256).toMatch(/^[0-9a-f]{64}$/);
    const onnxFile = path.join(work, 'exported.onnx');
    const exported = await runCli(['export', '--model', model, '--format', 'onnx', '--out', onnxFile, '--json']);
    expect(exported.code, exported.stderr).toBe(0);
    expect(existsSync(onnxFile)).toBe(true);
    const output = path.join(work, 'onnx.npy');
    const predicted = await runCli(['predict', '--model', onnxFile, '--input', input, '--output', output]);
    expect(predicted.code, predicted.stderr).toBe(0);
    expect(maxAbsDiff(decodeNpy(new Uint8Array(readFileSync(output))).data, expected.data)).toBeLessThan(1e-4);
    const described = await runCli(['inspect', onnxFile, '--json']);
    expect(described.code, described.stderr).toBe(0);
    expect(described.json).toMatchObject({ kind: 'model', artifact: 'onnx', format: 'onnx' });
    expect(described.json.provenance?.inputs?.model?.sha256 ?? described.json.provenance?.inputs?.source?.sha256 ?? described.json.sha256).toBeTruthy();
  });

  it('distils a learngene from an ONNX teacher (exported by torch.onnx)', { timeout: 300_000 }, async () => {
    const out = path.join(work, 'lg-from-onnx');
    const run = await runCli([
      'distill', '--teacher', fixturePath('torchvision_vit', 'model.onnx'), '--data', path.join(REPO_ROOT, 'resources/fashion-mnist-sample'),
      '--limit', '256', '--test-limit', '100', '--stages', '1,1', '--dim', '16', '--heads', '2', '--epochs', '2', '--batch', '32',
      '--out', out, '--project', work, '--json',
    ]);
    expect(run.code, run.stderr).toBe(0);
    const kd = run.json.history.map((h: { trainLoss: number }) => h.trainLoss);
    expect(kd[1]).toBeLessThan(kd[0]);
    expect(run.json.learngeneParams).toBeGreaterThan(0);
    expect(existsSync(path.join(out, 'learngene.safetensors'))).toBe(true);
  });
});
