// The pure half of `npm run bench:sws` (bench/sws.mjs): cost accounting, acceptance
// checks and the report (JSON shape, Markdown, SVG chart) from measured numbers. No
// training, no files: the script measures, this module does arithmetic and text, and
// test/node/bench/sws-report.test.ts checks it on synthetic numbers.

import type { ViTConfig } from '../../shared/config.js';
import { descendantParamCount, learngeneParamCount } from '../../shared/param-count.js';
import { distillTrainFlops, vitForwardFlops, vitTrainFlops } from '../../shared/flops.js';

export type BenchSetting = 'same-labels' | 'transfer';
export type BenchMethod = 'sws' | 'scratch' | 'tleg' | 'teacher-copy';
export const METHODS: readonly BenchMethod[] = ['sws', 'teacher-copy', 'tleg', 'scratch'];
export const SETTINGS: readonly BenchSetting[] = ['same-labels', 'transfer'];

/** One fine-tuned descendant (one method, one depth, one setting). */
export interface BenchRow {
  setting: BenchSetting;
  depth: number;
  method: BenchMethod;
  params: number;
  /** Test top-1 (fraction) after the first fine-tuning epoch and after the last. */
  top1_1ep: number;
  top1_final: number;
  top1ByEpoch: number[];
  /** The learning rate reported (scratch: the best of those tried). */
  lr: number;
  lrsTried?: { lr: number; top1_1ep: number; top1_final: number }[];
  epochs: number;
  head: 'inherited' | 'fresh';
  layersSource?: number[];
  /** Fine-tuning images seen by the reported run (one lr). */
  images: number;
  /** Training FLOPs of the reported run: images × FLOPs of a training step per image. */
  flops: number;
  /** Wall time of the reported run (training + per-epoch evaluation). */
  seconds: number;
  /** Wall time of every lr tried (scratch). */
  secondsAllLrs: number;
}

/** A pre-training phase (teacher, Aux-Net) with what it cost. */
export interface PretrainPhase {
  setting: BenchSetting;
  name: 'teacher' | 'aux-sws' | 'aux-tleg';
  config: ViTConfig;
  stages?: number[];
  epochs: number;
  trainImages: number;
  /** trainImages × epochs. */
  images: number;
  flopsPerImage: number;
  flops: number;
  seconds: number;
  /** Test top-1 of the trained network (teacher or Aux-Net). */
  top1: number | null;
  /** Learngene parameters stored (Aux-Nets). */
  learngeneParams?: number;
}

/** A longer scratch run with per-epoch evaluation (stopped at the target): how long scratch needs to reach SWS. */
export interface ScratchToTarget {
  setting: BenchSetting;
  depth: number;
  lr: number;
  /** SWS descendant's top-1 after N epochs at this depth. */
  target: number;
  capEpochs: number;
  trainImages: number;
  top1ByEpoch: number[];
  secondsByEpoch: number[];
  /** First epoch (1-based) at which scratch ≥ target, or null when it never got there within the cap. */
  reachedAtEpoch: number | null;
  /** Images, FLOPs and seconds to the target; a lower bound (the whole cap) when not reached. */
  images: number;
  flops: number;
  seconds: number;
  lowerBound: boolean;
}

export interface StoredParams {
  learngene: number;
  /** Every size pre-trained and stored separately. */
  separate: number;
  ratio: number;
  depths: number[];
  sizes: number;
}

/**
 * Parameters stored: one learngene (the S stage blocks, stem, and the head when kept)
 * against one pre-trained model per depth, as the paper counts them (from shapes only).
 */
export function storedParams(auxConfig: ViTConfig, stages: number[], depths: number[], keepHead: boolean): StoredParams {
  const learngene = learngeneParamCount(auxConfig, stages, 'sws', keepHead);
  const separate = depths.reduce((sum, depth) => sum + descendantParamCount(auxConfig, depth), 0);
  return { learngene, separate, ratio: separate / learngene, depths: depths.slice(), sizes: depths.length };
}

/** Images, FLOPs and seconds of a pre-training phase. */
export function pretrainCost(config: ViTConfig, trainImages: number, epochs: number, teacher: ViTConfig | null): { images: number; flopsPerImage: number; flops: number } {
  const flopsPerImage = teacher ? distillTrainFlops(config, teacher) : vitTrainFlops(config);
  const images = trainImages * epochs;
  return { images, flopsPerImage, flops: images * flopsPerImage };
}

