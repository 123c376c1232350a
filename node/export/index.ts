// `learngene export` and the provenance half of `learngene inspect`. Every export is
// built from one inference graph (engine/export/graph.ts) or, for timm, from the timm
// tensors themselves; each records where it came from (source model hash, format,
// config) in its own metadata slot: ONNX metadata_props, model.json
// userDefinedMetadata, the timm config.json. Files are written atomically.

import { promises as fs } from 'node:fs';
import path from 'node:path';
import { ConfigError, type ViTConfig } from '../../shared/config.js';
import { DEFAULT_DATA, EXPORT_FORMATS, type ExportFormat, type ExportRequest } from '../../shared/api.js';
import type { ExportResult, QuantizationSummary } from '../../shared/results.js';
import type { Preprocess } from '../../engine/data/types.js';
import { buildInferenceGraph, type InferenceGraph } from '../../engine/export/graph.js';
import { toTimmExport } from '../../engine/export/timm.js';
import { toSwsReference } from '../../engine/export/sws-reference.js';
import { toStorageLayout } from '../../engine/model/params.js';
import { defaultLayersSource } from '../../engine/sws/layers-source.js';
import { toTfjsGraphModel, type TfjsModelJson } from '../../engine/export/tfjs-graph.js';
import { FormatError } from '../../engine/io/errors.js';
import type { Provenance } from '../../engine/io/model-file.js';
import { decodeSafetensors, encodeSafetensors } from '../../engine/io/safetensors.js';
import { writeFileAtomic, writeFolderAtomic } from '../fs/atomic.js';
import { readAnyModel, type ModelSource } from '../import.js';
import { sha256 } from '../model-store.js';
import { describeOnnx, ONNX_METADATA_PREFIX, type OnnxDescription } from '../onnx-teacher.js';
import { encodeModelProto, toOnnxModel } from './onnx.js';
import { calibrationImages, DEFAULT_CALIBRATION_IMAGES, quantizeStatic } from './calibrate.js';
import { quantizeModel } from './quantize.js';

/** The files of an sws-reference export. */
export const SWS_REFERENCE_FILE = 'sws-learngene.safetensors';
export const SWS_REFERENCE_NOTE = 'sws-reference.json';

export { EXPORT_FORMATS, type ExportFormat };
export type { ExportResult };

export interface ExportOptions {
  /** For a foreign checkpoint given directly: its head count. */
  heads?: number;
  /** tfjs weight shard size in bytes (default 4 MiB). */
  shardBytes?: number;
  /** ONNX: int8 weights; static with `calibration`, dynamic without (shared/api.ts ExportRequest). */
  quantize?: ExportRequest['quantize'];
  calibration?: ExportRequest['calibration'];
  /** Seed of the calibration images' draw. */
  seed?: number;
}

const PRODUCER_VERSION = '0.1.0';

/** What every export records about its origin. */
function exportProvenance(source: ModelSource, modelPath: string, format: ExportFormat, quantize?: 'int8'): Provenance {
  return {
    createdBy: 'export',
    createdAt: new Date().toISOString(),
    inputs: {
      model: { path: path.resolve(modelPath), sha256: source.sha256, format: source.naming === 'learngene' ? 'learngene-model' : source.naming },
    },
    details: { exportFormat: format, ...(quantize ? { quantize } : {}), sourceProvenance: source.meta.provenance },
  };
}

/** The metadata record shared by the ONNX and tfjs exports. */
interface ExportRecord {
  format: 'learngene-export';
  config: ViTConfig;
  preprocess: Preprocess;
  classNames: string[];
  provenance: Provenance;
}

/** The int8 version of a float ONNX model, with what was done (static when calibration data is given). */
async function quantizeOnnx(graph: InferenceGraph, model: ReturnType<typeof toOnnxModel>, source: ModelSource, options: ExportOptions) {
  const activationRanks = new Map(graph.nodes.map((n) => [n.name, n.shape.length]));
  activationRanks.set(graph.input.name, graph.input.shape.length);
  if (!options.calibration) {
    const quantized = quantizeModel(model, { mode: 'dynamic', activationRanks });
    return { model: quantized.model, summary: { mode: 'dynamic', matmuls: quantized.matmuls.length } satisfies QuantizationSummary };
  }
  const { data, images, method } = options.calibration;
  const { meta } = source;
  const set = await calibrationImages(data ?? DEFAULT_DATA, meta.preprocess, meta.config.numClasses, images ?? DEFAULT_CALIBRATION_IMAGES, options.seed ?? 0);
  return quantizeStatic(model, activationRanks, set, meta.preprocess, meta.config.numClasses, method ?? 'auto');
}

