// The API contract between every front end (CLI, Electron renderer, browser studio)
// and the job service. Types and pure validation only.

import {
  type AugmentConfig,
  type AuxKind,
  type DistillLossConfig,
  type OptimConfig,
  type ValidationIssue,
  type ViTConfig,
  validateAugment,
  validateDistillLoss,
  validateOptimConfig,
  validateStages,
  validateViTConfig,
  defaultViTConfig,
} from './config.js';
import type { JobKind, ProgressEvent } from './events.js';

/** Which images a job trains and evaluates on. */
export interface DataSpec {
  /** A dataset path; absent → Fashion-MNIST if installed, else the embedded sample. */
  path?: string;
  /** Fraction of the training images held out for per-epoch validation. */
  valFraction: number;
  /** Class-balanced subset size of the training images (after the class filter). */
  limit?: number;
  /** Class-balanced subset size of the test images used by evaluation. */
  testLimit?: number;
  /** Keep only these class indices (relabelled 0..k-1 in this order). */
  classes?: number[];
  augment: AugmentConfig;
}

export interface TrainRequest {
  kind: 'train';
  data: DataSpec;
  out: string;
  /** Unspecified fields: image size and channels from the data, classes from the data, the rest from defaultViTConfig. */
  model: Partial<ViTConfig>;
  optim: OptimConfig;
  seed: number;
}

export interface DistillRequest {
  kind: 'distill';
  /** A model folder/file, foreign checkpoint or ONNX classifier. */
  teacher: string;
  data: DataSpec;
  out: string;
  auxKind: AuxKind;
  /** Layers per stage; TLEG uses a single entry (its depth). */
  stages: number[];
  /** Aux-Net shape; unspecified fields follow the teacher (image size: the teacher's when it is ours, else the data's). */
  aux: Partial<Pick<ViTConfig, 'dim' | 'heads' | 'mlpRatio' | 'patchSize' | 'dropPath' | 'pooling' | 'imageSize'>>;
  /** Attention heads of a foreign (timm/HF/torchvision) teacher checkpoint. */
  teacherHeads?: number;
  /** Normalization an ONNX teacher expects: 'imagenet', 'none' (raw [0,1]) or explicit mean/std. */
  teacherNormalization?: 'imagenet' | 'none' | { mean: number[]; std: number[] };
  distill: DistillLossConfig & { reduction?: 'batchmean' | 'numel' };
  optim: OptimConfig;
  seed: number;
  /** Keep the Aux-Net's head in the learngene (descendants with the same labels). */
  keepHead: boolean;
}

export interface GrowRequest {
  kind: 'grow';
  learngene: string;
  depth: number;
  layersSource?: number[];
  /** Classes of the descendant; absent → the learngene's. */
  numClasses?: number;
  classNames?: string[];
  out: string;
  seed: number;
}

export interface FinetuneRequest {
  kind: 'finetune';
  model: string;
  data: DataSpec;
  out: string;
  optim: OptimConfig;
  seed: number;
}

export type BaselineMethod = 'scratch' | 'tleg' | 'teacher-copy';
export type CompareMethod = 'sws' | BaselineMethod;

export interface CompareRequest {
  kind: 'compare';
  /** An SWS learngene. */
  learngene: string;
  /** A TLEG learngene, required for the 'tleg' baseline. */
  tlegLearngene?: string;
  /** The teacher, for the 'teacher-copy' baseline (and TLEG distillation when needed). */
  teacher?: string;
  data: DataSpec;
  depths: number[];
  baselines: BaselineMethod[];
  optim: OptimConfig;
  /** Learning rates tried for scratch; the best is reported (never a tuned-down baseline). */
  scratchLrs?: number[];
  seed: number;
  out?: string;
}

export interface DemoRequest {
  kind: 'demo';
  data: DataSpec;
  quick: boolean;
  out: string;
  seed: number;
}

export interface EvaluateRequest {
  kind: 'evaluate';
  model: string;
  data: DataSpec;
  split: 'test' | 'val';
}

export type ExportFormat = 'onnx' | 'tfjs' | 'timm';
export const EXPORT_FORMATS: readonly ExportFormat[] = ['onnx', 'tfjs', 'timm'];

