// Shared by the export tests: fixture models saved as our model files, our own logits,
// and a file:// style IOHandler for tfjs graph models (tfjs-node is not installed).

import { promises as fs } from 'node:fs';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import * as tf from '@tensorflow/tfjs-core';
import { disposeParams, forward } from '../../../engine/model/vit.js';
import { importModel } from '../../../node/import.js';
import { loadModel } from '../../../node/model-store.js';
import { fixturePath, readNpy } from '../../helpers/fixtures.js';

/** Fixture models used by every export test: [our name, checkpoint path, input, PyTorch logits, import options]. */
export const EXPORT_CASES = [
  { name: 'avg_exact', checkpoint: fixturePath('vit', 'avg_exact', 'model.safetensors'), input: ['vit', 'avg_exact', 'input.npy'], logits: ['vit', 'avg_exact', 'logits.npy'] },
  { name: 'cls_tanh', checkpoint: fixturePath('vit', 'cls_tanh', 'model.safetensors'), input: ['vit', 'cls_tanh', 'input.npy'], logits: ['vit', 'cls_tanh', 'logits.npy'] },
  { name: 'torchvision_vit', checkpoint: fixturePath('torchvision_vit', 'hf'), input: ['torchvision_vit', 'input.npy'], logits: ['torchvision_vit', 'logits.npy'] },
] as const;

export type ExportCase = (typeof EXPORT_CASES)[number];

/** Imports a fixture into `dir/<name>` as our model file; returns the folder. */
export async function ourModel(dir: string, c: ExportCase): Promise<string> {
  const out = path.join(dir, `${c.name}-model`);
  const imported = await importModel(c.checkpoint, { out });
  disposeParams(imported.network.params);
  return out;
}

/** Our tfjs forward of the saved model on the case's input. */
export async function ourLogits(modelDir: string, c: ExportCase): Promise<Float32Array> {
  const model = await loadModel(modelDir);
  const input = readNpy(...c.input);
  const out = tf.tidy(() => forward(model.network, tf.tensor4d(input.data, input.shape as [number, number, number, number]), { training: false }).dataSync() as Float32Array);
  disposeParams(model.network.params);
  return out;
}

/** Loads model.json and its shards from disk through tfjs' own JSON → artifacts parsing. */
export function fileHandler(modelJsonPath: string): tf.io.IOHandler {
  return {
    load: async () => {
      const json = JSON.parse(await fs.readFile(modelJsonPath, 'utf8')) as tf.io.ModelJSON;
      return tf.io.getModelArtifactsForJSON(json, async (manifest) => {
        const buffers = await Promise.all(manifest.flatMap((g) => g.paths).map((p) => fs.readFile(path.join(path.dirname(modelJsonPath), p))));
        const all = Buffer.concat(buffers);
        return [tf.io.getWeightSpecs(manifest), all.buffer.slice(all.byteOffset, all.byteOffset + all.byteLength)];
      });
    },
  };
}

/** Why a Python check cannot run, or null when `/usr/bin/python3 -c "import <module>"` works. */
export function pythonMissing(module: string): string | null {
  const result = spawnSync('/usr/bin/python3', ['-c', `import ${module}`], { encoding: 'utf8' });
  if (result.error) return `/usr/bin/python3 not runnable (${result.error.message})`;
  if (result.status !== 0) return `/usr/bin/python3 cannot import ${module}: ${(result.stderr.trim().split('\n').pop() ?? '').trim()}`;
  return null;
}