/** Reads a per-epoch curve of a long scratch run against the SWS target (first epoch with top-1 ≥ target). */
export function scratchToTarget(options: {
  setting: BenchSetting;
  depth: number;
  lr: number;
  target: number;
  config: ViTConfig;
  trainImages: number;
  /** Epochs the run was allowed (it may stop early at the target); default: the epochs given. */
  capEpochs?: number;
  top1ByEpoch: number[];
  secondsByEpoch: number[];
}): ScratchToTarget {
  const { top1ByEpoch, secondsByEpoch, trainImages } = options;
  const index = top1ByEpoch.findIndex((top1) => top1 >= options.target);
  const epochs = index >= 0 ? index + 1 : top1ByEpoch.length;
  const images = epochs * trainImages;
  return {
    setting: options.setting,
    depth: options.depth,
    lr: options.lr,
    target: options.target,
    capEpochs: options.capEpochs ?? top1ByEpoch.length,
    trainImages,
    top1ByEpoch: top1ByEpoch.slice(),
    secondsByEpoch: secondsByEpoch.slice(),
    reachedAtEpoch: index >= 0 ? index + 1 : null,
    images,
    flops: images * vitTrainFlops(options.config),
    seconds: secondsByEpoch.slice(0, epochs).reduce((a, b) => a + b, 0),
    lowerBound: index < 0,
  };
}

export interface CostSummary {
  setting: BenchSetting;
  /** Depths where scratch-to-target was measured; both sides are summed over these. */
  depths: number[];
  learngene: { flops: number; seconds: number };
  teacher: { flops: number; seconds: number };
  swsFinetune: { flops: number; seconds: number };
  scratch: { flops: number; seconds: number; lowerBound: boolean };
  /** scratch FLOPs / (Aux-Net distillation + SWS fine-tuning FLOPs); "≥" when scratch never reached the target somewhere. */
  costRatio: number;
  /** The same with the teacher's training added to the SWS side. */
  costRatioWithTeacher: number;
  /** scratch seconds / (Aux-Net + SWS fine-tuning seconds). */
  wallRatio: number;
  wallRatioWithTeacher: number;
  lowerBound: boolean;
  /**
   * Sizes after which the learngene pays for itself in FLOPs: learngene / (mean per-size
   * scratch-to-target − mean per-size SWS fine-tuning), over the measured depths; null
   * when fine-tuning is not cheaper than scratch per size.
   */
  breakEvenSizes: number | null;
}

/**
 * "Learngene + fine-tune every size" vs "scratch each size to the same accuracy", over
 * the depths where scratch-to-target was measured. The whole learngene cost is charged
 * to those depths (not shared with sizes not counted), which favours scratch.
 */
export function costSummary(setting: BenchSetting, phases: PretrainPhase[], rows: BenchRow[], targets: ScratchToTarget[]): CostSummary | null {
  const mine = targets.filter((t) => t.setting === setting);
  if (mine.length === 0) return null;
  const depths = mine.map((t) => t.depth);
  const phase = (name: PretrainPhase['name']) => phases.find((p) => p.setting === setting && p.name === name);
  const aux = phase('aux-sws');
  const teacher = phase('teacher');
  const sws = rows.filter((r) => r.setting === setting && r.method === 'sws' && depths.includes(r.depth));
  const sum = <T>(items: T[], f: (x: T) => number) => items.reduce((a, x) => a + f(x), 0);
  const learngene = { flops: aux?.flops ?? 0, seconds: aux?.seconds ?? 0 };
  const teacherCost = { flops: teacher?.flops ?? 0, seconds: teacher?.seconds ?? 0 };
  const swsFinetune = { flops: sum(sws, (r) => r.flops), seconds: sum(sws, (r) => r.seconds) };
  const lowerBound = mine.some((t) => t.lowerBound);
  const scratch = { flops: sum(mine, (t) => t.flops), seconds: sum(mine, (t) => t.seconds), lowerBound };
  const swsFlops = learngene.flops + swsFinetune.flops;
  const swsSeconds = learngene.seconds + swsFinetune.seconds;
  const savingPerSize = (scratch.flops - swsFinetune.flops) / depths.length;
  return {
    setting,
    depths,
    learngene,
    teacher: teacherCost,
    swsFinetune,
    scratch,
    costRatio: scratch.flops / swsFlops,
    costRatioWithTeacher: scratch.flops / (swsFlops + teacherCost.flops),
    wallRatio: scratch.seconds / swsSeconds,
    wallRatioWithTeacher: scratch.seconds / (swsSeconds + teacherCost.seconds),
    lowerBound,
    breakEvenSizes: savingPerSize > 0 ? learngene.flops / savingPerSize : null,
  };
}

