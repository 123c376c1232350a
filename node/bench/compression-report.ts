// The pure half of `npm run bench:compression` (bench/compression.mjs): the issue's
// acceptance checks and the report (JSON shape, Markdown) from measured numbers. The
// script trains, exports and times; this module does arithmetic and text, and
// test/node/bench/compression-report.test.ts checks it on synthetic numbers.

import type { QuantizationSummary } from '../../shared/results.js';

export type CompressionVariant = 'fp32' | 'int8' | 'int8-dynamic' | 'pruned' | 'pruned-int8';
export const VARIANTS: readonly CompressionVariant[] = ['fp32', 'int8', 'int8-dynamic', 'pruned', 'pruned-int8'];

const LABEL: Record<CompressionVariant, string> = {
  fp32: 'fp32',
  int8: 'int8 (static QDQ)',
  'int8-dynamic': 'int8 (dynamic)',
  pruned: 'pruned 50% + 1 epoch',
  'pruned-int8': 'pruned 50% + 1 epoch, int8',
};

/** One exported model of one descendant depth, measured. */
export interface CompressionRow {
  depth: number;
  variant: CompressionVariant;
  params: number;
  /** Bytes of the .onnx file. */
  fileBytes: number;
  /** Test top-1 in onnxruntime (the full test split). */
  top1: number;
  /** Test top-1 of the same model in the training engine (fp32 and pruned models). */
  engineTop1?: number;
  /** Median milliseconds per forward pass in onnxruntime (CPU EP) at batch 1 and 64. */
  latencyMs: { b1: number; b64: number };
  /**
   * Median over the rounds of this model's time divided by the fp32 model's in the same
   * round: the paired comparison, steadier than a ratio of medians on a shared machine.
   */
  latencyVsFp32?: { b1: number; b64: number };
  quantization?: QuantizationSummary;
  /** onnx.checker.check_model(full_check=True): 'ok', the error, or null when not run. */
  checker?: string | null;
}

/** Weight-norm vs Taylor pruning of one depth: top-1 right after pruning and after the healing epoch. */
export interface ImportanceRow {
  depth: number;
  importance: 'weight' | 'taylor';
  top1Pruned: number;
  top1Healed: number;
}

export interface CompressionResult {
  command: string;
  date: string;
  /** The importance the pruned rows of the main table use. */
  importance: 'weight' | 'taylor';
  rows: CompressionRow[];
  importanceRows: ImportanceRow[];
  /** The unpruned descendant fine-tuned for the same extra epoch (the budget the pruned one had). */
  extraEpoch: { depth: number; top1: number }[];
  config: Record<string, unknown>;
  machine: Record<string, unknown>;
  loadAverage?: unknown;
  /** reusedPhases: training phases an earlier run of the same command had finished. */
  timings: { totalSeconds: number; phases: Record<string, number>; reusedPhases?: string[] };
  notes: string[];
}

export interface AcceptanceCheck {
  depth: number;
  claim: string;
  value: string;
  pass: boolean;
}

const points = (x: number) => `${x >= 0 ? '+' : ''}${(x * 100).toFixed(2)}`;
const pct = (x: number) => `${(x * 100).toFixed(2)}%`;

function rowOf(rows: CompressionRow[], depth: number, variant: CompressionVariant): CompressionRow | undefined {
  return rows.find((r) => r.depth === depth && r.variant === variant);
}

export function depthsOf(rows: CompressionRow[]): number[] {
  return [...new Set(rows.map((r) => r.depth))].sort((a, b) => a - b);
}

/** A model's latency relative to its fp32 export: the paired-round median when measured, else the ratio of medians. */
export function speedRatio(row: CompressionRow, fp: CompressionRow, batch: 'b1' | 'b64'): number {
  return row.latencyVsFp32?.[batch] ?? row.latencyMs[batch] / fp.latencyMs[batch];
}

