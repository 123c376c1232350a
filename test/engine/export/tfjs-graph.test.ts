// The tfjs graph-model emitter, run by stock tfjs-converter (`loadGraphModel`) from memory.

import { describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import { loadGraphModel } from '@tensorflow/tfjs-converter';
import type { ViTConfig } from '../../../shared/config.js';
import { buildInferenceGraph } from '../../../engine/export/graph.js';
import { toTfjsGraphModel, type TfjsGraphModel } from '../../../engine/export/tfjs-graph.js';
import { fromStorageLayout } from '../../../engine/model/params.js';
import { disposeParams, forward, paramsFromTensors, VisionTransformer, vitParamShapes } from '../../../engine/model/vit.js';
import { maxAbsDiff, readJson, readNpy, readSafetensors, useBackend } from '../../helpers/fixtures.js';

/** An IOHandler over in-memory files, going through tfjs' own model.json parsing. */
function memoryHandler(files: TfjsGraphModel): tf.io.IOHandler {
  return {
    load: async () => tf.io.getModelArtifactsForJSON(files.modelJson as unknown as tf.io.ModelJSON, async (manifest) => {
      const bytes = manifest[0]!.paths.map((p) => files.shards.find((s) => s.path === p)!.bytes);
      const total = bytes.reduce((n, b) => n + b.byteLength, 0);
      const all = new Uint8Array(total);
      let offset = 0;
      for (const b of bytes) {
        all.set(b, offset);
        offset += b.byteLength;
      }
      return [tf.io.getWeightSpecs(manifest), all.buffer];
    }),
  };
}

describe.each(['avg_exact', 'cls_tanh', 'tiny'])('tfjs graph model of %s', (name) => {
  it('matches our forward within 1e-4 on wasm, at batch 3 and 1', async () => {
    await useBackend('wasm');
    const config = readJson<ViTConfig>('vit', name, 'config.json');
    const storage = readSafetensors('vit', name, 'model.safetensors').tensors;
    const files = toTfjsGraphModel(buildInferenceGraph(config, storage), { shardBytes: 10_000 });
    expect(files.shards.length).toBeGreaterThan(1);
    const model = await loadGraphModel(memoryHandler(files));
    const input = readNpy('vit', name, 'input.npy');
    const net = new VisionTransformer(config, paramsFromTensors(fromStorageLayout(storage), vitParamShapes(config), name));
    const x = tf.tensor4d(input.data, input.shape as [number, number, number, number]);
    const ours = tf.tidy(() => forward(net, x, { training: false }).dataSync() as Float32Array);
    const theirs = model.execute({ pixel_values: x }) as tf.Tensor;
    expect(theirs.shape).toEqual([3, config.numClasses]);
    const diff = maxAbsDiff(theirs.dataSync(), ours);
    const reference = maxAbsDiff(theirs.dataSync(), readNpy('vit', name, 'logits.npy').data);
    console.log(`${name}: tfjs graph vs our forward ${diff.toExponential(2)}, vs PyTorch ${reference.toExponential(2)}`);
    expect(diff).toBeLessThan(1e-4);
    const single = model.predict(tf.slice(x, [1, 0, 0, 0], [1, -1, -1, -1])) as tf.Tensor;
    expect(maxAbsDiff(single.dataSync(), ours.subarray(config.numClasses, 2 * config.numClasses))).toBeLessThan(1e-4);
    tf.dispose([x, theirs, single]);
    model.dispose();
    disposeParams(net.params);
  });
});