/** How an int8 ONNX export sets its activation ranges: from calibration images, or at run time. */
export type CalibrationMethod = 'auto' | 'minmax' | 'percentile';
export const CALIBRATION_METHODS: readonly CalibrationMethod[] = ['auto', 'minmax', 'percentile'];

export interface ExportRequest {
  kind: 'export';
  model: string;
  format: ExportFormat;
  out: string;
  /**
   * ONNX only. 'int8': per-channel int8 weights for every MatMul; with `calibration`,
   * static QDQ with per-tensor activation ranges calibrated on its images; without it,
   * dynamic (activations quantized at run time from their own range).
   */
  quantize?: 'int8';
  calibration?: {
    /** A dataset with the model's label set (its training images are used). */
    data: DataSpec;
    /** Images to calibrate on (default 256). */
    images?: number;
    /** 'auto' (default): MinMax and percentile both tried, the more accurate kept. */
    method?: CalibrationMethod;
  };
}

export type ImportanceKind = 'weight' | 'taylor';
export const IMPORTANCE_KINDS: readonly ImportanceKind[] = ['weight', 'taylor'];

/**
 * Structured pruning of a model or a learngene: keep `headsKeep` of each block's attention
 * heads and `mlpKeep` of its MLP units, a fraction in (0, 1] or a whole count above 1.
 */
export interface PruneRequest {
  kind: 'prune';
  /** A model (ours or a foreign checkpoint); or `learngene` instead. */
  model?: string;
  /** A learngene: its stage blocks are pruned, so every descendant grown from it is smaller. */
  learngene?: string;
  out: string;
  headsKeep: number;
  mlpKeep: number;
  /** 'weight' (default): weight norms; 'taylor': first-order Taylor scores on a few batches of `data`. */
  importance: ImportanceKind;
  /** Taylor: the labelled images (absent → the default dataset). */
  data?: DataSpec;
  /** Taylor: how many training batches of 64 (default 8). */
  batches?: number;
  seed: number;
}

export interface ImportRequest {
  kind: 'import';
  source: string;
  out: string;
  heads?: number;
}

export type JobRequest =
  | TrainRequest
  | DistillRequest
  | GrowRequest
  | FinetuneRequest
  | CompareRequest
  | DemoRequest
  | EvaluateRequest
  | ExportRequest
  | ImportRequest
  | PruneRequest;

export type JobStatus = 'queued' | 'running' | 'done' | 'error' | 'cancelled';

export interface JobInfo {
  id: string;
  kind: JobKind;
  status: JobStatus;
  request: JobRequest;
  /** runs/<id>/ of the job, holding config, events.jsonl and checkpoints. */
  runDir: string;
  createdAt: number;
  updatedAt: number;
  result?: unknown;
  /** Why the job failed. `name` classifies it (ConfigError/FormatError: the input was rejected;
   *  NonFiniteLossError, WriteError, WorkerCrash, Interrupted ...); `issues` for form fields. */
  error?: { message: string; field?: string; file?: string; name?: string; issues?: ValidationIssue[] };
}

export interface SubmitOptions {
  /** Also checkpoint every N optimizer steps (epoch ends always checkpoint). */
  checkpointEvery?: number;
  /** tfjs backend for the job: 'tensorflow-gpu' | 'tensorflow' | 'wasm' | 'cpu' | 'auto' (default). */
  backend?: string;
}

/** What every transport (IPC, WebSocket, in-process) offers the front ends. */
export interface StudioApi {
  submit(request: JobRequest, options?: SubmitOptions): Promise<JobInfo>;
  list(): Promise<JobInfo[]>;
  get(id: string): Promise<JobInfo | null>;
  cancel(id: string): Promise<void>;
  /** Runs a stopped or failed run again; `options.backend` moves it to another backend (e.g. wasm after the GPU host went away). */
  resume(runDirOrId: string, options?: SubmitOptions): Promise<JobInfo>;
  events(id: string): Promise<ProgressEvent[]>;
  on(listener: (event: ProgressEvent) => void): () => void;

  // Optional studio extras. The desktop and browser studio need them; node/studio/extras.ts
  // adds them to any StudioApi (withStudioExtras), so a job service need not implement them.

