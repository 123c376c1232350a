// Teacher import: a foreign ViT checkpoint (timm, Hugging Face or torchvision safetensors,
// a file or a folder holding one, with an optional config.json beside it) becomes our model,
// with the source file's hash recorded in its provenance. Our own model files pass through
// unchanged, so every command that takes a model can take a foreign checkpoint directly.

import { promises as fs } from 'node:fs';
import path from 'node:path';
import {
  type CheckpointNaming,
  classNamesFromConfig,
  defaultPreprocess,
  importCheckpoint,
  preprocessFromConfig,
} from '../engine/io/checkpoint-import.js';
import { fromSwsReference, isSwsReference, swsReferenceStages } from '../engine/export/sws-reference.js';
import { ConfigError, defaultViTConfig, validateStages, type ViTConfig } from '../shared/config.js';
import { FormatError } from '../engine/io/errors.js';
import { decodeModel, isModelFile, type ModelMeta } from '../engine/io/model-file.js';
import { decodeSafetensors, type TensorMap } from '../engine/io/safetensors.js';
import { fromStorageLayout } from '../engine/model/params.js';
import { blockParamShapes, paramsFromTensors, VisionTransformer, vitParamShapes } from '../engine/model/vit.js';
import type { Preprocess } from '../engine/data/types.js';
import { saveModel, sha256, type LoadedModel } from './model-store.js';

export interface ImportModelOptions {
  /** Attention heads (wins over config.json and the dim/64 guess). */
  heads?: number;
  /** Where to save the imported model (folder, or a .safetensors file). */
  out?: string;
}

export interface ImportedModel extends LoadedModel {
  /** 'learngene' when the input already was one of our model files. */
  naming: CheckpointNaming | 'learngene';
  /** Assumptions and dropped parts, one sentence each. */
  notes: string[];
  /** The saved model file when `out` was given. */
  savedTo?: string;
}

/** The safetensors file(s) behind a path, and the JSON files found beside them. */
interface CheckpointFiles {
  /** Files in shard order (one unless an HF model.safetensors.index.json lists several). */
  files: string[];
  /** The path reported in messages and provenance. */
  display: string;
  configJson?: unknown;
  configPath?: string;
  preprocessorJson?: unknown;
}

async function readJsonIfPresent(file: string): Promise<{ value: unknown; text: string } | undefined> {
  let text: string;
  try {
    text = await fs.readFile(file, 'utf8');
  } catch {
    return undefined;
  }
  try {
    return { value: JSON.parse(text), text };
  } catch (error) {
    throw new FormatError(file, `is not valid JSON (${(error as Error).message})`);
  }
}

async function locateCheckpoint(inputPath: string): Promise<CheckpointFiles> {
  let stat;
  try {
    stat = await fs.stat(inputPath);
  } catch {
    throw new FormatError(inputPath, 'does not exist (expected a .safetensors file or a folder holding one)');
  }
  let dir: string;
  let files: string[];
  if (stat.isDirectory()) {
    dir = inputPath;
    const entries = (await fs.readdir(dir)).sort();
    const index = await readJsonIfPresent(path.join(dir, 'model.safetensors.index.json'));
    const weightMap = (index?.value as { weight_map?: Record<string, string> } | undefined)?.weight_map;
    if (entries.includes('model.safetensors')) files = [path.join(dir, 'model.safetensors')];
    else if (weightMap) files = [...new Set(Object.values(weightMap))].sort().map((f) => path.join(dir, f));
    else {
      const found = entries.filter((e) => e.endsWith('.safetensors'));
      if (found.length === 0) throw new FormatError(inputPath, `is a folder without a .safetensors file (found: ${entries.slice(0, 8).join(', ') || 'nothing'})`);
      if (found.length > 1) throw new FormatError(inputPath, `holds several .safetensors files (${found.join(', ')}); pass the one to import`);
      files = [path.join(dir, found[0]!)];
    }
  } else if (/\.index\.json$/i.test(inputPath)) {
    // A sharded checkpoint named by its index (model.safetensors.index.json): the shards it lists.
    dir = path.dirname(inputPath);
    const index = await readJsonIfPresent(inputPath);
    const weightMap = (index?.value as { weight_map?: Record<string, string> } | undefined)?.weight_map;
    if (!weightMap || Object.keys(weightMap).length === 0) throw new FormatError(inputPath, 'is not a safetensors index (no "weight_map" of tensor name → shard file)');
    files = [...new Set(Object.values(weightMap))].sort().map((f) => path.join(dir, f));
  } else {
    dir = path.dirname(inputPath);
    files = [inputPath];
  }
  const config = await readJsonIfPresent(path.join(dir, 'config.json'));
  const preprocessor = await readJsonIfPresent(path.join(dir, 'preprocessor_config.json'));
  return {
    files,
    display: files.length === 1 ? files[0]! : inputPath,
    configJson: config?.value,
    configPath: config ? path.join(dir, 'config.json') : undefined,
    preprocessorJson: preprocessor?.value,
  };
}

