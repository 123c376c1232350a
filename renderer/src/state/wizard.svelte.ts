// The wizard: what the user chose on each step, the requests those choices make, and
// the same validation messages the job service would give (shared/api.ts).
import { DEFAULT_OPTIM, defaultViTConfig, type OptimConfig, type ValidationIssue, type ViTConfig } from '../../../shared/config.js';
import { validateRequest, type BaselineMethod, type CompareRequest, type DataSpec, type DistillRequest, type EvaluateRequest, type ExportRequest, type FinetuneRequest, type GrowRequest, type ImportanceKind, type InspectResult, type PruneRequest, type SubmitOptions, type TrainRequest } from '../../../shared/api.js';
import { backendFor, estimateCost, trainImages, trainingFlops, type CostEstimate } from '../../../shared/cost.js';
import { defaultLayersSource } from '../../../engine/sws/layers-source.js';
import { api } from '../lib/api.js';
import { joinPath, baseName, slug } from '../lib/paths.js';
import { presetSettings, type DistillSettings, type PresetName } from '../lib/presets.js';
import { isResultOf, type JobResults } from '../../../shared/results.js';
import type { JobKind } from '../../../shared/events.js';
import { jobs } from './jobs.svelte.js';
import { studio } from './studio.svelte.js';

export type StepId = 'data' | 'teacher' | 'stages' | 'distill' | 'descendants' | 'evaluate' | 'export';

export const STEPS: { id: StepId; title: string; hint: string }[] = [
  { id: 'data', title: 'Data', hint: 'Images to train and evaluate on' },
  { id: 'teacher', title: 'Teacher', hint: 'A trained ViT to learn from' },
  { id: 'stages', title: 'Stages', hint: 'The Aux-Net and its descendants' },
  { id: 'distill', title: 'Distill', hint: 'Train the learngene' },
  { id: 'descendants', title: 'Descendants', hint: 'Grow, fine-tune, compare, prune' },
  { id: 'evaluate', title: 'Evaluate', hint: 'Mistakes, and your own images' },
  { id: 'export', title: 'Export', hint: 'ONNX (float or int8), TF.js, timm' },
];

export type DatasetInfo = Extract<InspectResult, { kind: 'dataset' }>;
export type ModelInfo = Extract<InspectResult, { kind: 'model' }>;
/** What the Export step offers for models: the request formats, and ONNX with int8 weights (a learngene goes out as 'sws-reference'). */
export type ExportFormat = Exclude<ExportRequest['format'], 'sws-reference'> | 'onnx-int8';
export const EXPORT_CHOICES: readonly ExportFormat[] = ['onnx', 'onnx-int8', 'tfjs', 'timm'];

export interface TeacherForm {
  depth: number;
  dim: number;
  heads: number;
  patchSize: number;
  imageSize: number;
  epochs: number;
  batchSize: number;
  lr: number;
  seed: number;
}

export interface FineTuneForm {
  epochs: number;
  batchSize: number;
  lr: number;
}

/** A model the Evaluate step explains: where it is and the data it is judged on. */
export interface Evaluable {
  path: string;
  label: string;
  data: DataSpec;
}

/** Grow → prune → fine-tune: which model, how much of it to keep, and how long to heal it. */
export interface PruneForm {
  model: string;
  headsKeep: number;
  mlpKeep: number;
  importance: ImportanceKind;
  epochs: number;
}

/** A model the studio made, as the Descendants and Export steps list it. */
export interface ProjectModel {
  path: string;
  label: string;
  detail: string;
  /** Made by pruning (not offered for pruning again). */
  pruned?: boolean;
}

/** Issues whose field starts with one of `prefixes` (a form section's own). */
export function issuesFor(issues: ValidationIssue[], ...fields: string[]): string[] {
  return issues.filter((i) => fields.some((f) => i.field === f || i.field.startsWith(f + '.'))).map((i) => i.message);
}

/** The result of a finished `kind` job, or null (not done, or no job). */
function doneResult<K extends JobKind>(id: string | null, kind: K): JobResults[K] | null {
  const view = jobs.view(id);
  return view?.status === 'done' && isResultOf(view.result, kind) ? view.result : null;
}

function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

class Wizard {
  step = $state<StepId>('data');

  // --- Data -------------------------------------------------------------------------
  dataPath = $state('');
  data = $state.raw<DatasetInfo | null>(null);
  dataBusy = $state<string | null>(null);
  dataError = $state<string | null>(null);
  valFraction = $state(0.1);
  limit = $state<number | null>(null);