async function writeOnnx(source: ModelSource, record: ExportRecord, out: string, options: ExportOptions): Promise<{ files: string[]; quantization?: QuantizationSummary }> {
  const graph = buildInferenceGraph(source.meta.config, source.storage);
  const metadata: Record<string, string> = {};
  for (const [key, value] of Object.entries(record)) metadata[ONNX_METADATA_PREFIX + key] = typeof value === 'string' ? value : JSON.stringify(value);
  let model = toOnnxModel(graph, { metadata, producerVersion: PRODUCER_VERSION });
  let quantization: QuantizationSummary | undefined;
  if (options.quantize === 'int8') {
    ({ model, summary: quantization } = await quantizeOnnx(graph, model, source, options));
    model.metadataProps = [...(model.metadataProps ?? []), { key: ONNX_METADATA_PREFIX + 'quantization', value: JSON.stringify(quantization) }];
  }
  const bytes = encodeModelProto(model);
  return { files: await writeOnnxBytes(bytes, out), ...(quantization ? { quantization } : {}) };
}

async function writeOnnxBytes(bytes: Uint8Array, out: string): Promise<string[]> {
  if (out.endsWith('.onnx')) {
    await fs.mkdir(path.dirname(path.resolve(out)), { recursive: true });
    await writeFileAtomic(out, bytes);
    return [path.resolve(out)];
  }
  await writeFolderAtomic(out, async (dir) => fs.writeFile(path.join(dir, 'model.onnx'), bytes));
  return [path.resolve(out, 'model.onnx')];
}

async function writeTfjs(source: ModelSource, record: ExportRecord, out: string, shardBytes?: number): Promise<string[]> {
  const graph = buildInferenceGraph(source.meta.config, source.storage);
  const { modelJson, shards } = toTfjsGraphModel(graph, {
    metadata: { learngene: record },
    shardBytes,
    generatedBy: `learngene-studio ${PRODUCER_VERSION}`,
    convertedBy: `learngene-studio ${PRODUCER_VERSION} (engine/export/tfjs-graph.ts)`,
  });
  await writeFolderAtomic(out, async (dir) => {
    await fs.writeFile(path.join(dir, 'model.json'), JSON.stringify(modelJson));
    for (const s of shards) await fs.writeFile(path.join(dir, s.path), s.bytes);
  });
  return ['model.json', ...shards.map((s) => s.path)].map((f) => path.resolve(out, f));
}

async function writeTimm(source: ModelSource, provenance: Provenance, out: string): Promise<{ files: string[]; warnings: string[] }> {
  const { meta } = source;
  const timm = toTimmExport(meta.config, source.storage, { preprocess: meta.preprocess, classNames: meta.classNames, provenance });
  const bytes = encodeSafetensors(timm.tensors, timm.metadata);
  await writeFolderAtomic(out, async (dir) => {
    await fs.writeFile(path.join(dir, 'model.safetensors'), bytes);
    await fs.writeFile(path.join(dir, 'config.json'), JSON.stringify(timm.configJson, null, 2) + '\n');
  });
  return { files: ['model.safetensors', 'config.json'].map((f) => path.resolve(out, f)), warnings: timm.warnings };
}

/**
 * Exports a model (ours, or a foreign checkpoint imported on the fly) to `out`:
 * onnx → `out` if it ends in .onnx, else `out/model.onnx`; tfjs → folder with model.json
 * and weight shards; timm → folder with model.safetensors and config.json.
 */
export async function exportModel(modelPath: string, format: ExportFormat, out: string, options: ExportOptions = {}): Promise<ExportResult> {
  if (!EXPORT_FORMATS.includes(format)) throw new Error(`unknown export format ${JSON.stringify(format)} (use ${EXPORT_FORMATS.join(', ')})`);
  if (options.quantize !== undefined && format !== 'onnx') {
    throw new ConfigError([{ field: 'quantize', message: `int8 quantization is for the ONNX export, not ${format}` }]);
  }
  if (format === 'sws-reference') return exportSwsReference(modelPath, out);
  const source = await readAnyModel(modelPath, { heads: options.heads });
  const warnings = source.naming === 'learngene' ? [...source.notes] : source.notes.map((n) => `import: ${n}`);
  const provenance = exportProvenance(source, modelPath, format, options.quantize);
  const record: ExportRecord = {
    format: 'learngene-export',
    config: source.meta.config,
    preprocess: source.meta.preprocess,
    classNames: source.meta.classNames,
    provenance,
  };
  if (format === 'onnx') return { kind: 'export', format, ...(await writeOnnx(source, record, out, options)), warnings };
  if (format === 'tfjs') return { kind: 'export', format, files: await writeTfjs(source, record, out, options.shardBytes), warnings };
  const timm = await writeTimm(source, provenance, out);
  return { kind: 'export', format, files: timm.files, warnings: [...warnings, ...timm.warnings] };
}

