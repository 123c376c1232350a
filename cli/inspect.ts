// `learngene inspect`: one command for models, learngenes and datasets.

import { promises as fs } from 'node:fs';
import path from 'node:path';
import { decodeSafetensors } from '../engine/io/safetensors.js';
import { decodeModel, isModelFile } from '../engine/io/model-file.js';
import { decodeLearngene } from '../engine/io/learngene-file.js';
import { LEARNGENE_FORMAT, learngeneParamCount } from '../engine/sws/learngene.js';
import { countParams } from '../engine/model/params.js';
import { formatInspectReport, inspectDataset } from '../node/data/inspect.js';
import { MODEL_FILE } from '../node/model-store.js';
import { type ViTConfig, attnDim, mlpHidden } from '../shared/config.js';
import { describeModelForInspect, type ModelDescription } from '../node/export/index.js';

export const LEARNGENE_FILE = 'learngene.safetensors';

function describeConfig(c: ViTConfig): string {
  // A pruned model's attention is heads × headDim wide (not dim) and its MLP any width.
  const heads = c.headDim === undefined ? `heads ${c.heads}` : `heads ${c.heads} × ${c.headDim} (attention ${attnDim(c)} wide)`;
  const mlp = Number.isInteger(c.mlpRatio) ? `mlp ×${c.mlpRatio}` : `mlp ${mlpHidden(c)} units`;
  return `ViT ${c.imageSize}×${c.imageSize}×${c.channels}, patch ${c.patchSize}, dim ${c.dim}, depth ${c.depth}, ${heads}, ${mlp}, ${c.pooling} pooling, GELU ${c.gelu}, LN eps ${c.layerNormEps}, ${c.numClasses} classes`;
}

async function safetensorsBehind(target: string): Promise<string | null> {
  const stat = await fs.stat(target).catch(() => null);
  if (!stat) return null;
  if (stat.isFile()) return target.endsWith('.safetensors') ? target : null;
  for (const name of [MODEL_FILE, LEARNGENE_FILE]) {
    const file = path.join(target, name);
    if (await fs.stat(file).then((s) => s.isFile(), () => false)) return file;
  }
  return null;
}

export async function inspectPath(target: string): Promise<{ text: string; json: unknown }> {
  const file = await safetensorsBehind(target);
  if (file) {
    const bytes = new Uint8Array(await fs.readFile(file));
    const { metadata } = decodeSafetensors(bytes, file);
    if (isModelFile(metadata)) {
      const { tensors, meta } = decodeModel(bytes, file);
      const params = countParams(tensors.values());
      const lines = [
        `model ${file}`,
        `  ${describeConfig(meta.config)}`,
        `  parameters: ${params.toLocaleString('en-US')}`,
        `  classes: ${meta.classNames.join(', ')}`,
        `  preprocess: ${meta.preprocess.imageSize}px, ${meta.preprocess.channels} channel(s), mean ${meta.preprocess.mean.map((m) => m.toFixed(4)).join('/')}, std ${meta.preprocess.std.map((s) => s.toFixed(4)).join('/')}`,
        `  made by: ${meta.provenance.createdBy} at ${meta.provenance.createdAt}`,
        ...Object.entries(meta.provenance.inputs ?? {}).map(([name, input]) => `  ${name}: ${[input.path, input.format, input.sha256 ? `sha256 ${input.sha256.slice(0, 16)}…` : null, input.detail].filter(Boolean).join(' · ')}`),
        ...(meta.metrics ? [`  metrics: ${JSON.stringify(meta.metrics)}`] : []),
      ];
      return { text: lines.join('\n'), json: { kind: 'model', file, params, ...meta } };
    }
    if (metadata.format === LEARNGENE_FORMAT) {
      const { learngene, meta } = decodeLearngene(bytes, file);
      const params = learngeneParamCount(learngene);
      const lines = [
        `learngene ${file} (${learngene.kind.toUpperCase()})`,
        `  stages: ${learngene.stages.join(',')} (${learngene.stages.length} stage block${learngene.stages.length > 1 ? 's' : ''} from a ${learngene.config.depth}-layer Aux-Net)`,
        `  ${describeConfig(learngene.config)}`,
        `  parameters stored: ${params.toLocaleString('en-US')}${learngene.tensors.has('head.weight') ? ' (head included)' : ' (no head)'}`,
        `  classes: ${meta.classNames.join(', ')}`,
        `  made by: ${meta.provenance.createdBy} at ${meta.provenance.createdAt}`,
        ...Object.entries(meta.provenance.inputs ?? {}).map(([name, input]) => `  ${name}: ${[input.path, input.format, input.sha256 ? `sha256 ${input.sha256.slice(0, 16)}…` : null, input.detail].filter(Boolean).join(' · ')}`),
        ...(meta.metrics ? [`  metrics: ${JSON.stringify(meta.metrics)}`] : []),
      ];
      return { text: lines.join('\n'), json: { kind: 'learngene', file, params, learngeneKind: learngene.kind, stages: learngene.stages, config: learngene.config, ...meta } };
    }
  }
  if (file || (await looksLikeExport(target))) {
    const description = await describeModelForInspect(target);
    return { text: formatDescription(description), json: description };
  }
  const report = await inspectDataset(target);
  return { text: formatInspectReport(report), json: { kind: 'dataset', ...report } };
}

async function looksLikeExport(target: string): Promise<boolean> {
  if (target.endsWith('.onnx') || target.endsWith('model.json')) return true;
  const stat = await fs.stat(target).catch(() => null);
  if (!stat?.isDirectory()) return false;
  for (const name of ['model.onnx', 'model.json']) {
    if (await fs.stat(path.join(target, name)).then((s) => s.isFile(), () => false)) return true;
  }
  return false;
}

/** Exports and foreign checkpoints: format, config when known, provenance, notes. */
function formatDescription(d: ModelDescription): string {
  const lines = [`${d.kind} ${d.path} (${d.format})`, `  sha256 ${d.sha256}`];
  if (d.config) lines.push(`  ${describeConfig(d.config)}`);
  if (d.onnx) {
    lines.push(`  onnx: opset ${d.onnx.opsets.map((o) => `${o.domain || 'ai.onnx'} ${o.version}`).join(', ')}, producer ${d.onnx.producer.name} ${d.onnx.producer.version}`);
    for (const input of d.onnx.inputs) lines.push(`  input ${input.name}: [${input.shape.join(', ')}] ${input.type ?? ''}`.trimEnd());
    for (const output of d.onnx.outputs) lines.push(`  output ${output.name}: [${output.shape.join(', ')}] ${output.type ?? ''}`.trimEnd());
  }
  if (d.tfjs) lines.push(`  tfjs graph model: ${d.tfjs.weights} weights in ${d.tfjs.shards.length} shard(s)`);
  if (d.classNames) lines.push(`  classes: ${d.classNames.join(', ')}`);
  if (d.provenance) {
    lines.push(`  made by: ${d.provenance.createdBy} at ${d.provenance.createdAt}`);
    for (const [name, input] of Object.entries(d.provenance.inputs ?? {})) {
      lines.push(`  ${name}: ${[input.path, input.format, input.sha256 ? `sha256 ${input.sha256.slice(0, 16)}…` : null, input.detail].filter(Boolean).join(' · ')}`);
    }
  }
  for (const note of d.notes) lines.push(`  note: ${note}`);
  return lines.join('\n');
}