  /** Describes a model, learngene, foreign checkpoint, ONNX file or dataset (with sample thumbnails). */
  inspect?(path: string): Promise<InspectResult>;
  /** The tfjs backends on this machine, fastest first; the first usable one is the default. */
  backends?(): Promise<BackendInfo[]>;
  /** The project folder jobs write into (runs/, teacher/, learngene/, descendants/, exports/). */
  project?(): Promise<ProjectInfo>;
}

/** The names of every StudioApi call a transport forwards (all but `on`, which is the event push). */
export const STUDIO_METHODS = ['submit', 'list', 'get', 'cancel', 'resume', 'events', 'inspect', 'backends', 'project'] as const;
export type StudioMethod = (typeof STUDIO_METHODS)[number];

/** One line of backend status (node/backends.ts BackendStatus). */
export interface BackendInfo {
  name: string;
  usable: boolean;
  /** What it is when usable ("WebAssembly · SIMD · 1 thread"), why not otherwise. */
  detail: string;
}

export interface ProjectInfo {
  /** Absolute path of the project folder. */
  dir: string;
  name: string;
}

/** A problem found in a dataset, naming its file (node/data/folder.ts DatasetProblem). */
export interface DatasetProblemInfo {
  file: string;
  severity: 'error' | 'warning';
  message: string;
}

/** What `learngene inspect <dataset>` reports (node/data/inspect.ts), for the CLI and the window. */
export interface DatasetReportInfo {
  /** "idx", "cifar10", "cifar100", "folder" (or "unknown" when opening failed early). */
  format: string;
  root: string;
  splits: { train: number; test: number | null };
  classes: { name: string; count: number; testCount?: number }[];
  /** "width x height" → number of images (train and test together). */
  imageSizes: Record<string, number>;
  /** 3 when any image has colour, else 1. */
  channels: number;
  problems: DatasetProblemInfo[];
}

/** A small PNG of one training image, for the dataset report. */
export interface SampleImage {
  className: string;
  /** data:image/png;base64,… */
  dataUrl: string;
}

export type InspectResult =
  | {
      /** Our model, a foreign checkpoint (timm/HF/torchvision), an ONNX file or a tfjs graph model. */
      kind: 'model';
      path: string;
      /** learngene-model | timm | hf | torchvision | onnx | tfjs-graph-model */
      format: string;
      config?: ViTConfig;
      /** Parameter count (from the config when the file is not read tensor by tensor). */
      params?: number;
      classNames?: string[];
      provenance?: unknown;
      metrics?: unknown;
      /** Import assumptions, or why a field is unknown. */
      notes: string[];
    }
  | {
      kind: 'learngene';
      path: string;
      learngeneKind: AuxKind;
      stages: number[];
      config: ViTConfig;
      params: number;
      classNames: string[];
      provenance?: unknown;
      metrics?: unknown;
    }
  | { kind: 'dataset'; path: string; report: DatasetReportInfo; samples: SampleImage[] };

export const DEFAULT_DATA: DataSpec = { valFraction: 0.1, augment: { cropPadding: 0, horizontalFlip: false } };

export function validateDataSpec(data: DataSpec, prefix = 'data.'): ValidationIssue[] {
  const issues = validateAugment(data.augment, prefix + 'augment.');
  if (typeof data.valFraction !== 'number' || !(data.valFraction >= 0 && data.valFraction < 1)) {
    issues.push({ field: prefix + 'valFraction', message: `must be in [0, 1), got ${JSON.stringify(data.valFraction)}` });
  }
  for (const key of ['limit', 'testLimit'] as const) {
    const value = data[key];
    if (value !== undefined && !(Number.isInteger(value) && value > 0)) {
      issues.push({ field: prefix + key, message: `must be a positive integer, got ${JSON.stringify(value)}` });
    }
  }
  if (data.classes !== undefined) {
    if (!Array.isArray(data.classes) || data.classes.length < 2) {
      issues.push({ field: prefix + 'classes', message: 'needs at least two class indices to train a classifier' });
    } else if (data.classes.some((c) => !Number.isInteger(c) || c < 0)) {
      issues.push({ field: prefix + 'classes', message: `must be non-negative class indices, got ${data.classes.join(',')}` });
    } else if (new Set(data.classes).size !== data.classes.length) {
      issues.push({ field: prefix + 'classes', message: `lists a class twice: ${data.classes.join(',')}` });
    }
  }
  return issues;
}