  dataErrors = $derived(this.data ? this.data.report.problems.filter((p) => p.severity === 'error').length : 0);
  /** The image size most of the dataset has (the side of a square), or null. */
  dataImageSize = $derived.by(() => {
    const sizes = Object.entries(this.data?.report.imageSizes ?? {}).sort((a, b) => b[1] - a[1]);
    const top = sizes[0]?.[0];
    if (!top) return null;
    const [w, h] = top.split('x').map(Number);
    return Math.max(w ?? 0, h ?? 0) || null;
  });
  dataReady = $derived(this.data !== null && this.dataErrors === 0 && this.data.report.classes.length >= 2);

  // --- Teacher ----------------------------------------------------------------------
  teacherMode = $state<'pick' | 'train'>('pick');
  teacherPath = $state('');
  teacher = $state.raw<InspectResult | null>(null);
  teacherBusy = $state<string | null>(null);
  teacherError = $state<string | null>(null);
  teacherForm = $state<TeacherForm>({ depth: 2, dim: 32, heads: 2, patchSize: 4, imageSize: 28, epochs: 2, batchSize: 32, lr: 2e-3, seed: 0 });
  teacherJobId = $state<string | null>(null);

  teacherConfig = $derived.by<ViTConfig | null>(() => {
    const t = this.teacher;
    if (t && (t.kind === 'model' || t.kind === 'learngene') && t.config) return t.config;
    return null;
  });
  teacherParams = $derived.by<number | null>(() => {
    const t = this.teacher;
    return t && (t.kind === 'model' || t.kind === 'learngene') ? (t.params ?? null) : null;
  });

  // --- Stages -----------------------------------------------------------------------
  stages = $state<number[]>([1, 1]);
  depths = $state<number[]>([1, 2]);
  auxDim = $state<number | null>(null);
  auxHeads = $state<number | null>(null);

  /** The Aux-Net's config: the teacher's shape (or the teacher form's), its own width and depth. */
  auxConfig = $derived.by<ViTConfig>(() => {
    const base = this.teacherConfig ?? defaultViTConfig({
      depth: this.teacherForm.depth, dim: this.teacherForm.dim, heads: this.teacherForm.heads, patchSize: this.teacherForm.patchSize,
      imageSize: this.teacherForm.imageSize, channels: this.data?.report.channels === 3 ? 3 : 1,
      numClasses: Math.max(2, this.data?.report.classes.length ?? 10),
    });
    return {
      ...base,
      pooling: 'avg',
      dim: this.auxDim ?? base.dim,
      heads: this.auxHeads ?? base.heads,
      depth: this.stages.reduce((a, b) => a + b, 0),
      dropPath: this.distill.dropPath,
    };
  });
  layerMaps = $derived(this.depths.filter((d) => Number.isInteger(d) && d >= 1 && d <= 64).map((depth) => ({ depth, source: defaultLayersSource(this.stages, depth) })));

  // --- Distill ----------------------------------------------------------------------
  preset = $state<PresetName>('quick');
  distill = $state<DistillSettings>(presetSettings('quick'));
  backend = $state('auto');
  seed = $state(0);
  checkpointEvery = $state(0);
  distillTleg = $state(false);
  distillJobId = $state<string | null>(null);
  tlegJobId = $state<string | null>(null);

  // --- Descendants --------------------------------------------------------------------
  /** The descendants' data: the teacher's, or another dataset (transfer). */
  descendantData = $state<'same' | 'other'>('same');
  transferPath = $state('');
  transfer = $state.raw<DatasetInfo | null>(null);
  transferBusy = $state<string | null>(null);
  transferError = $state<string | null>(null);
  /** Class indices the descendants learn (null: every class of their dataset). */
  descendantClasses = $state<number[] | null>(null);
  baselines = $state<BaselineMethod[]>(['scratch']);
  fineTune = $state<FineTuneForm>({ epochs: 1, batchSize: 32, lr: 1e-3 });
  compareJobId = $state<string | null>(null);
  growJobIds = $state<string[]>([]);
  pruneForm = $state<PruneForm>({ model: '', headsKeep: 0.5, mlpKeep: 0.5, importance: 'weight', epochs: 1 });
  pruneJobId = $state<string | null>(null);
  pruneFinetuneJobId = $state<string | null>(null);

  // --- Evaluate ---------------------------------------------------------------------
  /** Evaluate jobs by model path. */
  evaluationJobIds = $state<Record<string, string>>({});