/** The issue's "what it must show", per depth, from the measured rows. */
export function acceptance(rows: CompressionRow[]): AcceptanceCheck[] {
  const checks: AcceptanceCheck[] = [];
  for (const depth of depthsOf(rows)) {
    const fp = rowOf(rows, depth, 'fp32');
    const q = rowOf(rows, depth, 'int8');
    const pruned = rowOf(rows, depth, 'pruned');
    if (fp && q) {
      const share = q.fileBytes / fp.fileBytes;
      checks.push({ depth, claim: 'int8 file ≤ 30% of fp32', value: `${(share * 100).toFixed(1)}%`, pass: share <= 0.3 });
      checks.push({ depth, claim: 'int8 top-1 drop ≤ 1.0 point', value: `${points(q.top1 - fp.top1)} points vs fp32`, pass: fp.top1 - q.top1 <= 0.01 });
      const ratio = speedRatio(q, fp, 'b64');
      checks.push({ depth, claim: 'int8 batch-64 latency below fp32', value: `${q.latencyMs.b64.toFixed(2)} vs ${fp.latencyMs.b64.toFixed(2)} ms (${ratio.toFixed(2)}× in paired rounds)`, pass: ratio < 1 });
      if (q.checker !== undefined && q.checker !== null) checks.push({ depth, claim: 'int8 passes onnx.checker (full_check)', value: q.checker, pass: q.checker === 'ok' });
    }
    if (fp && pruned) {
      checks.push({ depth, claim: 'pruned 50% + 1 epoch within 2 points of the unpruned descendant', value: `${points(pruned.top1 - fp.top1)} points vs unpruned`, pass: fp.top1 - pruned.top1 <= 0.02 });
    }
  }
  return checks;
}

export const REQUIRED_KEYS = ['command', 'rows', 'importanceRows', 'machine'] as const;
export const REQUIRED_ROW_KEYS = ['depth', 'variant', 'params', 'fileBytes', 'top1', 'latencyMs'] as const;

/** Problems with a result object's shape (missing keys, unknown variants); empty when fine. */
export function checkResultShape(result: unknown): string[] {
  const problems: string[] = [];
  if (typeof result !== 'object' || result === null) return ['result is not an object'];
  const r = result as Record<string, unknown>;
  for (const key of REQUIRED_KEYS) if (!(key in r)) problems.push(`missing "${key}"`);
  const rows = Array.isArray(r.rows) ? (r.rows as Record<string, unknown>[]) : [];
  if (rows.length === 0) problems.push('no rows');
  rows.forEach((row, i) => {
    for (const key of REQUIRED_ROW_KEYS) if (!(key in row)) problems.push(`row ${i} lacks "${key}"`);
    if (!VARIANTS.includes(row.variant as CompressionVariant)) problems.push(`row ${i} has unknown variant ${JSON.stringify(row.variant)}`);
  });
  return problems;
}

function kib(bytes: number): string {
  return `${(bytes / 1024).toFixed(0)} KiB`;
}

/** The main table: every variant of every depth, against that depth's fp32 export. */
export function mainTable(rows: CompressionRow[]): string {
  const lines = [
    '| depth | model | parameters | ONNX file | of fp32 | test top-1 | vs fp32 | latency b=1 | latency b=64 | b=64 vs fp32 |',
    '| ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
  ];
  for (const depth of depthsOf(rows)) {
    const fp = rowOf(rows, depth, 'fp32');
    for (const variant of VARIANTS) {
      const r = rowOf(rows, depth, variant);
      if (!r) continue;
      const vs = fp && variant !== 'fp32' ? `${speedRatio(r, fp, 'b64').toFixed(2)}×` : '—';
      lines.push(`| ${depth} | ${LABEL[variant]} | ${r.params.toLocaleString('en-US')} | ${kib(r.fileBytes)} | ${fp ? `${((r.fileBytes / fp.fileBytes) * 100).toFixed(1)}%` : '—'} | ${pct(r.top1)} | ${fp && variant !== 'fp32' ? points(r.top1 - fp.top1) : '—'} | ${r.latencyMs.b1.toFixed(3)} ms | ${r.latencyMs.b64.toFixed(2)} ms | ${vs} |`);
    }
  }
  return lines.join('\n');
}

