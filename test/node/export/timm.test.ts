// timm export, checked by PyTorch: scripts/fixtures/check_timm_export.py loads it with
// load_state_dict(strict=True) into timm's VisionTransformer (re-implemented with timm's
// names) and compares logits. Skips with the reason when /usr/bin/python3 lacks torch.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { encodeNpy } from '../../../engine/io/npy.js';
import { exportModel } from '../../../node/export/index.js';
import { readAnyModel } from '../../../node/import.js';
import { loadModel } from '../../../node/model-store.js';
import { fixturePath, readNpy, REPO_ROOT, useBackend } from '../../helpers/fixtures.js';
import { EXPORT_CASES, ourLogits, ourModel, pythonMissing } from './helpers.js';

const torchMissing = pythonMissing('torch');
if (torchMissing) console.warn(`SKIPPING timm PyTorch round trip: ${torchMissing} (install python3-torch)`);

let tmp: string;
beforeAll(async () => {
  await useBackend('wasm');
  tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'learngene-timm-'));
});
afterAll(async () => {
  await fs.rm(tmp, { recursive: true, force: true });
});

describe.each(EXPORT_CASES)('timm export of $name', (c) => {
  it.skipIf(torchMissing !== null)('loads strictly in PyTorch and matches our logits within 1e-4', async () => {
    const model = await ourModel(tmp, c);
    const out = path.join(tmp, `${c.name}-timm`);
    const result = await exportModel(model, 'timm', out);
    expect(result.files).toEqual([path.join(out, 'model.safetensors'), path.join(out, 'config.json')]);
    const expected = path.join(tmp, `${c.name}-expected.npy`);
    const ours = await ourLogits(model, c);
    const k = (await loadModel(model)).meta.config.numClasses;
    await fs.writeFile(expected, encodeNpy({ shape: [ours.length / k, k], data: ours }));
    const run = spawnSync('/usr/bin/python3', [
      path.join(REPO_ROOT, 'scripts/fixtures/check_timm_export.py'),
      result.files[0]!, result.files[1]!, fixturePath(...c.input), expected, '--atol', '1e-4',
    ], { encoding: 'utf8' });
    const report = JSON.parse(run.stdout.trim().split('\n').pop()!);
    console.log(`${c.name}: PyTorch (strict load) vs our tfjs max_abs_diff ${report.max_abs_diff.toExponential(2)}${run.stderr ? `; stderr: ${run.stderr.trim()}` : ''}`);
    expect(run.status).toBe(0);
    expect(report.ok).toBe(true);
    expect(report.max_abs_diff).toBeLessThan(1e-4);
    expect(run.stderr).not.toMatch(/warning: (safetensors metadata config differs|ignoring unknown timm arg)/);
  });
});

describe('timm export files', () => {
  it('writes timm model_args and pretrained_cfg, and warns about an eps timm cannot build', async () => {
    const c = EXPORT_CASES[1]; // cls_tanh: eps 1e-5, tanh GELU, 1 channel, no qkv bias
    const model = await ourModel(tmp, c);
    const source = await loadModel(model);
    const result = await exportModel(model, 'timm', path.join(tmp, 'files-timm'));
    const config = JSON.parse(await fs.readFile(result.files[1]!, 'utf8'));
    expect(config.architecture).toBe('vit_custom');
    expect(config.model_args).toEqual({
      img_size: 12, patch_size: 3, in_chans: 1, embed_dim: 32, depth: 2, num_heads: 2, mlp_ratio: 4, qkv_bias: false,
      class_token: true, global_pool: 'token', fc_norm: false, num_classes: 7, drop_path_rate: 0,
      act_layer: 'gelu_tanh', layer_norm_eps: 1e-5,
    });
    expect(config.pretrained_cfg).toMatchObject({ input_size: [1, 12, 12], mean: source.meta.preprocess.mean, std: source.meta.preprocess.std, num_classes: 7 });
    expect(config.learngene.provenance.inputs.model.sha256).toBe(source.sha256);
    expect(result.warnings.join('\n')).toContain("LayerNorm eps is 1e-5 but timm's VisionTransformer always uses 1e-6");
    expect(result.warnings.join('\n')).toContain('norm_layer=partial(nn.LayerNorm, eps=1e-5)');

    const avg = await exportModel(await ourModel(tmp, EXPORT_CASES[0]), 'timm', path.join(tmp, 'avg-timm'));
    expect(avg.warnings).toEqual([]);
    const avgConfig = JSON.parse(await fs.readFile(avg.files[1]!, 'utf8'));
    expect(avgConfig.model_args).toMatchObject({ class_token: false, global_pool: 'avg', fc_norm: true });
    expect(avgConfig.model_args.layer_norm_eps).toBeUndefined();
  });

  it('re-imports to the same model (config, preprocess, class names, tensors)', async () => {
    const c = EXPORT_CASES[1];
    const model = await ourModel(tmp, c);
    const source = await readAnyModel(model);
    const out = path.join(tmp, 'reimport-timm');
    await exportModel(model, 'timm', out);
    const back = await readAnyModel(out);
    expect(back.naming).toBe('timm');
    expect(back.meta.config).toEqual(source.meta.config);
    expect(back.meta.preprocess).toEqual(source.meta.preprocess);
    expect(back.meta.classNames).toEqual(source.meta.classNames);
    expect([...back.storage.keys()].sort()).toEqual([...source.storage.keys()].sort());
    for (const [name, t] of source.storage) expect(back.storage.get(name)!.data).toEqual(t.data);
    expect(readNpy(...c.logits).shape[1]).toBe(source.meta.config.numClasses);
  });
});