  // --- Export -----------------------------------------------------------------------
  exportSelected = $state<Record<string, boolean>>({});
  exportFormats = $state<Record<ExportFormat, boolean>>({ onnx: true, 'onnx-int8': false, tfjs: false, timm: false });
  /** Also the learngene, in the official SWS code's layout (to grow descendants with that PyTorch code). */
  exportLearngene = $state(false);
  exportJobIds = $state<string[]>([]);

  // --- Paths ------------------------------------------------------------------------
  projectDir = $derived(studio.project?.dir ?? '');
  teacherOut = $derived(joinPath(this.projectDir, 'teacher'));
  learngeneOut = $derived(joinPath(this.projectDir, 'learngene'));
  tlegOut = $derived(joinPath(this.projectDir, 'learngene-tleg'));
  /** One comparison: compare.json and descendants/<method>-d<depth>/ (compare-2 … for the next). */
  compareOut = $derived(joinPath(this.projectDir, 'compare'));

  // --- Requests and their validation -------------------------------------------------
  dataSpec = $derived<DataSpec>({
    ...(this.dataPath ? { path: this.dataPath } : {}),
    valFraction: this.valFraction,
    ...(this.limit ? { limit: this.limit } : {}),
    augment: { cropPadding: 0, horizontalFlip: false },
  });

  trainRequest = $derived<TrainRequest>({
    kind: 'train',
    data: this.dataSpec,
    out: this.teacherOut,
    model: {
      depth: this.teacherForm.depth, dim: this.teacherForm.dim, heads: this.teacherForm.heads, patchSize: this.teacherForm.patchSize,
      imageSize: this.teacherForm.imageSize, channels: this.data?.report.channels === 3 ? 3 : 1,
    },
    optim: { ...DEFAULT_OPTIM, epochs: this.teacherForm.epochs, batchSize: this.teacherForm.batchSize, lr: this.teacherForm.lr, warmupEpochs: 0 },
    seed: this.teacherForm.seed,
  });
  trainIssues = $derived<ValidationIssue[]>([
    ...(this.dataReady ? [] : [{ field: 'data', message: 'choose a dataset without errors on the Data step first' }]),
    ...validateRequest(this.trainRequest),
  ]);

  distillRequest = $derived<DistillRequest>({
    kind: 'distill',
    teacher: this.teacherPath,
    data: { ...this.dataSpec, augment: { cropPadding: this.distill.cropPadding, horizontalFlip: this.distill.horizontalFlip } },
    out: this.learngeneOut,
    auxKind: 'sws',
    stages: this.stages.slice(),
    aux: {
      pooling: 'avg',
      dropPath: this.distill.dropPath,
      ...(this.auxDim !== null ? { dim: this.auxDim } : {}),
      ...(this.auxHeads !== null ? { heads: this.auxHeads } : {}),
    },
    distill: { alpha: this.distill.alpha, tau: this.distill.tau, reduction: this.distill.reduction },
    optim: { ...this.distill.optim },
    seed: this.seed,
    keepHead: this.distill.keepHead,
  });
  distillIssues = $derived<ValidationIssue[]>([
    ...(this.dataReady ? [] : [{ field: 'data', message: 'choose a dataset without errors on the Data step first' }]),
    ...(this.teacherPath ? [] : [{ field: 'teacher', message: 'choose or train a teacher on the Teacher step first' }]),
    ...validateRequest(this.distillRequest).filter((i) => i.field !== 'teacher'),
    ...(this.auxConfig.dim % this.auxConfig.heads !== 0 ? [{ field: 'aux.heads', message: `heads ${this.auxConfig.heads} must divide dim ${this.auxConfig.dim}` }] : []),
  ]);

  learngenePath = $derived.by(() => {
    const view = jobs.view(this.distillJobId);
    if (view?.status !== 'done') return '';
    return isResultOf(view.result, 'distill') ? view.result.out : this.learngeneOut;
  });
  tlegPath = $derived.by(() => {
    const view = jobs.view(this.tlegJobId);
    if (view?.status !== 'done') return '';
    return isResultOf(view.result, 'distill') ? view.result.out : this.tlegOut;
  });

  /** The dataset the descendants train on and its report. */
  descendantDataset = $derived<DatasetInfo | null>(this.descendantData === 'other' ? this.transfer : this.data);
  descendantsDataSpec = $derived<DataSpec>({
    ...(this.descendantData === 'other' ? { path: this.transferPath, valFraction: 0.1, augment: { cropPadding: 0, horizontalFlip: false } } : this.dataSpec),
    ...(this.descendantClasses ? { classes: this.descendantClasses.slice() } : {}),
  });
  /** The descendants' label set: their dataset's classes, or the chosen subset. */
  descendantClassNames = $derived.by<string[]>(() => {
    const names = this.descendantDataset?.report.classes.map((c) => c.name) ?? [];
    return this.descendantClasses ? this.descendantClasses.map((i) => names[i] ?? String(i)) : names;
  });

