// TensorFlow.js graph-model export, loaded from the written files by stock
// tfjs-converter `loadGraphModel` (no custom ops) and run on wasm.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { promises as fs } from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { loadGraphModel } from '@tensorflow/tfjs-converter';
import { exportModel } from '../../../node/export/index.js';
import { loadModel } from '../../../node/model-store.js';
import { maxAbsDiff, readNpy, useBackend } from '../../helpers/fixtures.js';
import { EXPORT_CASES, fileHandler, ourLogits, ourModel } from './helpers.js';

let tmp: string;
beforeAll(async () => {
  await useBackend('wasm');
  tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'learngene-tfjs-'));
});
afterAll(async () => {
  await fs.rm(tmp, { recursive: true, force: true });
});

describe.each(EXPORT_CASES)('tfjs graph-model export of $name', (c) => {
  it('loads with tf.loadGraphModel from the files and matches our logits within 1e-4 on wasm', async () => {
    const model = await ourModel(tmp, c);
    const out = path.join(tmp, `${c.name}-tfjs`);
    // Small shards so the multi-shard path is exercised too.
    const result = await exportModel(model, 'tfjs', out, { shardBytes: 16 * 1024 });
    expect(result.files[0]).toBe(path.join(out, 'model.json'));
    expect(result.files.length).toBeGreaterThan(2);
    expect((await fs.readdir(out)).sort()).toEqual(result.files.map((f) => path.basename(f)).sort());

    const graphModel = await loadGraphModel(fileHandler(result.files[0]!));
    expect(graphModel.inputs.map((i) => i.name)).toEqual(['pixel_values']);
    expect(graphModel.outputs.map((o) => o.name)).toEqual(['logits']);
    const input = readNpy(...c.input);
    const x = tf.tensor4d(input.data, input.shape as [number, number, number, number]);
    const y = graphModel.execute({ pixel_values: x }, 'logits') as tf.Tensor;
    const ours = await ourLogits(model, c);
    const diff = maxAbsDiff(y.dataSync(), ours);
    console.log(`${c.name}: tf.loadGraphModel vs our tfjs ${diff.toExponential(2)}, vs PyTorch ${maxAbsDiff(y.dataSync(), readNpy(...c.logits).data).toExponential(2)}`);
    expect(diff).toBeLessThan(1e-4);
    tf.dispose([x, y]);
    graphModel.dispose();
  });
});

describe('tfjs export metadata', () => {
  it('records provenance in userDefinedMetadata and uses only stock TF op names', async () => {
    const c = EXPORT_CASES[1];
    const model = await ourModel(tmp, c);
    const source = await loadModel(model);
    const result = await exportModel(model, 'tfjs', path.join(tmp, 'meta-tfjs'));
    expect(result.files.map((f) => path.basename(f))).toEqual(['model.json', 'group1-shard1of1.bin']);
    const json = JSON.parse(await fs.readFile(result.files[0]!, 'utf8'));
    expect(json.format).toBe('graph-model');
    expect(json.userDefinedMetadata.learngene.provenance.inputs.model.sha256).toBe(source.sha256);
    expect(json.userDefinedMetadata.learngene.preprocess).toEqual(source.meta.preprocess);
    const ops = new Set(json.modelTopology.node.map((n: { op: string }) => n.op));
    expect([...ops].sort()).toEqual(['AddV2', 'BatchMatMulV2', 'Const', 'GatherV2', 'MatMul', 'Mean', 'Mul', 'Pad', 'Placeholder', 'RealDiv', 'Reshape', 'Softmax', 'Sqrt', 'Sub', 'Tanh', 'Transpose']);
    const graphModel = await loadGraphModel(fileHandler(result.files[0]!));
    expect((graphModel.metadata as { learngene: { config: unknown } }).learngene.config).toEqual(source.meta.config);
    graphModel.dispose();
  });
});

describe('tfjs export over HTTP', () => {
  it('loads by URL with loadGraphModel, the way a page would', async () => {
    const c = EXPORT_CASES[0];
    const model = await ourModel(tmp, c);
    const out = path.join(tmp, 'served');
    await exportModel(model, 'tfjs', out, { shardBytes: 8 * 1024 });
    const server = http.createServer((req, res) => {
      fs.readFile(path.join(out, path.basename(req.url ?? ''))).then(
        (body) => res.end(body),
        () => { res.statusCode = 404; res.end(); },
      );
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const { port } = server.address() as { port: number };
      const graphModel = await loadGraphModel(`http://127.0.0.1:${port}/model.json`);
      const input = readNpy(...c.input);
      const y = graphModel.predict(tf.tensor4d(input.data, input.shape as [number, number, number, number])) as tf.Tensor;
      expect(maxAbsDiff(y.dataSync(), await ourLogits(model, c))).toBeLessThan(1e-4);
      graphModel.dispose();
    } finally {
      server.close();
    }
  });
});
