// Model folders on disk: `<dir>/model.safetensors` (timm names, metadata inside) and a
// readable `<dir>/config.json` copy of the metadata. A bare `.safetensors` path works
// wherever a model is taken.

import { promises as fs } from 'node:fs';
import path from 'node:path';
import { createHash } from 'node:crypto';
import { decodeModel, encodeModel, type ModelMeta } from '../engine/io/model-file.js';
import { FormatError } from '../engine/io/errors.js';
import { paramsFromTensors, tensorsFromParams, VisionTransformer, vitParamShapes } from '../engine/model/vit.js';
import type { Network } from '../engine/model/vit.js';
import { writeFileAtomic, writeFolderAtomic, writeJsonAtomic } from './fs/atomic.js';

export const MODEL_FILE = 'model.safetensors';

export interface LoadedModel {
  network: VisionTransformer;
  meta: ModelMeta;
  /** The safetensors file read. */
  file: string;
  sha256: string;
}

/** The safetensors file behind a model path (folder or file), or an error naming what is missing. */
export async function resolveModelFile(modelPath: string): Promise<string> {
  let stat;
  try {
    stat = await fs.stat(modelPath);
  } catch {
    throw new FormatError(modelPath, 'does not exist (expected a model folder or a .safetensors file)');
  }
  if (stat.isDirectory()) {
    const file = path.join(modelPath, MODEL_FILE);
    try {
      await fs.access(file);
    } catch {
      throw new FormatError(modelPath, `is a folder without ${MODEL_FILE} (not a model written by learngene)`);
    }
    return file;
  }
  return modelPath;
}

export function sha256(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

export async function loadModel(modelPath: string): Promise<LoadedModel> {
  const file = await resolveModelFile(modelPath);
  const bytes = new Uint8Array(await fs.readFile(file));
  const { tensors, meta } = decodeModel(bytes, file);
  const params = paramsFromTensors(tensors, vitParamShapes(meta.config), file);
  return { network: new VisionTransformer(meta.config, params), meta, file, sha256: sha256(bytes) };
}

/**
 * Writes safetensors bytes to `target` atomically: the file itself when `target` ends in
 * .safetensors, else a folder holding `fileName` and a readable JSON sidecar.
 */
export async function saveSafetensorsArtifact(target: string, fileName: string, bytes: Uint8Array, sidecar: { name: string; value: unknown }): Promise<string> {
  if (target.endsWith('.safetensors')) {
    await fs.mkdir(path.dirname(path.resolve(target)), { recursive: true });
    await writeFileAtomic(target, bytes);
    return target;
  }
  await writeFolderAtomic(target, async (dir) => {
    await fs.writeFile(path.join(dir, fileName), bytes);
    await writeJsonAtomic(path.join(dir, sidecar.name), sidecar.value);
  });
  return path.join(target, fileName);
}

/** Writes a model to `target` (a folder, or a file when it ends in .safetensors), atomically. */
export async function saveModel(target: string, network: Network, meta: ModelMeta): Promise<string> {
  return saveSafetensorsArtifact(target, MODEL_FILE, encodeModel(tensorsFromParams(network.params), meta), { name: 'config.json', value: meta });
}