async function readShards(files: string[]): Promise<{ tensors: TensorMap; metadata: Record<string, string>; sha256: string; bytes: Uint8Array[] }> {
  const tensors: TensorMap = new Map();
  let metadata: Record<string, string> = {};
  const bytes: Uint8Array[] = [];
  for (const file of files) {
    const data = new Uint8Array(await fs.readFile(file));
    bytes.push(data);
    const decoded = decodeSafetensors(data, file);
    if (files.length === 1) metadata = decoded.metadata;
    for (const [name, t] of decoded.tensors) tensors.set(name, t);
  }
  // One file: its own hash, so `sha256sum` agrees. Shards: the hash of the shard hashes in order.
  const digest = bytes.length === 1 ? sha256(bytes[0]!) : sha256(new TextEncoder().encode(bytes.map((b) => sha256(b)).join('\n')));
  return { tensors, metadata, sha256: digest, bytes };
}

/** Our camelCase config embedded by our own timm exports (and the test fixtures). */
function embeddedConfig(metadata: Record<string, string>): unknown {
  if (!metadata.config) return undefined;
  try {
    return JSON.parse(metadata.config);
  } catch {
    return undefined;
  }
}

/** A model's tensors and metadata without any tfjs state (export and inspect need no backend). */
export interface ModelSource {
  /** timm names and layouts. */
  storage: TensorMap;
  meta: ModelMeta;
  /** The (first) safetensors file read. */
  file: string;
  sha256: string;
  naming: CheckpointNaming | 'learngene';
  notes: string[];
}

/** Reads one of our model files, or imports a foreign checkpoint, as tensors + metadata. */
export async function readAnyModel(inputPath: string, options: { heads?: number } = {}): Promise<ModelSource> {
  const located = await locateCheckpoint(inputPath);
  const read = await readShards(located.files);
  if (located.files.length === 1 && isModelFile(read.metadata)) {
    const file = located.files[0]!;
    const { meta } = decodeModel(read.bytes[0]!, file);
    const notes = options.heads !== undefined && options.heads !== meta.config.heads
      ? [`--heads ${options.heads} ignored: ${located.display} is a Learngene model with ${meta.config.heads} heads`]
      : [];
    return { storage: read.tensors, meta, file, sha256: read.sha256, naming: 'learngene', notes };
  }
  const configJson = located.configJson ?? embeddedConfig(read.metadata);
  const imported = importCheckpoint(read.tensors, { heads: options.heads, configJson, source: located.display });
  const { config } = imported;
  const { preprocess, from } = preprocessFromConfig(config, configJson, located.preprocessorJson);
  const notes = [...imported.notes, `normalization from ${from}`];
  const inputs: NonNullable<ModelMeta['provenance']['inputs']> = {
    source: { path: path.resolve(located.display), sha256: read.sha256, format: imported.naming },
  };
  if (located.configPath) {
    inputs.config = { path: path.resolve(located.configPath), sha256: sha256(await fs.readFile(located.configPath)), format: 'json' };
  }
  const meta: ModelMeta = {
    config,
    preprocess,
    classNames: classNamesFromConfig(config.numClasses, configJson),
    provenance: { createdBy: 'import', createdAt: new Date().toISOString(), inputs, details: { notes } },
  };
  return { storage: imported.tensors, meta, file: located.files[0]!, sha256: read.sha256, naming: imported.naming, notes };
}

