// Shared test utilities: fixture loading, backend selection, numeric comparison.

import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-wasm';
import '@tensorflow/tfjs-backend-cpu';
import { decodeNpy, type NpyArray } from '../../engine/io/npy.js';
import { decodeSafetensors, type SafetensorsFile, type TensorMap } from '../../engine/io/safetensors.js';
import { fromStorageLayout } from '../../engine/model/params.js';
import { paramsFromTensors, VisionTransformer, vitParamShapes } from '../../engine/model/vit.js';
import type { ViTConfig } from '../../shared/config.js';

export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const FIXTURES = path.join(REPO_ROOT, 'test/fixtures');

export function fixturePath(...parts: string[]): string {
  return path.join(FIXTURES, ...parts);
}

export function readNpy(...parts: string[]): NpyArray {
  const file = fixturePath(...parts);
  return decodeNpy(new Uint8Array(readFileSync(file)), file);
}

export function readSafetensors(...parts: string[]): SafetensorsFile {
  const file = fixturePath(...parts);
  return decodeSafetensors(new Uint8Array(readFileSync(file)), file);
}

export function readJson<T = any>(...parts: string[]): T {
  return JSON.parse(readFileSync(fixturePath(...parts), 'utf8')) as T;
}

export async function useBackend(name: 'wasm' | 'cpu'): Promise<void> {
  if (!(await tf.setBackend(name))) throw new Error(`backend ${name} did not initialize`);
  await tf.ready();
}

export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`length mismatch ${a.length} vs ${b.length}`);
  let max = 0;
  for (let i = 0; i < a.length; i++) max = Math.max(max, Math.abs(a[i]! - b[i]!));
  return max;
}

/**
 * max |a − b| / max |b|: an error relative to the tensor's scale (floor `floor` for tensors
 * that are all near zero, e.g. biases after one step).
 */
export function relativeError(a: ArrayLike<number>, b: ArrayLike<number>, floor = 1e-3): number {
  let scale = floor;
  for (let i = 0; i < b.length; i++) scale = Math.max(scale, Math.abs(b[i]!));
  return maxAbsDiff(a, b) / scale;
}

export function flat(nested: unknown): number[] {
  return (Array.isArray(nested) ? nested.flat(Infinity) : [nested]) as number[];
}

/** PyTorch's one-step ViT fixture (scripts/fixtures/make_fixtures.py): the network, its batch, autograd's loss and gradients. */
export function readVitStepFixture() {
  const config = readJson<ViTConfig>('train', 'vit_step', 'config.json');
  const file = readSafetensors('train', 'vit_step', 'model.safetensors');
  const network = new VisionTransformer(config, paramsFromTensors(fromStorageLayout(file.tensors), vitParamShapes(config), 'vit_step'));
  const input = readNpy('train', 'vit_step', 'input.npy');
  const labels = Int32Array.from(readNpy('train', 'vit_step', 'labels.npy').data);
  const loss = readJson<{ loss: number }>('train', 'vit_step', 'loss.json').loss;
  const grads = readSafetensors('train', 'vit_step', 'grads.safetensors').tensors;
  return { config, network, input, labels, loss, grads };
}

/** Largest error of each gradient (storage layout) against autograd's, relative to the reference's largest entry. */
export function gradientErrors(ours: TensorMap, expected: TensorMap): { names: string[]; expectedNames: string[]; errors: Map<string, number> } {
  const errors = new Map<string, number>();
  for (const [name, g] of expected) {
    const scale = Math.max(1e-3, ...Array.from(g.data, Math.abs));
    const mine = ours.get(name);
    errors.set(name, mine ? maxAbsDiff(mine.data, g.data) / scale : Infinity);
  }
  return { names: [...ours.keys()].sort(), expectedNames: [...expected.keys()].sort(), errors };
}
