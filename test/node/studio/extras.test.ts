import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createExtras, looksLikeModel, withStudioExtras } from '../../../node/studio/extras.js';
import type { StudioApi } from '../../../shared/api.js';

let root: string;
beforeAll(async () => {
  root = mkdtempSync(path.join(os.tmpdir(), 'lg-extras-'));
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

describe('studio extras', () => {
  it('reports a dataset with sample thumbnails and every problem with its file', async () => {
    const extras = createExtras({ projectDir: root, samplesPerClass: 2 });
    const result = await extras.inspect('data');
    if (result.kind !== 'dataset') throw new Error(`got ${result.kind}`);
    expect(result.report.classes.map((c) => [c.name, c.count])).toEqual([['dark', 5], ['light', 6]]);
    expect(result.report.problems).toEqual([expect.objectContaining({ severity: 'error', file: path.join(root, 'data', 'light', 'broken.png') })]);
    expect(result.samples.map((s) => s.className)).toEqual(['dark', 'dark', 'light', 'light']);
    for (const s of result.samples) expect(s.dataUrl).toMatch(/^data:image\/png;base64,/);
  });

  it('tells models from datasets by their files', async () => {
    expect(await looksLikeModel(path.join(root, 'model'))).toBe(true);
    expect(await looksLikeModel(path.join(root, 'data'))).toBe(false);
    await expect(looksLikeModel(path.join(root, 'nope'))).rejects.toThrow(/no such file/);
  });

  it('probes backends once and names the project', async () => {
    const detect = vi.fn(async () => [{ name: 'wasm', usable: true, detail: 'WebAssembly' }]);
    const extras = createExtras({ projectDir: root, detectBackends: detect });
    await extras.backends();
    expect(await extras.backends()).toEqual([{ name: 'wasm', usable: true, detail: 'WebAssembly' }]);
    expect(detect).toHaveBeenCalledTimes(1);
    expect(await extras.project()).toEqual({ dir: root, name: path.basename(root) });
  });

  it('keeps the service\'s own calls and adds the missing ones', async () => {
    const service = { submit: vi.fn(), list: vi.fn(async () => ['x']), get: vi.fn(), cancel: vi.fn(), resume: vi.fn(), events: vi.fn(), on: vi.fn(() => () => undefined), project: vi.fn(async () => ({ dir: '/own', name: 'own' })) };
    const api = withStudioExtras(service as unknown as StudioApi, { projectDir: root, detectBackends: async () => [] });
    expect(await api.list()).toEqual(['x']);
    expect(await api.project()).toEqual({ dir: '/own', name: 'own' });
    expect(await api.backends()).toEqual([]);
    expect(typeof api.inspect).toBe('function');
  });
});