/**
 * Imports a checkpoint (or passes one of our models through) and, with `out`, saves it.
 * Needs an initialized tfjs backend: the result holds variables.
 */
export async function importModel(inputPath: string, options: ImportModelOptions = {}): Promise<ImportedModel> {
  const source = await readAnyModel(inputPath, { heads: options.heads });
  const { config } = source.meta;
  const params = paramsFromTensors(fromStorageLayout(source.storage), vitParamShapes(config), source.file);
  const result: ImportedModel = {
    network: new VisionTransformer(config, params),
    meta: source.meta,
    file: source.file,
    sha256: source.sha256,
    naming: source.naming,
    notes: source.notes,
  };
  if (options.out) result.savedTo = await saveModel(options.out, result.network, result.meta);
  return result;
}

/** Our model file, or a foreign checkpoint imported on the fly (nothing written). */
export async function loadAnyModel(modelPath: string, options: { heads?: number } = {}): Promise<ImportedModel> {
  return importModel(modelPath, { heads: options.heads });
}

// ---------------------------------------------------------------------------------------
// Learngenes of the official SWS code (engine/export/sws-reference.ts)

/** Whether a checkpoint path holds an Aux-Net of the official SWS code (its shared blocks as per-stage instances). */
export async function isSwsReferenceCheckpoint(inputPath: string): Promise<boolean> {
  const located = await locateCheckpoint(inputPath).catch(() => null);
  if (!located) return false;
  const names: string[] = [];
  for (const file of located.files) {
    const { tensors } = decodeSafetensors(new Uint8Array(await fs.readFile(file)), file);
    names.push(...tensors.keys());
  }
  return isSwsReference(names);
}

/**
 * An Aux-Net checkpoint of the official SWS code (converted to safetensors, e.g. by
 * scripts/sws_reference.py to-safetensors) as our learngene: its per-stage instances
 * become the stage blocks, its patch/position embeddings, final norm and head (when it
 * has one) come along. `stages` gives the layers per stage (its aux model's
 * repeated_times_schedule), which the checkpoint does not record.
 */
export async function importSwsReference(inputPath: string, options: { out: string; stages?: number[]; heads?: number }): Promise<{ file: string; source: string; config: ViTConfig; notes: string[]; sha256: string; stages: number[] }> {
  const located = await locateCheckpoint(inputPath);
  const read = await readShards(located.files);
  const count = swsReferenceStages(read.tensors.keys());
  // Our own sws-reference export records its stages, shape, preprocessing and classes.
  const recorded = <T>(key: string): T | null => {
    try {
      return read.metadata[key] ? (JSON.parse(read.metadata[key]!) as T) : null;
    } catch {
      return null;
    }
  };
  const stages = options.stages ?? recorded<number[]>('stages') ?? undefined;
  if (!stages) {
    throw new ConfigError([{ field: 'stages', message: `${located.display} is an Aux-Net of the official SWS code with ${count} stages; its checkpoints do not record how many layers each has: give them with --stages (the aux model's repeated_times_schedule, e.g. 3,3,4,3,3)` }]);
  }
  if (stages.length !== count) {
    throw new ConfigError([{ field: 'stages', message: `lists ${stages.length} stages but ${located.display} holds ${count} (blocks.block.*.instances.0..${count - 1})` }]);
  }
  const notes: string[] = [];
  const storage = fromSwsReference(read.tensors);
  const shape = recorded<ViTConfig>('config') ?? swsReferenceConfig(storage, options, located.display, notes);
  const tensors = fromStorageLayout(storage);
  const config = { ...shape, depth: stages.reduce((a, b) => a + b, 0) };
  const issues = validateStages(stages, config.depth);
  if (issues.length) throw new ConfigError(issues);
  const expected = learngeneNames(config, stages, tensors.has('head.weight'));
  const missing = [...expected].filter((name) => !tensors.has(name));
  if (missing.length) throw new FormatError(located.display, `is missing ${missing.slice(0, 6).join(', ')}${missing.length > 6 ? ' …' : ''} for an SWS Aux-Net of ${config.dim} channels`);
  const dropped = [...tensors.keys()].filter((name) => !expected.has(name));
  if (dropped.length) notes.push(`left out (not part of a learngene): ${dropped.slice(0, 6).join(', ')}${dropped.length > 6 ? ` and ${dropped.length - 6} more` : ''}`);
  for (const name of dropped) tensors.delete(name);
  const { saveLearngene } = await import('./jobs/sws-jobs.js');
  const file = await saveLearngene(options.out, { kind: 'sws', stages: stages.slice(), config, tensors }, {
    preprocess: recorded<Preprocess>('preprocess') ?? defaultPreprocess(config.imageSize, config.channels),
    classNames: recorded<string[]>('classNames') ?? classNamesFromConfig(config.numClasses, undefined),
    provenance: { createdBy: 'import', createdAt: new Date().toISOString(), inputs: { source: { path: path.resolve(located.display), sha256: read.sha256, format: 'sws-reference' } }, details: { notes } },
  });
  return { file, source: located.display, config, notes, sha256: read.sha256, stages: stages.slice() };
}