export interface AcceptanceCheck {
  id: string;
  text: string;
  pass: boolean;
  detail: string;
}

const pts = (x: number) => `${x >= 0 ? '+' : ''}${(x * 100).toFixed(2)}`;

/** The issue's acceptance criteria, checked on the rows of each setting. */
export function acceptance(rows: BenchRow[], stored: StoredParams, scratchLrCount: number): AcceptanceCheck[] {
  const checks: AcceptanceCheck[] = [];
  for (const setting of SETTINGS) {
    const get = (depth: number, method: BenchMethod) => rows.find((r) => r.setting === setting && r.depth === depth && r.method === method);
    const depths = [...new Set(rows.filter((r) => r.setting === setting && r.method === 'sws').map((r) => r.depth))].sort((a, b) => a - b);
    if (depths.length === 0) continue;
    const margins = (method: BenchMethod, key: 'top1_1ep' | 'top1_final') =>
      depths.map((d) => ({ depth: d, margin: (get(d, 'sws')?.[key] ?? NaN) - (get(d, method)?.[key] ?? NaN) })).filter((m) => Number.isFinite(m.margin));
    const describe = (ms: { depth: number; margin: number }[]) => ms.map((m) => `d${m.depth} ${pts(m.margin)}`).join(', ');
    const s1 = margins('scratch', 'top1_1ep');
    const sN = margins('scratch', 'top1_final');
    const tc = margins('teacher-copy', 'top1_final');
    checks.push({
      id: `${setting}:sws-vs-scratch-1ep`,
      text: `${setting}: SWS above the best scratch by ≥ 5 points after 1 epoch at every depth`,
      pass: s1.length > 0 && s1.every((m) => m.margin >= 0.05),
      detail: describe(s1),
    });
    checks.push({
      id: `${setting}:sws-vs-scratch-final`,
      text: `${setting}: SWS above the best scratch after N epochs at every depth`,
      pass: sN.length > 0 && sN.every((m) => m.margin > 0),
      detail: describe(sN),
    });
    if (tc.length > 0) {
      checks.push({
        id: `${setting}:sws-vs-teacher-copy`,
        text: `${setting}: SWS no more than 1 point below teacher-copy after N epochs at any depth (aim: ahead)`,
        pass: tc.every((m) => m.margin >= -0.01),
        detail: `${describe(tc)}; ahead at ${tc.filter((m) => m.margin > 0).length} of ${tc.length} depths`,
      });
    }
  }
  checks.push({
    id: 'stored-params',
    text: 'stored-parameter ratio ≥ 20× with ≥ 10 sizes counted',
    pass: stored.sizes >= 10 && stored.ratio >= 20,
    detail: `${stored.ratio.toFixed(1)}× over ${stored.sizes} sizes (depths ${stored.depths[0]}–${stored.depths.at(-1)})`,
  });
  checks.push({ id: 'scratch-lrs', text: 'scratch gets its best learning rate of ≥ 2 tried', pass: scratchLrCount >= 2, detail: `${scratchLrCount} tried per depth` });
  return checks;
}

/** What bench/results/sws-fashion-mnist.json holds. */
export interface SwsBenchResult {
  command: string;
  mode: 'full' | 'quick';
  date: string;
  seeds: { data: number; init: number };
  rows: BenchRow[];
  stored_params_ratio: number;
  /** Same-labels setting; see costs for both settings and the wall-time ratios. */
  cost_ratio: number | null;
  cost_ratio_lower_bound: boolean;
  storedParams: StoredParams;
  /** The depths actually fine-tuned, counted the same way. */
  storedParamsTrainedDepths: StoredParams;
  pretrain: PretrainPhase[];
  scratchToTarget: ScratchToTarget[];
  costs: CostSummary[];
  acceptance: AcceptanceCheck[];
  config: Record<string, unknown>;
  timings: { totalSeconds: number; phases: Record<string, number> };
  machine: Record<string, unknown>;
  loadAverage: { start: number[]; end: number[]; samples?: { at: string; load1: number }[] };
  notes: string[];
}