/**
 * A learngene in the official SWS code's layout (engine/export/sws-reference.ts): a folder
 * with the tensors under that code's names and a note of what the code needs to use them
 * (the stage sizes for its aux model's repeated_times_schedule, the model arguments, a
 * --layers-source per depth).
 */
async function exportSwsReference(learngenePath: string, out: string): Promise<ExportResult> {
  const { loadLearngene } = await import('../jobs/sws-jobs.js');
  const loaded = await loadLearngene(learngenePath).catch((error: unknown) => {
    throw new FormatError(learngenePath, `is not a learngene (${(error as Error).message}); the sws-reference format exports learngenes, not models`);
  });
  const { learngene, meta } = loaded;
  if (learngene.kind !== 'sws') throw new FormatError(loaded.file, 'is a TLEG learngene; the official SWS code has no layout for TLEG (export SWS learngenes only)');
  const { config, stages } = learngene;
  const tensors = toSwsReference(toStorageLayout(learngene.tensors, config));
  const provenance: Provenance = {
    createdBy: 'export',
    createdAt: new Date().toISOString(),
    inputs: { learngene: { path: path.resolve(loaded.file), sha256: loaded.sha256, format: 'learngene-sws' } },
    details: { exportFormat: 'sws-reference', sourceProvenance: meta.provenance },
  };
  const warnings: string[] = [];
  if (config.pooling === 'avg') {
    warnings.push('the reference Aux-Net normalizes every token before averaging (norm, then pool) while ours pools first (fc_norm): descendants grown by either code are identical, the Aux-Net\'s own outputs differ slightly');
  }
  const depths = [...new Set([config.depth, 12, 6, stages.length])].filter((d) => d >= stages.length).sort((a, b) => a - b);
  const note = {
    format: 'sws-reference',
    about: 'A learngene in the layout of the official SWS code (github.com/AlphaXia/SWS). Convert to a .pth with: python3 scripts/sws_reference.py to-pth sws-learngene.safetensors learngene.pth',
    stages,
    repeated_times_schedule: { norm1: [stages, stages.map(() => true)], attn_qkv: [stages, stages.map(() => true)], mlp_fc1: [stages, stages.map(() => true)], dim: stages.map(() => config.dim) },
    model_args: { img_size: config.imageSize, patch_size: config.patchSize, in_chans: config.channels, embed_dim: config.dim, depth: config.depth, num_heads: config.heads, mlp_ratio: config.mlpRatio, qkv_bias: config.qkvBias, use_cls_token: config.pooling === 'cls', num_classes: config.numClasses },
    has_head: tensors.has('head.weight'),
    layers_source: Object.fromEntries(depths.map((d) => [d, defaultLayersSource(stages, d).join(',')])),
    class_names: meta.classNames,
    preprocess: meta.preprocess,
    provenance,
  };
  // "pt" like torch-saved checkpoints; the rest lets our own import restore the learngene whole.
  const bytes = encodeSafetensors(tensors, {
    format: 'pt', provenance: JSON.stringify(provenance), stages: JSON.stringify(stages), config: JSON.stringify(config),
    preprocess: JSON.stringify(meta.preprocess), classNames: JSON.stringify(meta.classNames),
  });
  await writeFolderAtomic(out, async (dir) => {
    await fs.writeFile(path.join(dir, SWS_REFERENCE_FILE), bytes);
    await fs.writeFile(path.join(dir, SWS_REFERENCE_NOTE), JSON.stringify(note, null, 2) + '\n');
  });
  return { kind: 'export', format: 'sws-reference', files: [SWS_REFERENCE_FILE, SWS_REFERENCE_NOTE].map((f) => path.resolve(out, f)), warnings };
}

// ---------------------------------------------------------------------------------------
// inspect

export type ModelKind = 'learngene-model' | 'checkpoint' | 'timm-export' | 'onnx' | 'tfjs-graph-model';

export interface ModelDescription {
  path: string;
  kind: ModelKind;
  /** learngene-model | timm | hf | torchvision | onnx | tfjs-graph-model */
  format: string;
  sha256: string;
  config?: ViTConfig;
  preprocess?: Preprocess;
  classNames?: string[];
  provenance?: Provenance;
  /** Metrics recorded with our own models. */
  metrics?: Record<string, unknown>;
  /** Import assumptions, or why a field is unknown. */
  notes: string[];
  onnx?: OnnxDescription;
  tfjs?: { weights: number; shards: string[]; ops: Record<string, number> };
}

