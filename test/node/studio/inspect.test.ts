import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { inspectPath, looksLikeModel } from '../../../node/studio/inspect.js';
import { openStudioBackend } from '../../../node/studio/backend.js';

let root: string;
beforeAll(async () => {
  root = mkdtempSync(path.join(os.tmpdir(), 'lg-inspect-'));
  for (const [c, name] of ['dark', 'light'].entries()) {
    mkdirSync(path.join(root, 'data', name), { recursive: true });
    for (let i = 0; i < 5; i++) {
      await sharp(Buffer.alloc(8 * 8, c * 200 + i), { raw: { width: 8, height: 8, channels: 1 } }).png().toFile(path.join(root, 'data', name, `${i}.png`));
    }
  }
  writeFileSync(path.join(root, 'data', 'light', 'broken.png'), 'not a png');
  mkdirSync(path.join(root, 'model'));
  writeFileSync(path.join(root, 'model', 'model.safetensors'), '');
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('inspect', () => {
  it('reports a dataset with sample thumbnails and every problem with its file', async () => {
    const result = await inspectPath(path.join(root, 'data'), {}, { samplesPerClass: 2 });
    if (result.kind !== 'dataset') throw new Error(`got ${result.kind}`);
    expect(result.report.classes.map((c) => [c.name, c.count])).toEqual([['dark', 5], ['light', 6]]);
    expect(result.report.problems).toEqual([expect.objectContaining({ severity: 'error', file: path.join(root, 'data', 'light', 'broken.png') })]);
    expect(result.samples.map((s) => s.className)).toEqual(['dark', 'dark', 'light', 'light']);
    for (const s of result.samples) expect(s.dataUrl).toMatch(/^data:image\/png;base64,/);
    // The command line asks for no thumbnails.
    const bare = await inspectPath(path.join(root, 'data'), { samples: false });
    expect(bare.kind === 'dataset' && bare.samples).toEqual([]);
  });

  it('tells models from datasets by their files', async () => {
    expect(await looksLikeModel(path.join(root, 'model'))).toBe(true);
    expect(await looksLikeModel(path.join(root, 'data'))).toBe(false);
    await expect(looksLikeModel(path.join(root, 'nope'))).rejects.toThrow(/no such file/);
  });
});

describe('the studio backend', () => {
  it('resolves inspected paths against the project, probes backends once and names the project', async () => {
    const detect = vi.fn(async () => [{ name: 'wasm', usable: true, detail: 'WebAssembly' }]);
    const backend = await openStudioBackend({ projectDir: root, detectBackends: detect });
    const relative = await backend.inspect('data', { samples: false });
    expect(relative.path).toBe(path.join(root, 'data'));
    await backend.backends();
    expect(await backend.backends()).toEqual([{ name: 'wasm', usable: true, detail: 'WebAssembly' }]);
    expect(detect).toHaveBeenCalledTimes(1);
    expect(await backend.project()).toEqual({ dir: root, name: path.basename(root) });
  });
});
