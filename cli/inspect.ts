// `learngene inspect` as text: the studio backend's one inspect (node/studio/inspect.ts)
// says what a path is; this prints it. --json prints the same InspectResult.

import type { InspectResult, ModelInspection, ProvenanceInfo } from '../shared/api.js';
import { type ViTConfig, attnDim, mlpHidden } from '../shared/config.js';
import { formatInspectReport } from '../node/data/inspect.js';

function describeConfig(c: ViTConfig): string {
  // A pruned model's attention is heads × headDim wide (not dim) and its MLP any width.
  const heads = c.headDim === undefined ? `heads ${c.heads}` : `heads ${c.heads} × ${c.headDim} (attention ${attnDim(c)} wide)`;
  const mlp = Number.isInteger(c.mlpRatio) ? `mlp ×${c.mlpRatio}` : `mlp ${mlpHidden(c)} units`;
  return `ViT ${c.imageSize}×${c.imageSize}×${c.channels}, patch ${c.patchSize}, dim ${c.dim}, depth ${c.depth}, ${heads}, ${mlp}, ${c.pooling} pooling, GELU ${c.gelu}, LN eps ${c.layerNormEps}, ${c.numClasses} classes`;
}

function provenanceLines(provenance: ProvenanceInfo | undefined): string[] {
  if (!provenance) return [];
  return [
    `  made by: ${provenance.createdBy} at ${provenance.createdAt}`,
    ...Object.entries(provenance.inputs ?? {}).map(([name, input]) => `  ${name}: ${[input.path, input.format, input.sha256 ? `sha256 ${input.sha256.slice(0, 16)}…` : null, input.detail].filter(Boolean).join(' · ')}`),
  ];
}

function modelLines(d: ModelInspection): string[] {
  const lines = [`${d.artifact} ${d.path} (${d.format})`, `  sha256 ${d.sha256}`];
  if (d.config) lines.push(`  ${describeConfig(d.config)}`);
  if (d.params !== undefined) lines.push(`  parameters: ${d.params.toLocaleString('en-US')}`);
  if (d.onnx) {
    lines.push(`  onnx: opset ${d.onnx.opsets.map((o) => `${o.domain || 'ai.onnx'} ${o.version}`).join(', ')}, producer ${d.onnx.producer.name} ${d.onnx.producer.version}`);
    for (const input of d.onnx.inputs) lines.push(`  input ${input.name}: [${input.shape.join(', ')}] ${input.type ?? ''}`.trimEnd());
    for (const output of d.onnx.outputs) lines.push(`  output ${output.name}: [${output.shape.join(', ')}] ${output.type ?? ''}`.trimEnd());
  }
  if (d.tfjs) lines.push(`  tfjs graph model: ${d.tfjs.weights} weights in ${d.tfjs.shards.length} shard(s)`);
  if (d.classNames) lines.push(`  classes: ${d.classNames.join(', ')}`);
  if (d.preprocess) {
    const p = d.preprocess;
    lines.push(`  preprocess: ${p.imageSize}px, ${p.channels} channel(s), mean ${p.mean.map((m) => m.toFixed(4)).join('/')}, std ${p.std.map((s) => s.toFixed(4)).join('/')}`);
  }
  lines.push(...provenanceLines(d.provenance));
  if (d.metrics) lines.push(`  metrics: ${JSON.stringify(d.metrics)}`);
  for (const note of d.notes) lines.push(`  note: ${note}`);
  return lines;
}

export function formatInspection(result: InspectResult): string {
  switch (result.kind) {
    case 'model':
      return modelLines(result).join('\n');
    case 'learngene':
      return [
        `learngene ${result.path} (${result.learngeneKind.toUpperCase()})`,
        `  stages: ${result.stages.join(',')} (${result.stages.length} stage block${result.stages.length > 1 ? 's' : ''} from a ${result.config.depth}-layer Aux-Net)`,
        `  ${describeConfig(result.config)}`,
        `  parameters stored: ${result.params.toLocaleString('en-US')}${result.hasHead ? ' (head included)' : ' (no head)'}`,
        `  classes: ${result.classNames.join(', ')}`,
        ...provenanceLines(result.provenance),
        ...(result.metrics ? [`  metrics: ${JSON.stringify(result.metrics)}`] : []),
      ].join('\n');
    case 'dataset':
      return formatInspectReport(result.report);
  }
}
