// A model on disk: one safetensors file with timm names and layouts, its config,
// preprocessing, class names, provenance and metrics in `__metadata__` (JSON strings).

import { type ViTConfig, validateViTConfig } from '../../shared/config.js';
import type { Preprocess } from '../data/types.js';
import { FormatError } from './errors.js';
import { decodeSafetensors, encodeSafetensors, type TensorMap } from './safetensors.js';
import { fromStorageLayout, toStorageLayout } from '../model/params.js';
import { vitParamShapes } from '../model/vit.js';

export const MODEL_FORMAT = 'learngene-model';

/** Where a model came from; kept through every command that derives one model from another. */
export interface Provenance {
  /** The command or job that produced it, e.g. "train", "grow", "import". */
  createdBy: string;
  createdAt: string;
  /** Fingerprints of inputs: dataset, teacher, learngene, source checkpoint. */
  inputs?: Record<string, { path?: string; sha256?: string; format?: string; detail?: string }>;
  /** Free-form details (seed, layersSource, epochs ...). */
  details?: Record<string, unknown>;
}

export interface ModelMeta {
  config: ViTConfig;
  preprocess: Preprocess;
  classNames: string[];
  provenance: Provenance;
  metrics?: Record<string, unknown>;
}

function parseJsonField<T>(metadata: Record<string, string>, key: string, source: string): T {
  const text = metadata[key];
  if (text === undefined) throw new FormatError(source, `__metadata__ has no "${key}"`);
  try {
    return JSON.parse(text) as T;
  } catch (error) {
    throw new FormatError(source, `__metadata__.${key} is not valid JSON (${(error as Error).message})`);
  }
}

/** Encodes memory-layout tensors of a ViT as a timm-named safetensors file. */
export function encodeModel(tensors: TensorMap, meta: ModelMeta, extraMetadata: Record<string, string> = {}): Uint8Array {
  return encodeSafetensors(toStorageLayout(tensors, meta.config), {
    ...extraMetadata,
    format: MODEL_FORMAT,
    config: JSON.stringify(meta.config),
    preprocess: JSON.stringify(meta.preprocess),
    classNames: JSON.stringify(meta.classNames),
    provenance: JSON.stringify(meta.provenance),
    ...(meta.metrics ? { metrics: JSON.stringify(meta.metrics) } : {}),
  });
}

/** True when a safetensors header says it was written by this tool. */
export function isModelFile(metadata: Record<string, string>): boolean {
  return metadata.format === MODEL_FORMAT;
}

/**
 * Checks the file's tensors against its config in the file's own (timm) layout, so a
 * mismatch is reported with the names and shapes the file really holds. The expected
 * storage shapes come from toStorageLayout itself (on zeros), the one place that knows
 * the layouts.
 */
function checkStoredShapes(tensors: TensorMap, config: ViTConfig, source: string): void {
  const zeros: TensorMap = new Map();
  for (const [name, shape] of vitParamShapes(config)) zeros.set(name, { shape, data: new Float32Array(shape.reduce((a, b) => a * b, 1)) });
  const expected = toStorageLayout(zeros, config);
  const what = `the config (dim ${config.dim}, depth ${config.depth}, ${config.numClasses} classes, patch ${config.patchSize}, image ${config.imageSize})`;
  const problems: string[] = [];
  for (const [name, { shape }] of expected) {
    const found = tensors.get(name);
    if (!found) problems.push(`has no tensor "${name}" (${what} needs [${shape}])`);
    else if (found.shape.join(',') !== shape.join(',')) problems.push(`tensor "${name}" has shape [${found.shape}] but ${what} needs [${shape}]`);
  }
  const extra = [...tensors.keys()].filter((name) => !expected.has(name));
  if (extra.length > 0) problems.push(`has tensors ${what} does not use: ${extra.slice(0, 5).map((n) => `"${n}"`).join(', ')}${extra.length > 5 ? ` and ${extra.length - 5} more` : ''}`);
  if (problems.length > 0) throw new FormatError(source, problems.slice(0, 3).join('; ') + (problems.length > 3 ? ` (and ${problems.length - 3} more)` : ''));
}

/** Decodes a model file into memory-layout tensors and validated metadata. */
export function decodeModel(bytes: Uint8Array, source: string): { tensors: TensorMap; meta: ModelMeta; metadata: Record<string, string> } {
  const file = decodeSafetensors(bytes, source);
  if (!isModelFile(file.metadata)) {
    throw new FormatError(source, `is not a Learngene model (its __metadata__.format is ${JSON.stringify(file.metadata.format ?? null)}); import foreign checkpoints with "learngene import"`);
  }
  const config = parseJsonField<ViTConfig>(file.metadata, 'config', source);
  const issues = validateViTConfig(config, 'config.');
  if (issues.length > 0) {
    throw new FormatError(source, `__metadata__ ${issues.map((i) => `${i.field}: ${i.message}`).join('; ')}`);
  }
  checkStoredShapes(file.tensors, config, source);
  const meta: ModelMeta = {
    config,
    preprocess: parseJsonField<Preprocess>(file.metadata, 'preprocess', source),
    classNames: parseJsonField<string[]>(file.metadata, 'classNames', source),
    provenance: parseJsonField<Provenance>(file.metadata, 'provenance', source),
    metrics: file.metadata.metrics ? parseJsonField<Record<string, unknown>>(file.metadata, 'metrics', source) : undefined,
  };
  return { tensors: fromStorageLayout(file.tensors), meta, metadata: file.metadata };
}