/** The keys the issue requires of the JSON report (and of each row). */
export const REQUIRED_KEYS = ['command', 'rows', 'stored_params_ratio', 'cost_ratio'] as const;
export const REQUIRED_ROW_KEYS = ['setting', 'depth', 'method', 'params', 'top1_1ep', 'top1_final'] as const;

/** Problems with a result object's shape (empty when it has every required key with the right types). */
export function checkResultShape(result: unknown): string[] {
  const problems: string[] = [];
  if (typeof result !== 'object' || result === null) return ['not an object'];
  const r = result as Record<string, unknown>;
  for (const key of REQUIRED_KEYS) if (!(key in r)) problems.push(`missing "${key}"`);
  if (typeof r.command !== 'string') problems.push('"command" is not a string');
  if (typeof r.stored_params_ratio !== 'number') problems.push('"stored_params_ratio" is not a number');
  if (r.cost_ratio !== null && typeof r.cost_ratio !== 'number') problems.push('"cost_ratio" is neither a number nor null');
  if (!Array.isArray(r.rows)) return [...problems, '"rows" is not an array'];
  r.rows.forEach((row: Record<string, unknown>, i: number) => {
    for (const key of REQUIRED_ROW_KEYS) if (!(key in row)) problems.push(`rows[${i}] misses "${key}"`);
    if (!SETTINGS.includes(row.setting as BenchSetting)) problems.push(`rows[${i}].setting is ${JSON.stringify(row.setting)}`);
    if (!METHODS.includes(row.method as BenchMethod)) problems.push(`rows[${i}].method is ${JSON.stringify(row.method)}`);
    for (const key of ['depth', 'params', 'top1_1ep', 'top1_final']) if (typeof row[key] !== 'number') problems.push(`rows[${i}].${key} is not a number`);
  });
  return problems;
}

// ---------------------------------------------------------------------------- Markdown

const pct = (x: number | null | undefined, digits = 2) => (x === null || x === undefined || !Number.isFinite(x) ? '—' : (x * 100).toFixed(digits));
const thousands = (n: number) => n.toLocaleString('en-US');
const sci = (n: number) => (n === 0 ? '0' : `${(n / 10 ** Math.floor(Math.log10(n))).toFixed(2)}e${Math.floor(Math.log10(n))}`);
const secs = (s: number) => (s >= 120 ? `${(s / 60).toFixed(1)} min` : `${s.toFixed(0)} s`);
const label: Record<BenchMethod, string> = { sws: 'SWS', 'teacher-copy': 'teacher-copy', tleg: 'TLEG', scratch: 'scratch (best lr)' };

/** The results table of one setting: one line per depth, methods side by side. */
export function settingTable(rows: BenchRow[], setting: BenchSetting): string {
  const mine = rows.filter((r) => r.setting === setting);
  const depths = [...new Set(mine.map((r) => r.depth))].sort((a, b) => a - b);
  const methods = METHODS.filter((m) => mine.some((r) => r.method === m));
  const epochs = mine[0]?.epochs ?? 0;
  const head = ['depth', 'params', ...methods.map((m) => `${label[m]} 1 ep`), ...methods.map((m) => `${label[m]} ${epochs} ep`), 'SWS − scratch 1 ep', `SWS − scratch ${epochs} ep`, `SWS − teacher-copy ${epochs} ep`];
  const lines = [`| ${head.join(' | ')} |`, `|${head.map((_, i) => (i === 0 ? '---:' : '---:')).join('|')}|`];
  for (const depth of depths) {
    const get = (m: BenchMethod) => mine.find((r) => r.depth === depth && r.method === m);
    const diff = (m: BenchMethod, key: 'top1_1ep' | 'top1_final') => {
      const a = get('sws')?.[key];
      const b = get(m)?.[key];
      return a === undefined || b === undefined ? '—' : pts(a - b);
    };
    const scratch = get('scratch');
    const scratchCell = (key: 'top1_1ep' | 'top1_final') => (scratch ? `${pct(scratch[key])}${key === 'top1_final' && scratch.lrsTried && scratch.lrsTried.length > 1 ? ` (lr ${scratch.lr})` : ''}` : '—');
    lines.push(`| ${[
      String(depth),
      thousands(get('sws')?.params ?? get('scratch')?.params ?? 0),
      ...methods.map((m) => (m === 'scratch' ? scratchCell('top1_1ep') : pct(get(m)?.top1_1ep))),
      ...methods.map((m) => (m === 'scratch' ? scratchCell('top1_final') : pct(get(m)?.top1_final))),
      diff('scratch', 'top1_1ep'),
      diff('scratch', 'top1_final'),
      diff('teacher-copy', 'top1_final'),
    ].join(' | ')} |`);
  }
  return lines.join('\n');
}