function parseRecord(text: string | undefined): unknown {
  if (text === undefined) return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

async function isDirectory(p: string): Promise<boolean> {
  try {
    return (await fs.stat(p)).isDirectory();
  } catch {
    throw new FormatError(p, 'does not exist');
  }
}

async function exists(p: string): Promise<boolean> {
  return fs.access(p).then(() => true, () => false);
}

async function describeOnnxFile(file: string): Promise<ModelDescription> {
  const onnx = await describeOnnx(file);
  const m = onnx.metadata;
  const get = (key: string) => parseRecord(m[ONNX_METADATA_PREFIX + key]);
  const ours = m[ONNX_METADATA_PREFIX + 'format'] !== undefined;
  return {
    path: file,
    kind: 'onnx',
    format: 'onnx',
    sha256: onnx.sha256,
    config: get('config') as ViTConfig | undefined,
    preprocess: get('preprocess') as Preprocess | undefined,
    classNames: get('classNames') as string[] | undefined,
    provenance: get('provenance') as Provenance | undefined,
    notes: ours ? [] : [`not exported by Learngene (producer ${onnx.producer.name || 'unknown'} ${onnx.producer.version}); no provenance recorded`],
    onnx,
  };
}

async function describeTfjs(file: string): Promise<ModelDescription> {
  const text = await fs.readFile(file, 'utf8');
  let json: TfjsModelJson;
  try {
    json = JSON.parse(text) as TfjsModelJson;
  } catch (error) {
    throw new FormatError(file, `is not valid JSON (${(error as Error).message})`);
  }
  if (json.format !== 'graph-model' && !(json.modelTopology && json.weightsManifest)) {
    throw new FormatError(file, `is not a TensorFlow.js graph model (format ${JSON.stringify(json.format ?? null)})`);
  }
  const record = (json.userDefinedMetadata?.learngene ?? undefined) as Partial<ExportRecord> | undefined;
  const ops: Record<string, number> = {};
  for (const node of json.modelTopology?.node ?? []) ops[node.op] = (ops[node.op] ?? 0) + 1;
  return {
    path: file,
    kind: 'tfjs-graph-model',
    format: 'tfjs-graph-model',
    sha256: sha256(new TextEncoder().encode(text)),
    config: record?.config,
    preprocess: record?.preprocess,
    classNames: record?.classNames,
    provenance: record?.provenance,
    notes: record ? [] : [`not exported by Learngene (convertedBy ${JSON.stringify(json.convertedBy ?? null)}); no provenance recorded`],
    tfjs: {
      weights: json.weightsManifest.reduce((n, g) => n + g.weights.length, 0),
      shards: json.weightsManifest.flatMap((g) => g.paths),
      ops,
    },
  };
}

async function describeSafetensors(modelPath: string): Promise<ModelDescription> {
  const source = await readAnyModel(modelPath);
  const { meta } = source;
  if (source.naming === 'learngene') {
    return { path: source.file, kind: 'learngene-model', format: 'learngene-model', sha256: source.sha256, ...meta, notes: source.notes };
  }
  // Our timm export keeps the provenance of the export in its metadata and config.json.
  const file = decodeSafetensors(new Uint8Array(await fs.readFile(source.file)), source.file);
  const exported = parseRecord(file.metadata.provenance) as Provenance | undefined;
  return {
    path: source.file,
    kind: exported ? 'timm-export' : 'checkpoint',
    format: source.naming,
    sha256: source.sha256,
    config: meta.config,
    preprocess: meta.preprocess,
    classNames: meta.classNames,
    provenance: exported ?? meta.provenance,
    notes: source.notes,
  };
}

/**
 * What `learngene inspect` shows about any model-like path: our model files, foreign
 * checkpoints (as they would import), our timm exports, ONNX files and tfjs model.json.
 */
export async function describeModelForInspect(modelPath: string): Promise<ModelDescription> {
  if (await isDirectory(modelPath)) {
    if (await exists(path.join(modelPath, 'model.json'))) return describeTfjs(path.join(modelPath, 'model.json'));
    if (await exists(path.join(modelPath, 'model.onnx'))) return describeOnnxFile(path.join(modelPath, 'model.onnx'));
    return describeSafetensors(modelPath);
  }
  if (modelPath.endsWith('.onnx')) return describeOnnxFile(modelPath);
  if (modelPath.endsWith('.json') && !/\.index\.json$/i.test(modelPath)) return describeTfjs(modelPath);
  return describeSafetensors(modelPath);
}