  compareRequest = $derived<CompareRequest>({
    kind: 'compare',
    learngene: this.learngenePath,
    ...(this.tlegPath ? { tlegLearngene: this.tlegPath } : {}),
    ...(this.teacherPath && this.baselines.includes('teacher-copy') ? { teacher: this.teacherPath } : {}),
    data: this.descendantsDataSpec,
    depths: this.depths.slice(),
    baselines: this.baselines.slice(),
    optim: { ...DEFAULT_OPTIM, epochs: this.fineTune.epochs, batchSize: this.fineTune.batchSize, lr: this.fineTune.lr, warmupEpochs: 0 },
    seed: this.seed,
    out: this.compareOut,
  });
  compareIssues = $derived<ValidationIssue[]>([
    ...(this.learngenePath ? [] : [{ field: 'learngene', message: 'distil a learngene on the Distill step first' }]),
    ...(this.descendantData === 'other' && !this.transfer ? [{ field: 'data.path', message: 'drop or choose the descendants\' dataset first' }] : []),
    ...(this.descendantData === 'other' && this.transfer && this.transfer.report.problems.some((p) => p.severity === 'error') ? [{ field: 'data.path', message: 'the descendants\' dataset has errors: see its report' }] : []),
    ...validateRequest(this.compareRequest).filter((i) => i.field !== 'learngene'),
    ...(this.baselines.includes('tleg') && !this.tlegPath ? [{ field: 'tlegLearngene', message: 'the TLEG baseline needs a TLEG learngene: tick "Also distil a TLEG learngene" on the Distill step' }] : []),
  ]);

  compareResult = $derived.by(() => {
    const result = jobs.view(this.compareJobId)?.result;
    return isResultOf(result, 'compare') ? result : null;
  });

  /** Models the Export step offers: the teacher and every descendant made in this project. */
  exportableModels = $derived.by(() => {
    const models: ProjectModel[] = [];
    if (this.teacherPath && this.teacher?.kind === 'model') models.push({ path: this.teacherPath, label: 'Teacher', detail: baseName(this.teacherPath) });
    const compare = this.compareResult;
    if (compare?.out) {
      for (const row of compare.rows) {
        models.push({ path: joinPath(compare.out, 'descendants', `${row.method}-d${row.depth}`), label: `${row.method.toUpperCase()} · depth ${row.depth}`, detail: `fine-tuned, top-1 ${(row.top1_final * 100).toFixed(1)}%` });
      }
    }
    for (const id of this.growJobIds) {
      const view = jobs.view(id);
      const result = view?.status === 'done' ? view.result : null;
      if (isResultOf(result, 'grow')) models.push({ path: result.out, label: `Grown · depth ${result.depth}`, detail: 'not fine-tuned' });
    }
    const pruned = this.prunedModel;
    if (pruned) models.push(pruned);
    return models.filter((m, i, all) => all.findIndex((n) => n.path === m.path) === i);
  });

  /** What the Evaluate step explains: the teacher, the Aux-Net (a learngene with a head), every fine-tuned descendant. */
  evaluables = $derived.by<Evaluable[]>(() => {
    const list: Evaluable[] = [];
    if (this.teacherPath && this.teacher?.kind === 'model' && !this.teacher.onnx) list.push({ path: this.teacherPath, label: 'Teacher', data: this.dataSpec });
    if (this.learngenePath && this.distill.keepHead) list.push({ path: this.learngenePath, label: 'Aux-Net', data: this.dataSpec });
    const compare = this.compareResult;
    const compareJob = jobs.view(this.compareJobId);
    const data = compareJob?.request?.kind === 'compare' ? compareJob.request.data : this.descendantsDataSpec;
    if (compare?.out) {
      for (const row of compare.rows) list.push({ path: joinPath(compare.out, 'descendants', `${row.method}-d${row.depth}`), label: `${row.method.toUpperCase()} · depth ${row.depth}`, data });
    }
    const pruned = this.prunedModel;
    if (pruned) list.push({ path: pruned.path, label: pruned.label, data: this.dataSpec });
    return list;
  });