export interface MarkdownExtras {
  /** Paragraphs of interpretation written from the numbers (by the bench script). */
  discussion?: string[];
  /** What was tried before settling on this recipe (tuning runs outside this run). */
  tried?: string[];
  /** One line per plan item (data subsets, epochs, lrs) as the run used them. */
  recipe?: string[];
}

export function renderMarkdown(r: SwsBenchResult, extras: MarkdownExtras = {}): string {
  const m = r.machine;
  const lines: string[] = [];
  lines.push(`# SWS learngenes on Fashion-MNIST (${r.mode} run, ${r.date.slice(0, 10)})`, '');
  lines.push(`Command: \`${r.command}\` · seeds: data ${r.seeds.data}, init ${r.seeds.init} · total ${secs(r.timings.totalSeconds)} · ${String(m.cpu ?? '?')}, ${String(m.cores ?? '?')} cores, backend ${String(m.backend ?? '?')} · load average ${r.loadAverage.start.join(' ')} at start, ${r.loadAverage.end.join(' ')} at end · git ${String(m.git ?? '?')}${m.gitDirty ? ' (uncommitted changes)' : ''}`, '');
  if (extras.recipe?.length) {
    lines.push('## Recipe', '');
    for (const line of extras.recipe) lines.push(`- ${line}`);
    lines.push('');
  }
  lines.push('## Pre-training', '', '| setting | network | data | epochs | images | FLOPs | wall | test top-1 |', '|---|---|---:|---:|---:|---:|---:|---:|');
  for (const p of r.pretrain) {
    const what = p.name === 'teacher' ? `teacher ViT depth ${p.config.depth}, dim ${p.config.dim}` : `${p.name === 'aux-sws' ? 'SWS' : 'TLEG'} Aux-Net, stages ${p.stages?.join(',')} (learngene ${thousands(p.learngeneParams ?? 0)} params)`;
    lines.push(`| ${p.setting} | ${what} | ${thousands(p.trainImages)} | ${p.epochs} | ${thousands(p.images)} | ${sci(p.flops)} | ${secs(p.seconds)} | ${pct(p.top1)} |`);
  }
  lines.push('');
  for (const setting of SETTINGS) {
    if (!r.rows.some((row) => row.setting === setting)) continue;
    lines.push(`## Descendants: ${setting}`, '', 'Test top-1 (%) after 1 epoch and after N epochs of fine-tuning; differences in points.', '', settingTable(r.rows, setting), '');
    const scratchRows = r.rows.filter((row) => row.setting === setting && row.method === 'scratch' && row.lrsTried);
    if (scratchRows.length > 0) {
      lines.push(`Scratch, every lr tried (top-1 after 1 / ${scratchRows[0]!.epochs} epochs): ${scratchRows.map((row) => `d${row.depth}: ${row.lrsTried!.map((t) => `${t.lr} → ${pct(t.top1_1ep, 1)} / ${pct(t.top1_final, 1)}`).join(', ')}`).join('; ')}.`, '');
    }
  }
  lines.push('## Parameters stored', '');
  const s = r.storedParams;
  lines.push(`One SWS learngene: ${thousands(s.learngene)} parameters. ${s.sizes} sizes (depths ${s.depths.join(', ')}) pre-trained and stored separately: ${thousands(s.separate)}. **stored_params_ratio = ${s.ratio.toFixed(1)}×**. For the ${r.storedParamsTrainedDepths.sizes} depths fine-tuned here (${r.storedParamsTrainedDepths.depths.join(', ')}): ${r.storedParamsTrainedDepths.ratio.toFixed(1)}×. Counted from shapes (shared/param-count.ts).`, '');
  lines.push('## Training cost', '');
  lines.push('FLOPs per image from shapes (shared/flops.ts: matrix products only, a multiply-add = 2 FLOPs, a training step = 3× the forward pass; an Aux-Net step also pays the teacher\'s forward pass). "SWS" = Aux-Net distillation + fine-tuning the counted sizes N epochs; "scratch" = each counted size trained from scratch (its best lr) until its test top-1 first reaches the SWS descendant\'s, read off a longer run evaluated every epoch.', '');
  if (r.scratchToTarget.length > 0) {
    lines.push('| setting | depth | SWS target | scratch lr | scratch top-1 by epoch | reached at epoch | scratch images | scratch FLOPs | scratch wall |', '|---|---:|---:|---:|---|---:|---:|---:|---:|');
    for (const t of r.scratchToTarget) {
      lines.push(`| ${t.setting} | ${t.depth} | ${pct(t.target)} | ${t.lr} | ${t.top1ByEpoch.map((x) => pct(x, 1)).join(' ')} | ${t.reachedAtEpoch ?? `not within ${t.capEpochs}`} | ${t.lowerBound ? '≥ ' : ''}${thousands(t.images)} | ${t.lowerBound ? '≥ ' : ''}${sci(t.flops)} | ${t.lowerBound ? '≥ ' : ''}${secs(t.seconds)} |`);
    }
    lines.push('');
  }
  for (const c of r.costs) {
    const ge = c.lowerBound ? '≥ ' : '';
    lines.push(`- **${c.setting}, depths ${c.depths.join(', ')}**: SWS = learngene ${sci(c.learngene.flops)} FLOPs (${secs(c.learngene.seconds)}) + fine-tuning ${sci(c.swsFinetune.flops)} (${secs(c.swsFinetune.seconds)}); scratch to the same accuracy ${ge}${sci(c.scratch.flops)} FLOPs (${ge}${secs(c.scratch.seconds)}). **cost_ratio (scratch / SWS) = ${ge}${c.costRatio.toFixed(2)}×** in FLOPs, ${ge}${c.wallRatio.toFixed(2)}× in wall time; counting the teacher's training too (${sci(c.teacher.flops)} FLOPs, ${secs(c.teacher.seconds)}): ${ge}${c.costRatioWithTeacher.toFixed(2)}× / ${ge}${c.wallRatioWithTeacher.toFixed(2)}×. Per size, fine-tuning a descendant costs ${sci(c.swsFinetune.flops / c.depths.length)} FLOPs against ${ge}${sci(c.scratch.flops / c.depths.length)} for scratch${c.breakEvenSizes === null ? ', so the learngene never pays for itself here' : `: the learngene pays for itself (in FLOPs, teacher not counted) from ${c.lowerBound ? 'at most ' : ''}${Math.ceil(c.breakEvenSizes)} sizes on`}.`);
  }
  if (r.costs.length > 0) lines.push('');
  lines.push('## Acceptance (issue 8)', '', '| criterion | result | numbers |', '|---|---|---|');
  for (const a of r.acceptance) lines.push(`| ${a.text} | ${a.pass ? 'met' : '**missed**'} | ${a.detail} |`);
  lines.push('');
  if (extras.discussion?.length) {
    lines.push('## What the numbers say', '');
    for (const p of extras.discussion) lines.push(p, '');
  }
  if (extras.tried?.length) {
    lines.push('## What was tried', '');
    for (const p of extras.tried) lines.push(`- ${p}`);
    lines.push('');
  }
  if (r.notes.length > 0) {
    lines.push('## Notes', '');
    for (const n of r.notes) lines.push(`- ${n}`);
    lines.push('');
  }
  lines.push('Chart: `sws-fashion-mnist.png`. Raw numbers (every row, per-epoch curves, timings, machine): `sws-fashion-mnist.json`.', '');
  return lines.join('\n');
}