/** The names (memory layout) a learngene of this shape holds: the parts an Aux-Net hands down. */
function learngeneNames(config: ViTConfig, stages: number[], withHead: boolean): Set<string> {
  const names = new Set(['patch_embed.proj.weight', 'patch_embed.proj.bias', 'pos_embed', 'norm.weight', 'norm.bias']);
  if (config.pooling === 'cls') names.add('cls_token');
  if (withHead) ['head.weight', 'head.bias'].forEach((n) => names.add(n));
  for (let s = 0; s < stages.length; s++) for (const name of blockParamShapes(config).keys()) names.add(`stages.${s}.${name}`);
  return names;
}

/** The Aux-Net's shape from a reference checkpoint's tensors (timm layout; DeiT conventions where they say nothing). */
function swsReferenceConfig(tensors: TensorMap, options: { heads?: number }, source: string, notes: string[]): ViTConfig {
  const patch = tensors.get('patch_embed.proj.weight');
  const pos = tensors.get('pos_embed');
  const fc1 = tensors.get('stages.0.mlp.fc1.weight');
  if (!patch || patch.shape.length !== 4 || !pos || !fc1) throw new FormatError(source, 'has no patch_embed.proj.weight [D, C, P, P], pos_embed or blocks.block.mlp.fc1.instances.0.weight');
  const [dim, channels, patchSize] = patch.shape as [number, number, number, number];
  const pooling = tensors.has('cls_token') ? 'cls' : 'avg';
  const tokens = pos.shape[pos.shape.length - 2]!;
  const grid = Math.round(Math.sqrt(tokens - (pooling === 'cls' ? 1 : 0)));
  const head = tensors.get('head.weight');
  const heads = options.heads ?? Math.max(1, Math.round(dim / 64));
  if (options.heads === undefined) notes.push(`${heads} attention heads assumed (dim/64, as DeiT); pass --heads if the aux model used others`);
  if (!head) notes.push('no head in the checkpoint: descendants start with a fresh head');
  notes.push('LayerNorm eps 1e-6 and exact GELU (DeiT\'s), ImageNet normalization');
  return defaultViTConfig({
    imageSize: grid * patchSize, channels, patchSize, dim, heads, depth: 1, mlpRatio: fc1.shape[0]! / dim, qkvBias: tensors.has('stages.0.attn.qkv.bias'),
    pooling, layerNormEps: 1e-6, gelu: 'exact', dropPath: 0, numClasses: head ? head.shape[0]! : 1000,
  });
}