  // --- What each job will cost (shared/cost.ts) ----------------------------------------
  /** Training images per epoch and validation images of the main dataset. */
  private imagesOf(report: DatasetInfo['report'] | undefined, spec: DataSpec): { train: number; val: number; test: number } {
    if (!report) return { train: 0, val: 0, test: 0 };
    const classes = spec.classes ? spec.classes.map((i) => report.classes[i]).filter((c) => c !== undefined) : report.classes;
    const total = classes.reduce((n, c) => n + c.count, 0);
    const test = classes.reduce((n, c) => n + (c.testCount ?? 0), 0);
    return { ...trainImages(total, spec.valFraction, spec.limit ?? null), test: spec.testLimit ? Math.min(spec.testLimit, test) : test };
  }

  private backendInfo = $derived(backendFor(this.backend, studio.backends));

  teacherCost = $derived.by<CostEstimate>(() => {
    const images = this.imagesOf(this.data?.report, this.dataSpec);
    const config = defaultViTConfig({ ...this.trainRequest.model, numClasses: Math.max(2, this.data?.report.classes.length ?? 2) });
    return estimateCost(trainingFlops(config, { train: images.train, evalPerEpoch: images.val, evalAtEnd: images.val + images.test, epochs: this.teacherForm.epochs }), this.backendInfo);
  });

  /** The distillation's cost with the given settings (each preset shows its own). */
  distillCost(settings: DistillSettings): CostEstimate {
    const images = this.imagesOf(this.data?.report, this.dataSpec);
    const config = { ...this.auxConfig, numClasses: Math.max(2, this.data?.report.classes.length ?? 2) };
    return estimateCost(trainingFlops(config, { train: images.train, evalPerEpoch: images.val, evalAtEnd: images.val + images.test, epochs: settings.optim.epochs }, this.teacherConfig), this.backendInfo);
  }

  compareCost = $derived.by<CostEstimate>(() => {
    const spec = this.descendantsDataSpec;
    const images = this.imagesOf(this.descendantDataset?.report, spec);
    const numClasses = Math.max(2, this.descendantClassNames.length);
    const evalImages = images.test || images.val;
    const runsPerDepth = 1 + this.baselines.filter((b) => b !== 'scratch').length + (this.baselines.includes('scratch') ? 2 : 0);
    let flops = 0;
    for (const depth of this.depths) {
      const config = { ...this.auxConfig, depth, numClasses, dropPath: 0 };
      flops += runsPerDepth * trainingFlops(config, { train: images.train, evalPerEpoch: evalImages, evalAtEnd: 0, epochs: this.fineTune.epochs });
    }
    return estimateCost(flops, this.backendInfo);
  });

  // --- Grow → prune → fine-tune ------------------------------------------------------

  /** Models the prune card offers: the descendants made here (not the teacher, nor what pruning made). */
  prunableModels = $derived(this.exportableModels.filter((m) => !m.pruned && m.path !== this.teacherPath));
  pruneRequest = $derived<PruneRequest>({
    kind: 'prune',
    model: this.pruneForm.model,
    out: joinPath(this.projectDir, 'descendants', `${slug(baseName(this.pruneForm.model || 'model'))}-pruned`),
    headsKeep: this.pruneForm.headsKeep,
    mlpKeep: this.pruneForm.mlpKeep,
    importance: this.pruneForm.importance,
    ...(this.pruneForm.importance === 'taylor' ? { data: this.dataSpec } : {}),
    seed: this.seed,
  });
  pruneIssues = $derived<ValidationIssue[]>([
    ...(this.pruneForm.model ? [] : [{ field: 'model', message: 'choose a model to make smaller' }]),
    ...(this.pruneForm.importance === 'taylor' && !this.dataReady ? [{ field: 'importance', message: 'Taylor scores need the dataset of the Data step' }] : []),
    ...(this.pruneForm.epochs > 0 && !this.dataReady ? [{ field: 'epochs', message: 'fine-tuning needs the dataset of the Data step' }] : []),
    ...validateRequest(this.pruneRequest).filter((i) => i.field !== 'model'),
    ...(Number.isInteger(this.pruneForm.epochs) && this.pruneForm.epochs >= 0 ? [] : [{ field: 'epochs', message: `must be a non-negative integer, got ${JSON.stringify(this.pruneForm.epochs)}` }]),
  ]);
  pruneResult = $derived(doneResult(this.pruneJobId, 'prune'));
  pruneFinetuneResult = $derived(doneResult(this.pruneFinetuneJobId, 'finetune'));
  /** The smaller model once it is ready: fine-tuned (or just pruned when asked for 0 epochs). */
  prunedModel = $derived.by<ProjectModel | null>(() => {
    const pruned = this.pruneResult;
    if (!pruned) return null;
    const healed = this.pruneFinetuneResult;
    const request = jobs.view(this.pruneFinetuneJobId)?.request;
    if (healed) {
      const top1 = healed.test?.top1 ?? healed.val?.top1;
      return { path: healed.out, label: `Pruned · depth ${pruned.config.depth}`, detail: `${pruned.params.after.toLocaleString('en-US')} parameters, fine-tuned${top1 !== undefined ? `, top-1 ${(top1 * 100).toFixed(1)}%` : ''}`, pruned: true };
    }
    if (request?.kind === 'finetune') return null; // still healing
    return { path: pruned.out, label: `Pruned · depth ${pruned.config.depth}`, detail: `${pruned.params.after.toLocaleString('en-US')} parameters, not fine-tuned`, pruned: true };
  });