// ---------------------------------------------------------------------------- SVG chart

export const METHOD_STYLE: Record<BenchMethod, { color: string; dash: string; marker: 'circle' | 'square' | 'diamond' | 'triangle' }> = {
  sws: { color: '#d62728', dash: '', marker: 'circle' },
  'teacher-copy': { color: '#1f77b4', dash: '6 3', marker: 'square' },
  tleg: { color: '#2ca02c', dash: '2 3', marker: 'diamond' },
  scratch: { color: '#555555', dash: '8 3 2 3', marker: 'triangle' },
};

function escapeXml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

function marker(kind: 'circle' | 'square' | 'diamond' | 'triangle', x: number, y: number, color: string): string {
  const r = 4.5;
  switch (kind) {
    case 'circle':
      return `<circle cx="${x.toFixed(1)}" cy="${y.toFixed(1)}" r="${r}" fill="${color}"/>`;
    case 'square':
      return `<rect x="${(x - r).toFixed(1)}" y="${(y - r).toFixed(1)}" width="${2 * r}" height="${2 * r}" fill="${color}"/>`;
    case 'diamond':
      return `<path d="M${x.toFixed(1)} ${(y - r - 1).toFixed(1)} L${(x + r + 1).toFixed(1)} ${y.toFixed(1)} L${x.toFixed(1)} ${(y + r + 1).toFixed(1)} L${(x - r - 1).toFixed(1)} ${y.toFixed(1)} Z" fill="${color}"/>`;
    case 'triangle':
      return `<path d="M${x.toFixed(1)} ${(y - r - 1).toFixed(1)} L${(x + r + 1).toFixed(1)} ${(y + r).toFixed(1)} L${(x - r - 1).toFixed(1)} ${(y + r).toFixed(1)} Z" fill="${color}"/>`;
  }
}