function requireText(value: unknown, field: string): ValidationIssue[] {
  return typeof value === 'string' && value.trim().length > 0 ? [] : [{ field, message: 'is required' }];
}

/**
 * A train request's model as far as it is known before the data is read. Image size and
 * channels come from the dataset when not given, so the patch-size check waits for the
 * job (which checks it against the data's real size) instead of assuming a default size.
 */
function modelToValidate(model: Partial<ViTConfig>): ViTConfig {
  const config = { ...defaultViTConfig(), ...model };
  if (model.imageSize === undefined && Number.isInteger(config.patchSize) && config.patchSize > 0) config.imageSize = config.patchSize;
  return config;
}

function isPositiveInteger(value: unknown): boolean {
  return typeof value === 'number' && Number.isInteger(value) && value > 0;
}

function validateExport(request: ExportRequest): ValidationIssue[] {
  const issues = [...requireText(request.model, 'model'), ...requireText(request.out, 'out')];
  if (!EXPORT_FORMATS.includes(request.format)) {
    issues.push({ field: 'format', message: `must be onnx, tfjs or timm, got ${JSON.stringify(request.format)}` });
  }
  if (request.quantize !== undefined) {
    if (request.quantize !== 'int8') issues.push({ field: 'quantize', message: `must be "int8", got ${JSON.stringify(request.quantize)}` });
    else if (request.format !== 'onnx') issues.push({ field: 'quantize', message: `int8 quantization is for the ONNX export, not ${request.format}` });
  }
  const calibration = request.calibration;
  if (calibration !== undefined) {
    if (request.quantize !== 'int8') issues.push({ field: 'calibration', message: 'calibration data is only used by an int8 export (--quantize int8)' });
    issues.push(...validateDataSpec(calibration.data, 'calibration.data.'));
    if (calibration.images !== undefined && !isPositiveInteger(calibration.images)) {
      issues.push({ field: 'calibration.images', message: `must be a positive integer, got ${JSON.stringify(calibration.images)}` });
    }
    if (calibration.method !== undefined && !CALIBRATION_METHODS.includes(calibration.method)) {
      issues.push({ field: 'calibration.method', message: `must be one of ${CALIBRATION_METHODS.join(', ')}, got ${JSON.stringify(calibration.method)}` });
    }
  }
  return issues;
}

/** The keep values a prune request can be checked for before its model is read (the counts need the model). */
function validateKeep(value: unknown, field: string, what: string): ValidationIssue[] {
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) {
    return [{ field, message: `must keep some ${what}: a fraction in (0, 1] or a whole count, got ${JSON.stringify(value)}` }];
  }
  if (value > 1 && !Number.isInteger(value)) return [{ field, message: `${value} is neither a fraction in (0, 1] nor a whole count of ${what}` }];
  return [];
}

function validatePrune(request: PruneRequest): ValidationIssue[] {
  const issues = requireText(request.out, 'out');
  const sources = [request.model, request.learngene].filter((s) => s !== undefined);
  if (sources.length !== 1) issues.push({ field: 'model', message: 'give exactly one of a model (--model) or a learngene (--learngene) to prune' });
  else issues.push(...requireText(sources[0], request.model !== undefined ? 'model' : 'learngene'));
  issues.push(...validateKeep(request.headsKeep, 'headsKeep', 'heads'), ...validateKeep(request.mlpKeep, 'mlpKeep', 'MLP units'));
  if (!IMPORTANCE_KINDS.includes(request.importance)) {
    issues.push({ field: 'importance', message: `must be weight or taylor, got ${JSON.stringify(request.importance)}` });
  }
  if (request.data !== undefined) issues.push(...validateDataSpec(request.data));
  if (request.batches !== undefined && !isPositiveInteger(request.batches)) {
    issues.push({ field: 'batches', message: `must be a positive integer, got ${JSON.stringify(request.batches)}` });
  }
  return issues;
}