  // --- Actions ----------------------------------------------------------------------

  go(step: StepId): void {
    this.step = step;
  }

  next(): void {
    const i = STEPS.findIndex((s) => s.id === this.step);
    if (i < STEPS.length - 1) this.step = STEPS[i + 1]!.id;
  }

  back(): void {
    const i = STEPS.findIndex((s) => s.id === this.step);
    if (i > 0) this.step = STEPS[i - 1]!.id;
  }

  /** Inspects the descendants' own dataset (transfer to another label set). */
  async openTransfer(target: string): Promise<void> {
    this.transferBusy = 'Checking…';
    this.transferError = null;
    try {
      const info = await api.inspect(target);
      if (info.kind !== 'dataset') throw new Error(`${target} is a ${info.kind}, not a dataset`);
      this.transferPath = target;
      this.transfer = info;
      this.descendantData = 'other';
      this.descendantClasses = null;
    } catch (error) {
      this.transferError = errorText(error);
    } finally {
      this.transferBusy = null;
    }
  }

  /** Includes or leaves out one class of the descendants' dataset. */
  toggleDescendantClass(index: number, on: boolean): void {
    const all = this.descendantDataset?.report.classes.map((_, i) => i) ?? [];
    const current = new Set(this.descendantClasses ?? all);
    if (on) current.add(index);
    else current.delete(index);
    const chosen = all.filter((i) => current.has(i));
    this.descendantClasses = chosen.length === all.length ? null : chosen;
  }

  /** Inspects a path and puts it where it belongs: a dataset on Data, a model on Teacher. */
  async openPath(target: string, hint: 'data' | 'teacher' | null = null): Promise<void> {
    const busy = (text: string | null) => (hint === 'teacher' ? (this.teacherBusy = text) : (this.dataBusy = text));
    busy('Checking…');
    this.dataError = hint === 'teacher' ? this.dataError : null;
    this.teacherError = hint === 'teacher' ? null : this.teacherError;
    try {
      const info = await api.inspect(target);
      if (info.kind === 'dataset') this.setData(target, info);
      else this.setTeacher(target, info);
    } catch (error) {
      if (hint === 'teacher') this.teacherError = errorText(error);
      else this.dataError = errorText(error);
    } finally {
      busy(null);
    }
  }

  setData(target: string, info: DatasetInfo): void {
    this.dataPath = target;
    this.data = info;
    this.dataError = null;
    if (this.dataImageSize) {
      this.teacherForm.imageSize = this.dataImageSize;
      if (this.dataImageSize % this.teacherForm.patchSize !== 0) this.teacherForm.patchSize = [4, 7, 8, 2, 1].find((p) => this.dataImageSize! % p === 0) ?? 1;
    }
    this.step = 'data';
  }

  setTeacher(target: string, info: InspectResult): void {
    if (info.kind === 'dataset') return;
    this.teacherPath = target;
    this.teacher = info;
    this.teacherError = null;
    this.teacherMode = 'pick';
    this.step = 'teacher';
  }

  applyPreset(name: PresetName): void {
    this.preset = name;
    this.distill = presetSettings(name);
  }

  setOptim(patch: Partial<OptimConfig>): void {
    this.distill.optim = { ...this.distill.optim, ...patch };
  }

  /** Every job the studio starts writes a new version rather than replacing an earlier output. */
  private runOptions(): SubmitOptions {
    return { backend: this.backend, checkpointEvery: this.checkpointEvery, newVersion: true };
  }

  async trainTeacher(): Promise<void> {
    const info = await jobs.submit($state.snapshot(this.trainRequest) as TrainRequest, this.runOptions());
    this.teacherJobId = info.id;
  }