/** "Nice" axis bounds and ticks (in percent) around [lo, hi]. */
function axisTicks(lo: number, hi: number): { min: number; max: number; ticks: number[] } {
  const span = Math.max(hi - lo, 1);
  const step = span > 40 ? 10 : span > 16 ? 5 : span > 6 ? 2 : 1;
  const min = Math.floor((lo - span * 0.04) / step) * step;
  const max = Math.ceil((hi + span * 0.04) / step) * step;
  const ticks: number[] = [];
  for (let t = min; t <= max + 1e-9; t += step) ticks.push(Math.round(t * 10) / 10);
  return { min, max, ticks };
}

/**
 * Top-1 vs depth per method: one column per setting, the top row after N epochs, the
 * bottom row after 1 epoch. Plain SVG (DejaVu Sans), sized for a README at 100%.
 */
export function renderSvg(r: Pick<SwsBenchResult, 'rows'> & { title?: string }): string {
  const settings = SETTINGS.filter((s) => r.rows.some((row) => row.setting === s));
  const rowsOfPanels: { key: 'top1_final' | 'top1_1ep'; title: (epochs: number) => string }[] = [
    { key: 'top1_final', title: (n) => `after ${n} epoch${n === 1 ? '' : 's'}` },
    { key: 'top1_1ep', title: () => 'after 1 epoch' },
  ];
  const panelW = 430;
  const panelH = 270;
  const left = 62;
  const top = 64;
  const gapX = 70;
  const gapY = 78;
  const width = left + settings.length * panelW + (settings.length - 1) * gapX + 24;
  const height = top + rowsOfPanels.length * panelH + (rowsOfPanels.length - 1) * gapY + 86;
  const out: string[] = [];
  out.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="DejaVu Sans, Verdana, sans-serif">`);
  out.push(`<rect width="${width}" height="${height}" fill="#ffffff"/>`);
  out.push(`<text x="${width / 2}" y="30" text-anchor="middle" font-size="19" font-weight="bold" fill="#222">${escapeXml(r.title ?? 'Fashion-MNIST: test top-1 of descendants vs depth')}</text>`);
  settings.forEach((setting, col) => {
    const mine = r.rows.filter((row) => row.setting === setting);
    const epochs = mine[0]?.epochs ?? 0;
    const depths = [...new Set(mine.map((row) => row.depth))].sort((a, b) => a - b);
    const dMin = depths[0] ?? 0;
    const dMax = depths.at(-1) ?? 1;
    rowsOfPanels.forEach((panel, rowIndex) => {
      const x0 = left + col * (panelW + gapX);
      const y0 = top + rowIndex * (panelH + gapY);
      const values = mine.map((row) => row[panel.key] * 100).filter(Number.isFinite);
      const { min, max, ticks } = axisTicks(Math.min(...values), Math.max(...values));
      const px = (d: number) => x0 + 16 + ((d - dMin) / Math.max(1, dMax - dMin)) * (panelW - 32);
      const py = (v: number) => y0 + panelH - ((v - min) / (max - min)) * panelH;
      out.push(`<text x="${x0 + panelW / 2}" y="${y0 - 12}" text-anchor="middle" font-size="15" fill="#222">${escapeXml(`${setting === 'same-labels' ? 'same labels (10 classes)' : 'transfer (learngene 0–4 → 5–9)'} · ${panel.title(epochs)}`)}</text>`);
      out.push(`<rect x="${x0}" y="${y0}" width="${panelW}" height="${panelH}" fill="#fafafa" stroke="#999"/>`);
      for (const t of ticks) {
        const y = py(t);
        out.push(`<line x1="${x0}" x2="${x0 + panelW}" y1="${y.toFixed(1)}" y2="${y.toFixed(1)}" stroke="#e2e2e2"/>`);
        out.push(`<text x="${x0 - 7}" y="${(y + 4).toFixed(1)}" text-anchor="end" font-size="12" fill="#444">${t}</text>`);
      }
      for (const d of depths) {
        out.push(`<line x1="${px(d).toFixed(1)}" x2="${px(d).toFixed(1)}" y1="${y0 + panelH}" y2="${y0 + panelH + 5}" stroke="#666"/>`);
        out.push(`<text x="${px(d).toFixed(1)}" y="${y0 + panelH + 19}" text-anchor="middle" font-size="12" fill="#444">${d}</text>`);
      }
      out.push(`<text x="${x0 + panelW / 2}" y="${y0 + panelH + 38}" text-anchor="middle" font-size="13" fill="#333">descendant depth (layers)</text>`);
      out.push(`<text transform="translate(${x0 - 44} ${y0 + panelH / 2}) rotate(-90)" text-anchor="middle" font-size="13" fill="#333">test top-1 (%)</text>`);
      for (const method of [...METHODS].reverse()) {
        const pts = mine.filter((row) => row.method === method).sort((a, b) => a.depth - b.depth);
        if (pts.length === 0) continue;
        const style = METHOD_STYLE[method];
        const d = pts.map((p, i) => `${i === 0 ? 'M' : 'L'}${px(p.depth).toFixed(1)} ${py(p[panel.key] * 100).toFixed(1)}`).join(' ');
        out.push(`<path d="${d}" fill="none" stroke="${style.color}" stroke-width="${method === 'sws' ? 3 : 2}"${style.dash ? ` stroke-dasharray="${style.dash}"` : ''}/>`);
        for (const p of pts) out.push(marker(style.marker, px(p.depth), py(p[panel.key] * 100), style.color));
      }
    });
  });
  // Legend, centred under the panels.
  const present = METHODS.filter((m) => r.rows.some((row) => row.method === m));
  const itemW = 190;
  const lx0 = width / 2 - (present.length * itemW) / 2;
  const ly = height - 28;
  present.forEach((method, i) => {
    const style = METHOD_STYLE[method];
    const x = lx0 + i * itemW;
    out.push(`<line x1="${x}" x2="${x + 40}" y1="${ly}" y2="${ly}" stroke="${style.color}" stroke-width="${method === 'sws' ? 3 : 2}"${style.dash ? ` stroke-dasharray="${style.dash}"` : ''}/>`);
    out.push(marker(style.marker, x + 20, ly, style.color));
    out.push(`<text x="${x + 48}" y="${ly + 5}" font-size="14" fill="#222">${escapeXml(label[method])}</text>`);
  });
  out.push('</svg>');
  return out.join('\n');
}

/** FLOPs per image of a descendant's training step (for rows). */
export function finetuneFlopsPerImage(config: ViTConfig): number {
  return vitTrainFlops(config);
}

export { vitForwardFlops };