/** Validation of a whole request, field paths as the GUI's forms name them. */
export function validateRequest(request: JobRequest): ValidationIssue[] {
  switch (request.kind) {
    case 'train':
      return [
        ...requireText(request.out, 'out'),
        ...validateDataSpec(request.data),
        ...validateViTConfig(modelToValidate(request.model), 'model.'),
        ...validateOptimConfig(request.optim, 'optim.'),
      ];
    case 'distill': {
      const issues = [
        ...requireText(request.teacher, 'teacher'),
        ...requireText(request.out, 'out'),
        ...validateDataSpec(request.data),
        ...validateStages(request.stages, undefined),
        ...validateDistillLoss(request.distill, 'distill.'),
        ...validateOptimConfig(request.optim, 'optim.'),
      ];
      if (request.auxKind === 'tleg' && request.stages.length !== 1) {
        issues.push({ field: 'stages', message: 'a TLEG Aux-Net has one stage: give its depth, e.g. --stages 12' });
      }
      const { dim, heads } = request.aux;
      if (dim !== undefined && heads !== undefined && dim % heads !== 0) {
        issues.push({ field: 'aux.heads', message: `heads ${heads} must divide dim ${dim}` });
      }
      return issues;
    }
    case 'grow': {
      const issues = [...requireText(request.learngene, 'learngene'), ...requireText(request.out, 'out')];
      if (!Number.isInteger(request.depth) || request.depth < 1) {
        issues.push({ field: 'depth', message: `must be a positive integer, got ${JSON.stringify(request.depth)}` });
      }
      if (request.numClasses !== undefined && !(Number.isInteger(request.numClasses) && request.numClasses >= 2)) {
        issues.push({ field: 'numClasses', message: `must be an integer ≥ 2, got ${JSON.stringify(request.numClasses)}` });
      }
      return issues;
    }
    case 'finetune':
      return [
        ...requireText(request.model, 'model'),
        ...requireText(request.out, 'out'),
        ...validateDataSpec(request.data),
        ...validateOptimConfig(request.optim, 'optim.'),
      ];
    case 'compare': {
      const issues = [...requireText(request.learngene, 'learngene'), ...validateDataSpec(request.data), ...validateOptimConfig(request.optim, 'optim.')];
      if (!Array.isArray(request.depths) || request.depths.length === 0 || request.depths.some((d) => !Number.isInteger(d) || d < 1)) {
        issues.push({ field: 'depths', message: `must list positive integers, got ${JSON.stringify(request.depths)}` });
      }
      if (request.baselines.includes('teacher-copy') && !request.teacher) {
        issues.push({ field: 'teacher', message: 'the teacher-copy baseline needs --teacher' });
      }
      if (request.baselines.includes('tleg') && !request.tlegLearngene) {
        issues.push({ field: 'tlegLearngene', message: 'the tleg baseline needs a TLEG learngene (--tleg-learngene; make one with: learngene distill --aux tleg --stages 8)' });
      }
      return issues;
    }
    case 'demo':
      return [...requireText(request.out, 'out'), ...validateDataSpec(request.data)];
    case 'evaluate':
      return [...requireText(request.model, 'model'), ...validateDataSpec(request.data)];
    case 'export':
      return validateExport(request);
    case 'prune':
      return validatePrune(request);
    case 'import': {
      const issues = [...requireText(request.source, 'source'), ...requireText(request.out, 'out')];
      if (request.heads !== undefined && !(Number.isInteger(request.heads) && request.heads > 0)) {
        issues.push({ field: 'heads', message: `must be a positive integer, got ${JSON.stringify(request.heads)}` });
      }
      return issues;
    }
  }
}

/** Backends a job may ask for (node/backends.ts BACKEND_PREFERENCE, plus 'auto'). */
export const BACKEND_CHOICES = ['auto', 'tensorflow-gpu', 'webgpu', 'tensorflow', 'wasm', 'cpu'] as const;

/** Validation of submit/resume options, as the GUI's run dialog names them. */
export function validateSubmitOptions(options: SubmitOptions): ValidationIssue[] {
  const issues: ValidationIssue[] = [];
  const { checkpointEvery, backend } = options;
  if (checkpointEvery !== undefined && !(Number.isInteger(checkpointEvery) && checkpointEvery >= 0)) {
    issues.push({ field: 'checkpointEvery', message: `must be a non-negative integer (0: only at epoch ends), got ${JSON.stringify(checkpointEvery)}` });
  }
  if (backend !== undefined && !(BACKEND_CHOICES as readonly string[]).includes(backend)) {
    issues.push({ field: 'backend', message: `unknown backend ${JSON.stringify(backend)}; choose one of ${BACKEND_CHOICES.join(', ')}` });
  }
  return issues;
}