  /** Called when the teacher job finishes: the trained model becomes the teacher. */
  async adoptTrainedTeacher(): Promise<void> {
    const view = jobs.view(this.teacherJobId);
    const result = view?.result;
    if (view?.status !== 'done' || !isResultOf(result, 'train')) return;
    if (this.teacherPath === result.out && this.teacher) return;
    this.teacherPath = result.out;
    try {
      this.teacher = await api.inspect(result.out);
    } catch (error) {
      this.teacherError = errorText(error);
    }
  }

  async startDistill(): Promise<void> {
    const options = this.runOptions();
    const info = await jobs.submit($state.snapshot(this.distillRequest) as DistillRequest, options);
    this.distillJobId = info.id;
    if (this.distillTleg) {
      const total = this.stages.reduce((a, b) => a + b, 0);
      const tleg: DistillRequest = { ...($state.snapshot(this.distillRequest) as DistillRequest), auxKind: 'tleg', stages: [total], out: this.tlegOut };
      this.tlegJobId = (await jobs.submit(tleg, options)).id;
    }
  }

  async startCompare(): Promise<void> {
    const info = await jobs.submit($state.snapshot(this.compareRequest) as CompareRequest, this.runOptions());
    this.compareJobId = info.id;
  }

  /** Prunes the chosen model; fine-tuning follows when the prune job is done (healPruned). */
  async startPrune(): Promise<void> {
    this.pruneFinetuneJobId = null;
    this.pruneJobId = (await jobs.submit($state.snapshot(this.pruneRequest) as PruneRequest, { newVersion: true })).id;
  }

  /** Fine-tunes the pruned model for the chosen epochs (none: the pruned model is the result). */
  async healPruned(): Promise<void> {
    const pruned = this.pruneResult;
    if (!pruned || this.pruneFinetuneJobId || this.pruneForm.epochs === 0) return;
    const request: FinetuneRequest = {
      kind: 'finetune',
      model: pruned.out,
      data: $state.snapshot(this.dataSpec) as DataSpec,
      out: `${pruned.out}-ft`,
      optim: { ...DEFAULT_OPTIM, epochs: this.pruneForm.epochs, batchSize: this.fineTune.batchSize, lr: this.fineTune.lr, warmupEpochs: 0 },
      seed: this.seed,
    };
    this.pruneFinetuneJobId = (await jobs.submit(request, this.runOptions())).id;
  }

  async growOnly(): Promise<void> {
    const ids: string[] = [];
    for (const depth of this.depths) {
      const names = this.descendantClassNames;
      const request: GrowRequest = {
        kind: 'grow', learngene: this.learngenePath, depth, out: joinPath(this.projectDir, 'grown', `d${depth}`), seed: this.seed,
        // The descendants' label set: a head is inherited only when it is the learngene's.
        ...(names.length >= 2 ? { numClasses: names.length, classNames: names.slice() } : {}),
      };
      ids.push((await jobs.submit(request, { newVersion: true })).id);
    }
    this.growJobIds = ids;
  }

  /** Evaluates every model of the Evaluate step that has no evaluation yet (or all again). */
  async evaluateAll(again = false): Promise<void> {
    const ids = { ...this.evaluationJobIds };
    for (const model of this.evaluables) {
      const view = jobs.view(ids[model.path]);
      if (!again && view && view.status !== 'error' && view.status !== 'cancelled') continue;
      const request: EvaluateRequest = { kind: 'evaluate', model: model.path, data: { ...model.data, augment: { cropPadding: 0, horizontalFlip: false } }, split: 'test', mistakes: 12 };
      ids[model.path] = (await jobs.submit(request, { backend: this.backend })).id;
      this.evaluationJobIds = { ...ids };
    }
  }

  exportRequests = $derived.by<ExportRequest[]>(() => {
    const out: ExportRequest[] = [];
    for (const model of this.exportableModels) {
      if (!this.exportSelected[model.path]) continue;
      const name = slug(model.path === this.teacherPath ? 'teacher' : baseName(model.path));
      for (const choice of EXPORT_CHOICES) {
        if (!this.exportFormats[choice]) continue;
        const exports = (file: string) => joinPath(this.projectDir, 'exports', file);
        if (choice === 'onnx') out.push({ kind: 'export', model: model.path, format: 'onnx', out: exports(`${name}.onnx`) });
        else if (choice === 'onnx-int8') {
          // Static int8 calibrated on the Data step's images when there are any; dynamic otherwise.
          const calibration = this.dataReady ? { calibration: { data: { ...this.dataSpec, valFraction: 0 }, images: 256 } } : {};
          out.push({ kind: 'export', model: model.path, format: 'onnx', quantize: 'int8', ...calibration, out: exports(`${name}-int8.onnx`) });
        } else out.push({ kind: 'export', model: model.path, format: choice, out: exports(`${name}-${choice}`) });
      }
    }
    if (this.exportLearngene && this.learngenePath) out.push({ kind: 'export', model: this.learngenePath, format: 'sws-reference', out: joinPath(this.projectDir, 'exports', 'learngene-sws') });
    return out;
  });

