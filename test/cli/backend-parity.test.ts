// The same `learngene train` run (ten optimizer steps on real Fashion-MNIST images, with
// drop-path, label smoothing, warm-up and clipping) on the onnxruntime backend and on the
// tfjs wasm backend ends with the same weights within 1e-3 relative, and the default
// backend here is onnxruntime.

import { mkdtempSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { decodeSafetensors } from '../../engine/io/safetensors.js';
import { fashionMnistPath, runCli } from '../helpers/cli.js';

const ARGS = [
  '--limit', '160', '--val-fraction', '0', '--test-limit', '50', '--batch', '16', '--epochs', '1', // 10 steps of 16 images
  '--depth', '2', '--dim', '32', '--heads', '2', '--patch', '7', '--drop-path', '0.1', '--label-smoothing', '0.1', '--warmup-epochs', '0.5', '--seed', '3',
];

describe('backends agree', () => {
  it('ten steps of learngene train on onnxruntime and on wasm end within 1e-3 relative in the weights', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'lg-parity-'));
    const weights: Record<string, Map<string, Float32Array>> = {};
    for (const backend of ['onnxruntime', 'wasm']) {
      const run = await runCli(['train', '--data', fashionMnistPath(), ...ARGS, '--backend', backend, '--project', dir, '--out', path.join(dir, backend), '--json']);
      expect(run.code, run.stderr).toBe(0);
      expect(run.stderr).toContain(`backend: ${backend}`);
      expect(run.stderr).toContain('step 10/10');
      const file = decodeSafetensors(new Uint8Array(readFileSync(path.join(dir, backend, 'model.safetensors'))), backend);
      weights[backend] = new Map([...file.tensors].map(([name, t]) => [name, Float32Array.from(t.data)]));
    }
    let diff = 0;
    let norm = 0;
    for (const [name, b] of weights.wasm!) {
      const a = weights.onnxruntime!.get(name)!;
      for (let i = 0; i < b.length; i++) {
        diff += (a[i]! - b[i]!) ** 2;
        norm += b[i]! ** 2;
      }
    }
    const relative = Math.sqrt(diff / norm);
    console.log(`‖w_onnxruntime − w_wasm‖ / ‖w_wasm‖ after 10 steps: ${relative.toExponential(2)}`);
    expect(relative).toBeLessThan(1e-3);
  });

  it('auto picks onnxruntime here', async () => {
    const run = await runCli(['backends', '--json']);
    expect(run.code, run.stderr).toBe(0);
    expect(run.json.default).toBe('onnxruntime');
    expect(run.json.backends.find((b: { name: string }) => b.name === 'onnxruntime')).toMatchObject({ usable: true, engine: 'onnxruntime', default: true });
  });
});