/** Weight-norm vs Taylor, with the unpruned model's extra-epoch reference. */
export function importanceTable(r: Pick<CompressionResult, 'rows' | 'importanceRows' | 'extraEpoch'>): string {
  const lines = [
    '| depth | unpruned | unpruned + 1 epoch | weight-norm: pruned | + 1 epoch | Taylor: pruned | + 1 epoch |',
    '| ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
  ];
  for (const depth of depthsOf(r.rows)) {
    const get = (importance: ImportanceRow['importance']) => r.importanceRows.find((x) => x.depth === depth && x.importance === importance);
    const w = get('weight');
    const t = get('taylor');
    const fp = rowOf(r.rows, depth, 'fp32');
    const extra = r.extraEpoch.find((x) => x.depth === depth);
    const cell = (x: number | undefined) => (x === undefined ? '—' : pct(x));
    lines.push(`| ${depth} | ${cell(fp?.engineTop1 ?? fp?.top1)} | ${cell(extra?.top1)} | ${cell(w?.top1Pruned)} | ${cell(w?.top1Healed)} | ${cell(t?.top1Pruned)} | ${cell(t?.top1Healed)} |`);
  }
  return lines.join('\n');
}

export interface MarkdownExtras {
  /** Setting and method in words. */
  recipe?: string[];
  discussion?: string[];
}

export function renderMarkdown(r: CompressionResult, extras: MarkdownExtras = {}): string {
  const checks = acceptance(r.rows);
  const m = r.machine;
  const out = [
    '# Smaller descendants: int8 ONNX and structured pruning',
    '',
    `Measured with \`${r.command}\` on ${r.date.slice(0, 10)} (${(r.timings.totalSeconds / 60).toFixed(0)} min${r.timings.reusedPhases?.length ? `, reusing ${r.timings.reusedPhases.length} training phases an earlier run of the same command had finished` : ''}), commit ${m.git ?? '?'}${m.gitDirty ? ' (with uncommitted changes)' : ''}.`,
    `Machine: ${m.cpu}, ${m.cores} cores, ${m.memoryGb} GiB, ${m.platform}; Node ${m.node}; onnxruntime-node ${m.onnxruntime}; training engine ${m.backend ?? '?'}.`,
    '',
    '## Every descendant: fp32, int8, pruned, pruned + int8',
    '',
    mainTable(r.rows),
    '',
    `Pruned rows: ${r.importance === 'taylor' ? 'first-order Taylor' : 'weight-norm'} importance, half the heads and half the MLP units of every block, then one epoch of fine-tuning. Test top-1 is onnxruntime's on the exported file. Latency: the median over interleaved rounds in which every model of a depth takes its turn; "b=64 vs fp32" is the median of the per-round ratios to the fp32 model, so load from other work on the machine hits both sides of each ratio alike.`,
    '',
    '## What the issue asks',
    '',
    '| depth | claim | measured | |',
    '| ---: | --- | --- | --- |',
    ...checks.map((c) => `| ${c.depth} | ${c.claim} | ${c.value} | ${c.pass ? 'yes' : '**no**'} |`),
    '',
    '## Which heads and units to drop',
    '',
    importanceTable(r),
    '',
    'Test top-1 in the training engine. "pruned": right after pruning, before any fine-tuning. "unpruned + 1 epoch": the unpruned descendant given the same extra epoch, the fair reference for what the pruned one had.',
  ];
  if (extras.discussion?.length) out.push('', '## Reading the numbers', '', ...extras.discussion.map((d) => `- ${d}`));
  if (extras.recipe?.length) out.push('', '## Setting', '', ...extras.recipe.map((d) => `- ${d}`));
  if (r.notes.length) out.push('', '## Notes', '', ...r.notes.map((n) => `- ${n}`));
  out.push('');
  return out.join('\n');
}