  async startExports(): Promise<void> {
    const ids: string[] = [];
    for (const request of this.exportRequests) ids.push((await jobs.submit(request, { newVersion: true })).id);
    this.exportJobIds = ids;
  }

  /** After a restart: pick up the newest runs of each kind from the project. */
  async restore(): Promise<void> {
    const inProject = (out: string | undefined) => Boolean(out && this.projectDir && out.startsWith(this.projectDir));
    const train = jobs.latest('train', (v) => v.request?.kind === 'train' && inProject(v.request.out));
    const distill = jobs.latest('distill', (v) => v.request?.kind === 'distill' && v.request.auxKind === 'sws');
    const tleg = jobs.latest('distill', (v) => v.request?.kind === 'distill' && v.request.auxKind === 'tleg');
    const compare = jobs.latest('compare');
    // The main dataset is the teacher's and the learngene's; the descendants' may be another (transfer).
    const withData = [distill, train, compare].find((v) => v?.request && 'data' in v.request && v.request.data?.path);
    if (train) this.teacherJobId = train.id;
    if (distill?.request?.kind === 'distill') {
      const r = distill.request;
      this.distillJobId = distill.id;
      this.stages = r.stages.slice();
      this.distill = { alpha: r.distill.alpha, tau: r.distill.tau, reduction: r.distill.reduction ?? 'batchmean', optim: { ...r.optim }, cropPadding: r.data.augment.cropPadding, horizontalFlip: r.data.augment.horizontalFlip, dropPath: r.aux.dropPath ?? 0, keepHead: r.keepHead };
      if (r.teacher && !this.teacherPath) this.teacherPath = r.teacher;
    }
    if (tleg) this.tlegJobId = tleg.id;
    if (compare?.request?.kind === 'compare') {
      this.compareJobId = compare.id;
      this.depths = compare.request.depths.slice();
      this.baselines = compare.request.baselines.slice();
    }
    const evaluations: Record<string, string> = {};
    for (const view of [...jobs.all].reverse()) if (view.request?.kind === 'evaluate') evaluations[view.request.model] = view.id;
    this.evaluationJobIds = evaluations;
    if (compare?.request?.kind === 'compare' && compare.request.data.path && compare.request.data.path !== (withData?.request && 'data' in withData.request ? withData.request.data?.path : undefined)) {
      const transferPath = compare.request.data.path;
      this.descendantClasses = compare.request.data.classes?.slice() ?? null;
      api.inspect(transferPath).then((info) => {
        if (info.kind !== 'dataset') return;
        this.transferPath = transferPath;
        this.transfer = info;
        this.descendantData = 'other';
      }, () => undefined);
    }
    const prune = jobs.latest('prune', (v) => v.request?.kind === 'prune' && v.request.model !== undefined && inProject(v.request.out));
    if (prune?.request?.kind === 'prune') {
      const r = prune.request;
      this.pruneJobId = prune.id;
      this.pruneForm = { ...this.pruneForm, model: r.model ?? '', headsKeep: r.headsKeep, mlpKeep: r.mlpKeep, importance: r.importance };
      const healing = jobs.latest('finetune', (v) => v.request?.kind === 'finetune' && v.request.model === r.out);
      if (healing) this.pruneFinetuneJobId = healing.id;
    }
    const exports = jobs.all.filter((v) => v.kind === 'export');
    if (exports.length) this.exportJobIds = exports.filter((v) => v.updatedAt >= exports[0]!.updatedAt - 120_000).map((v) => v.id).reverse();
    const dataPath = withData?.request && 'data' in withData.request ? withData.request.data?.path : undefined;
    if (dataPath && !this.dataPath) {
      this.dataPath = dataPath;
      api.inspect(dataPath).then((info) => info.kind === 'dataset' && (this.data = info), (error: unknown) => (this.dataError = errorText(error)));
    }
    if (train?.status === 'done') await this.adoptTrainedTeacher();
    else if (this.teacherPath && !this.teacher) api.inspect(this.teacherPath).then((info) => (this.teacher = info), () => undefined);
    // Open on the furthest step with something to show.
    this.step = compare ? 'descendants' : distill ? 'distill' : train || this.teacherPath ? 'teacher' : 'data';
  }
}

export const wizard = new Wizard();
