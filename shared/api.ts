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
  ConfigError,
} from './config.js';
import type { JobKind, ProgressEvent } from './events.js';
import type { JobResult } from './results.js';
import { checkValue, preview, type Field, type Schema } from './schema.js';

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
  /** A model, a foreign checkpoint, or a learngene with a head (evaluated as its Aux-Net). */
  model: string;
  data: DataSpec;
  split: 'test' | 'val';
  /** How many of the most confident mistakes to report (default 20). */
  mistakes?: number;
}

/** 'sws-reference': a learngene in the official SWS code's layout (engine/export/sws-reference.ts). */
export type ExportFormat = 'onnx' | 'tfjs' | 'timm' | 'sws-reference';
export const EXPORT_FORMATS: readonly ExportFormat[] = ['onnx', 'tfjs', 'timm', 'sws-reference'];

/** How an int8 ONNX export sets its activation ranges: from calibration images, or at run time. */
export type CalibrationMethod = 'auto' | 'minmax' | 'percentile';
export const CALIBRATION_METHODS: readonly CalibrationMethod[] = ['auto', 'minmax', 'percentile'];

export interface ExportRequest {
  kind: 'export';
  /** A model; for 'sws-reference' a learngene. */
  model: string;
  format: ExportFormat;
  out: string;
  /** Attention heads of a foreign checkpoint without config.json. */
  heads?: number;
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
  /** Layers per stage of an Aux-Net checkpoint of the official SWS code (it does not record them). */
  stages?: number[];
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
  /** What the job returned once done (its `kind` is the job's). */
  result?: JobResult;
  /** Why the job failed. `name` classifies it (ConfigError/FormatError: the input was rejected;
   *  NonFiniteLossError, WriteError, WorkerCrash, Interrupted ...); `issues` for form fields. */
  error?: { message: string; field?: string; file?: string; name?: string; issues?: ValidationIssue[] };
}

/**
 * Every compute backend, in the order `auto` considers them (node/backends.ts): GPU
 * execution providers of onnxruntime, its CPU EP, then the TensorFlow.js backends.
 */
export const BACKEND_NAMES = [
  'onnxruntime-cuda', 'onnxruntime-dml', 'onnxruntime-coreml', 'onnxruntime-webgpu', 'onnxruntime',
  'tensorflow-gpu', 'tensorflow', 'wasm', 'cpu',
] as const;

export type BackendName = (typeof BACKEND_NAMES)[number];

/** Backends a job may ask for. */
export const BACKEND_CHOICES = ['auto', ...BACKEND_NAMES] as const;


export interface SubmitOptions {
  /** Also checkpoint every N optimizer steps (epoch ends always checkpoint). */
  checkpointEvery?: number;
  /** The job's backend: a name of BACKEND_NAMES, or 'auto' (default). */
  backend?: string;
  /**
   * Replace an existing output that is not our own artifact (`learngene … --force`).
   * Without it such an output is refused; our own models, learngenes and exports are
   * replaced either way. Browser mode never allows it.
   */
  force?: boolean;
  /**
   * Write to the first free version of the output (`out`, `out-2`, `out-3` …) instead of
   * replacing what is there; the result names where it went. The studio's choice.
   */
  newVersion?: boolean;
}

/** An image to classify: a file (PNG, JPEG, …), or one image of a dataset's split by its index. */
export type ImageRef = string | DatasetImageRef;

export interface DatasetImageRef {
  dataset: string;
  split: 'train' | 'test';
  index: number;
}

/** `predict`: a model's top-k classes for images, preprocessed as its metadata says. */
export interface PredictRequest {
  /** A model, checkpoint, learngene (its Aux-Net) or ONNX file. */
  model: string;
  images: ImageRef[];
  /** How many classes to list per image (default 5). */
  top?: number;
}

export interface Prediction {
  /** The file, or `<dataset>#<split>/<index>`. */
  image: string;
  /** Most probable first. */
  top: { label: string; index: number; probability: number }[];
}

export interface PredictResult {
  model: string;
  classNames: string[];
  /** What the images were turned into: the model's input size and channels. */
  imageSize: number;
  channels: number;
  predictions: Prediction[];
}

/** Thumbnails of a dataset's images by index (a confusion-matrix cell's images). */
export interface DatasetImagesRequest {
  dataset: string;
  split: 'train' | 'test';
  indices: number[];
  /** Side of the square thumbnails in pixels (default 64). */
  size?: number;
}

export interface DatasetImage {
  index: number;
  /** The image's class as the dataset labels it. */
  label: string;
  /** data:image/png;base64,… */
  dataUrl: string;
}

/** The jobs half of the API: the job service (node/jobs/service.ts) implements it. */
export interface JobApi {
  submit(request: JobRequest, options?: SubmitOptions): Promise<JobInfo>;
  list(): Promise<JobInfo[]>;
  get(id: string): Promise<JobInfo | null>;
  cancel(id: string): Promise<void>;
  /** Runs a stopped or failed run again (by id; the CLI also by folder); `options.backend` moves it to another backend. */
  resume(runDirOrId: string, options?: SubmitOptions): Promise<JobInfo>;
  events(id: string): Promise<ProgressEvent[]>;
  on(listener: (event: ProgressEvent) => void): () => void;
}

/**
 * What the studio backend (node/studio/backend.ts) offers every front end: the jobs,
 * plus describing files, the backends and the project. IPC, the WebSocket and the CLI
 * all reach this one implementation.
 */
export interface StudioApi extends JobApi {
  /** Describes a model, learngene, foreign checkpoint, export or dataset (with sample thumbnails). */
  inspect(path: string, options?: InspectOptions): Promise<InspectResult>;
  /** The backends on this machine, fastest first; the first usable one is the default. */
  backends(): Promise<BackendInfo[]>;
  /** The project folder jobs write into (runs/, teacher/, learngene/, descendants/, exports/). */
  project(): Promise<ProjectInfo>;
  /** A model's top-k classes for images (files or dataset images), with its own preprocessing. */
  predict(request: PredictRequest): Promise<PredictResult>;
  /** Thumbnails of dataset images by index, with their labels. */
  datasetImages(request: DatasetImagesRequest): Promise<DatasetImage[]>;
}

/** The names of every StudioApi call a transport forwards (all but `on`, which is the event push). */
export const STUDIO_METHODS = ['submit', 'list', 'get', 'cancel', 'resume', 'events', 'inspect', 'backends', 'project', 'predict', 'datasetImages'] as const;
export type StudioMethod = (typeof STUDIO_METHODS)[number];

/** One line of backend status (node/backends.ts BackendStatus). */
export interface BackendInfo {
  name: string;
  usable: boolean;
  /** What it is when usable ("onnxruntime 1.30 · CPU · 2 threads"), why not otherwise. */
  detail: string;
  /** Runs on a GPU (or a GPU API). */
  gpu?: boolean;
  /** A CPU emulation of a GPU API (SwiftShader): right answers, no speed. */
  emulated?: boolean;
  /** What jobs on `auto` run on. */
  default?: boolean;
  /** Measured training throughput in GFLOP/s (shared/flops.ts counting), when measured: what cost estimates use. */
  trainGflops?: number;
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

/** How a model expects its images (engine/data/types.ts Preprocess). */
export interface PreprocessInfo {
  imageSize: number;
  channels: number;
  mean: number[];
  std: number[];
}

/** Where a model or learngene came from (engine/io/model-file.ts Provenance). */
export interface ProvenanceInfo {
  createdBy: string;
  createdAt: string;
  inputs?: Record<string, { path?: string; sha256?: string; format?: string; detail?: string }>;
  details?: Record<string, unknown>;
}

/** A model, foreign checkpoint or export, as `inspect` describes it. */
export interface ModelInspection {
  kind: 'model';
  /** The file read (a folder's model file). */
  path: string;
  /** What it is: our model, a foreign checkpoint, or one of our exports (or a foreign ONNX / tfjs model). */
  artifact: 'learngene-model' | 'checkpoint' | 'timm-export' | 'onnx' | 'tfjs-graph-model';
  /** learngene-model | timm | hf | torchvision | onnx | tfjs-graph-model */
  format: string;
  sha256: string;
  config?: ViTConfig;
  /** Parameter count (from the config). */
  params?: number;
  preprocess?: PreprocessInfo;
  classNames?: string[];
  provenance?: ProvenanceInfo;
  metrics?: Record<string, unknown>;
  /** Import assumptions, or why a field is unknown. */
  notes: string[];
  onnx?: {
    opsets: { domain: string; version: number }[];
    producer: { name: string; version: string };
    inputs: { name: string; type: string; shape: (number | string)[] }[];
    outputs: { name: string; type: string; shape: (number | string)[] }[];
    numClasses: number | null;
  };
  tfjs?: { weights: number; shards: string[] };
}

export interface LearngeneInspection {
  kind: 'learngene';
  path: string;
  sha256: string;
  learngeneKind: AuxKind;
  stages: number[];
  config: ViTConfig;
  /** Parameters stored in the learngene. */
  params: number;
  /** The Aux-Net's head is kept (descendants with the same labels inherit it). */
  hasHead: boolean;
  preprocess: PreprocessInfo;
  classNames: string[];
  provenance: ProvenanceInfo;
  metrics?: Record<string, unknown>;
}

export interface DatasetInspection {
  kind: 'dataset';
  path: string;
  report: DatasetReportInfo;
  /** A few thumbnails per class (none when `inspect` was asked for none). */
  samples: SampleImage[];
}

/** What `inspect` says about a path: the one shape of the CLI's --json and the studio window. */
export type InspectResult = ModelInspection | LearngeneInspection | DatasetInspection;

export interface InspectOptions {
  /** Thumbnails of a dataset's images (default true; the CLI asks for none). */
  samples?: boolean;
}

export const DEFAULT_DATA: DataSpec = { valFraction: 0.1, augment: { cropPadding: 0, horizontalFlip: false } };

// ------------------------------------------------------------------------------------
// The shape of every request, checked before anything else (shared/schema.ts); the
// range rules below run once the shape is right.

/** Longest path a request may carry. */
export const MAX_PATH_LENGTH = 4096;
/** Run ids: `<yyyymmdd-hhmmss>-<kind>-<hex>` as the job service makes them; never a path. */
export const RUN_ID_PATTERN = /^[\w-]{1,128}$/;

/** Why `value` is not a run id (a path such as `../x` never is one), or nothing. */
export function validateRunId(value: unknown): ValidationIssue[] {
  return typeof value === 'string' && RUN_ID_PATTERN.test(value) ? [] : [{ field: 'id', message: `must be a run id (letters, digits, _ and -), got ${preview(value)}` }];
}

/** A path field. Emptiness is a rule, not a shape problem: a form with no teacher yet still gets its other fields checked. */
const PATH: Schema = { type: 'string', maxLength: MAX_PATH_LENGTH };
const INT_FROM_0: Schema = { type: 'number', integer: true, min: 0 };
const INT_FROM_1: Schema = { type: 'number', integer: true, min: 1 };
const NUMBER: Schema = { type: 'number' };
const SEED: Schema = { type: 'number', integer: true, min: 0, max: 4_294_967_295 };
const CLASS_INDICES: Schema = { type: 'array', items: INT_FROM_0, maxItems: 100_000 };
const LAYER_COUNTS: Schema = { type: 'array', items: INT_FROM_1, maxItems: 1024 };

const AUGMENT_FIELDS = { cropPadding: INT_FROM_0, horizontalFlip: { type: 'boolean' } } as const satisfies Record<keyof AugmentConfig, Field>;

const DATA_FIELDS = {
  path: { ...PATH, optional: true },
  valFraction: NUMBER,
  limit: { ...INT_FROM_1, optional: true },
  testLimit: { ...INT_FROM_1, optional: true },
  classes: { ...CLASS_INDICES, optional: true },
  augment: { type: 'object', fields: AUGMENT_FIELDS },
} as const satisfies Record<keyof DataSpec, Field>;
const DATA_SCHEMA: Schema = { type: 'object', fields: DATA_FIELDS };

const OPTIM_FIELDS = {
  epochs: INT_FROM_0, batchSize: INT_FROM_1, lr: NUMBER, minLr: NUMBER, weightDecay: NUMBER, warmupEpochs: NUMBER,
  beta1: NUMBER, beta2: NUMBER, eps: NUMBER, clipGradNorm: NUMBER, labelSmoothing: NUMBER,
} as const satisfies Record<keyof OptimConfig, Field>;
const OPTIM_SCHEMA: Schema = { type: 'object', fields: OPTIM_FIELDS };

/** Every ViTConfig field, optional (a request gives the ones it sets). */
const VIT_FIELDS = {
  imageSize: { ...INT_FROM_1, optional: true },
  channels: { ...INT_FROM_1, optional: true },
  patchSize: { ...INT_FROM_1, optional: true },
  dim: { ...INT_FROM_1, optional: true },
  depth: { ...INT_FROM_1, optional: true },
  heads: { ...INT_FROM_1, optional: true },
  headDim: { ...INT_FROM_1, optional: true },
  mlpRatio: { ...NUMBER, optional: true },
  qkvBias: { type: 'boolean', optional: true },
  pooling: { type: 'string', oneOf: ['cls', 'avg'], optional: true },
  layerNormEps: { ...NUMBER, optional: true },
  gelu: { type: 'string', oneOf: ['exact', 'tanh'], optional: true },
  dropPath: { ...NUMBER, optional: true },
  numClasses: { ...INT_FROM_1, optional: true },
} as const satisfies Record<keyof ViTConfig, Field>;

const AUX_FIELDS = {
  dim: VIT_FIELDS.dim, heads: VIT_FIELDS.heads, mlpRatio: VIT_FIELDS.mlpRatio, patchSize: VIT_FIELDS.patchSize,
  dropPath: VIT_FIELDS.dropPath, pooling: VIT_FIELDS.pooling, imageSize: VIT_FIELDS.imageSize,
} as const satisfies Record<keyof DistillRequest['aux'], Field>;

/** Each request kind's fields; `satisfies` keeps the field names in step with the interfaces above. */
const REQUEST_FIELDS = {
  train: { kind: { type: 'string', oneOf: ['train'] }, data: DATA_SCHEMA, out: PATH, model: { type: 'object', fields: VIT_FIELDS }, optim: OPTIM_SCHEMA, seed: SEED },
  distill: {
    kind: { type: 'string', oneOf: ['distill'] },
    teacher: PATH,
    data: DATA_SCHEMA,
    out: PATH,
    auxKind: { type: 'string', oneOf: ['sws', 'tleg'] },
    stages: LAYER_COUNTS,
    aux: { type: 'object', fields: AUX_FIELDS },
    teacherHeads: { ...INT_FROM_1, optional: true },
    teacherNormalization: {
      type: 'either',
      hint: '"imagenet", "none" or {mean: [...], std: [...]}',
      options: [
        { type: 'string', oneOf: ['imagenet', 'none'] },
        { type: 'object', fields: { mean: { type: 'array', items: NUMBER, minItems: 1, maxItems: 4 }, std: { type: 'array', items: NUMBER, minItems: 1, maxItems: 4 } } },
      ],
      optional: true,
    },
    distill: { type: 'object', fields: { alpha: NUMBER, tau: NUMBER, reduction: { type: 'string', oneOf: ['batchmean', 'numel'], optional: true } } },
    optim: OPTIM_SCHEMA,
    seed: SEED,
    keepHead: { type: 'boolean' },
  },
  grow: {
    kind: { type: 'string', oneOf: ['grow'] },
    learngene: PATH,
    depth: INT_FROM_1,
    layersSource: { type: 'array', items: INT_FROM_0, maxItems: 1024, optional: true },
    numClasses: { ...INT_FROM_1, optional: true },
    classNames: { type: 'array', items: { type: 'string', maxLength: 256 }, maxItems: 100_000, optional: true },
    out: PATH,
    seed: SEED,
  },
  finetune: { kind: { type: 'string', oneOf: ['finetune'] }, model: PATH, data: DATA_SCHEMA, out: PATH, optim: OPTIM_SCHEMA, seed: SEED },
  compare: {
    kind: { type: 'string', oneOf: ['compare'] },
    learngene: PATH,
    tlegLearngene: { ...PATH, optional: true },
    teacher: { ...PATH, optional: true },
    data: DATA_SCHEMA,
    depths: { ...LAYER_COUNTS, maxItems: 64 },
    baselines: { type: 'array', items: { type: 'string', oneOf: ['scratch', 'tleg', 'teacher-copy'] }, maxItems: 3 },
    optim: OPTIM_SCHEMA,
    scratchLrs: { type: 'array', items: NUMBER, maxItems: 16, optional: true },
    seed: SEED,
    out: { ...PATH, optional: true },
  },
  demo: { kind: { type: 'string', oneOf: ['demo'] }, data: DATA_SCHEMA, quick: { type: 'boolean' }, out: PATH, seed: SEED },
  evaluate: {
    kind: { type: 'string', oneOf: ['evaluate'] }, model: PATH, data: DATA_SCHEMA, split: { type: 'string', oneOf: ['test', 'val'] },
    mistakes: { type: 'number', integer: true, min: 0, max: 10_000, optional: true },
  },
  export: {
    kind: { type: 'string', oneOf: ['export'] },
    model: PATH,
    format: { type: 'string', oneOf: EXPORT_FORMATS },
    out: PATH,
    heads: { ...INT_FROM_1, optional: true },
    quantize: { type: 'string', oneOf: ['int8'], optional: true },
    calibration: {
      type: 'object',
      fields: { data: DATA_SCHEMA, images: { ...INT_FROM_1, optional: true }, method: { type: 'string', oneOf: CALIBRATION_METHODS, optional: true } },
      optional: true,
    },
  },
  prune: {
    kind: { type: 'string', oneOf: ['prune'] },
    model: { ...PATH, optional: true },
    learngene: { ...PATH, optional: true },
    out: PATH,
    headsKeep: NUMBER,
    mlpKeep: NUMBER,
    importance: { type: 'string', oneOf: IMPORTANCE_KINDS },
    data: { ...DATA_SCHEMA, optional: true },
    batches: { ...INT_FROM_1, optional: true },
    seed: SEED,
  },
  import: { kind: { type: 'string', oneOf: ['import'] }, source: PATH, out: PATH, heads: { ...INT_FROM_1, optional: true }, stages: { ...LAYER_COUNTS, optional: true } },
} as const satisfies { [K in JobKind]: Record<keyof Extract<JobRequest, { kind: K }>, Field> };

export const REQUEST_SCHEMA: Schema = {
  type: 'tagged',
  tag: 'kind',
  variants: {
    train: { type: 'object', fields: REQUEST_FIELDS.train },
    distill: { type: 'object', fields: REQUEST_FIELDS.distill },
    grow: { type: 'object', fields: REQUEST_FIELDS.grow },
    finetune: { type: 'object', fields: REQUEST_FIELDS.finetune },
    compare: { type: 'object', fields: REQUEST_FIELDS.compare },
    demo: { type: 'object', fields: REQUEST_FIELDS.demo },
    evaluate: { type: 'object', fields: REQUEST_FIELDS.evaluate },
    export: { type: 'object', fields: REQUEST_FIELDS.export },
    prune: { type: 'object', fields: REQUEST_FIELDS.prune },
    import: { type: 'object', fields: REQUEST_FIELDS.import },
  },
};

const SPLIT: Schema = { type: 'string', oneOf: ['train', 'test'] };
const NONEMPTY_PATH: Schema = { ...PATH, nonEmpty: true };

/** A predict call's request (shared/calls.ts; the backend checks it again for the CLI). */
export const PREDICT_SCHEMA: Schema = {
  type: 'object',
  fields: {
    model: NONEMPTY_PATH,
    images: {
      type: 'array',
      minItems: 1,
      maxItems: 256,
      items: {
        type: 'either',
        hint: 'an image file path or {dataset, split, index}',
        options: [NONEMPTY_PATH, { type: 'object', fields: { dataset: NONEMPTY_PATH, split: SPLIT, index: INT_FROM_0 } }],
      },
    },
    top: { type: 'number', integer: true, min: 1, max: 1000, optional: true },
  },
};

export const DATASET_IMAGES_SCHEMA: Schema = {
  type: 'object',
  fields: {
    dataset: NONEMPTY_PATH,
    split: SPLIT,
    indices: { type: 'array', items: INT_FROM_0, minItems: 1, maxItems: 256 },
    size: { type: 'number', integer: true, min: 8, max: 512, optional: true },
  },
};

export const SUBMIT_OPTIONS_SCHEMA: Schema = {
  type: 'object',
  fields: {
    checkpointEvery: { ...INT_FROM_0, optional: true },
    backend: { type: 'string', oneOf: BACKEND_CHOICES, noun: 'backend', optional: true },
    force: { type: 'boolean', optional: true },
    newVersion: { type: 'boolean', optional: true },
  },
};

export function validateDataSpec(data: DataSpec, prefix = 'data.'): ValidationIssue[] {
  const issues = validateAugment(data.augment, prefix + 'augment.');
  if (typeof data.valFraction !== 'number' || !(data.valFraction >= 0 && data.valFraction < 1)) {
    issues.push({ field: prefix + 'valFraction', message: `must be in [0, 1), got ${preview(data.valFraction)}` });
  }
  for (const key of ['limit', 'testLimit'] as const) {
    const value = data[key];
    if (value !== undefined && !(Number.isInteger(value) && value > 0)) {
      issues.push({ field: prefix + key, message: `must be a positive integer, got ${preview(value)}` });
    }
  }
  if (data.classes !== undefined) {
    if (!Array.isArray(data.classes) || data.classes.length < 2) {
      issues.push({ field: prefix + 'classes', message: 'needs at least two class indices to train a classifier' });
    } else if (data.classes.some((c) => !Number.isInteger(c) || c < 0)) {
      issues.push({ field: prefix + 'classes', message: `must be non-negative class indices, got ${preview(data.classes.join(','))}` });
    } else if (new Set(data.classes).size !== data.classes.length) {
      issues.push({ field: prefix + 'classes', message: `lists a class twice: ${preview(data.classes.join(','))}` });
    }
  }
  return issues;
}

/**
 * A train request's model as far as it is known before the data is read. Image size and
 * channels come from the dataset when not given, so the patch-size check waits for the
 * job (which checks it against the data's real size) instead of assuming a default size.
 */
function modelToValidate(model: Partial<ViTConfig>): ViTConfig {
  const config = { ...defaultViTConfig(), ...withoutUndefined(model) };
  if (model.imageSize === undefined && Number.isInteger(config.patchSize) && config.patchSize > 0) config.imageSize = config.patchSize;
  return config;
}

/** An export's rules between fields (their types are the schema's). */
function validateExport(request: ExportRequest): ValidationIssue[] {
  const issues: ValidationIssue[] = [];
  if (request.quantize !== undefined && request.format !== 'onnx') {
    issues.push({ field: 'quantize', message: `int8 quantization is for the ONNX export, not ${request.format}` });
  }
  if (request.calibration !== undefined) {
    if (request.quantize !== 'int8') issues.push({ field: 'calibration', message: 'calibration data is only used by an int8 export (--quantize int8)' });
    issues.push(...validateDataSpec(request.calibration.data, 'calibration.data.'));
  }
  return issues;
}

/** The keep values a prune request can be checked for before its model is read (the counts need the model). */
function validateKeep(value: number, field: string, what: string): ValidationIssue[] {
  if (value <= 0) return [{ field, message: `must keep some ${what}: a fraction in (0, 1] or a whole count, got ${preview(value)}` }];
  if (value > 1 && !Number.isInteger(value)) return [{ field, message: `${value} is neither a fraction in (0, 1] nor a whole count of ${what}` }];
  return [];
}

/** A prune request's rules between fields (their types are the schema's). */
function validatePrune(request: PruneRequest): ValidationIssue[] {
  const issues: ValidationIssue[] = [];
  const sources = (['model', 'learngene'] as const).filter((key) => request[key] !== undefined);
  if (sources.length !== 1) issues.push({ field: 'model', message: 'give exactly one of a model (--model) or a learngene (--learngene) to prune' });
  else if (request[sources[0]!]!.trim() === '') issues.push({ field: sources[0]!, message: 'is required' });
  issues.push(...validateKeep(request.headsKeep, 'headsKeep', 'heads'), ...validateKeep(request.mlpKeep, 'mlpKeep', 'MLP units'));
  if (request.data !== undefined) issues.push(...validateDataSpec(request.data));
  return issues;
}

function withoutUndefined<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}

/**
 * Every problem of a request, field paths as the GUI's forms name them: first its shape
 * (unknown kind; missing, extra or mistyped fields), then, once the shape is right, the
 * rules between fields. The one validator of every boundary (IPC, WebSocket, CLI, the
 * job service, request.json of a resumed run).
 */
export function validateRequest(value: unknown): ValidationIssue[] {
  const shape = checkValue(REQUEST_SCHEMA, value, '', 'request');
  if (shape.length > 0) return shape;
  const request = value as JobRequest;
  return [...requiredPaths(request), ...requestRules(request)];
}

/** The request's required path fields that are empty. */
function requiredPaths(request: JobRequest): ValidationIssue[] {
  const fields: Record<string, Field> = REQUEST_FIELDS[request.kind];
  const values: Record<string, unknown> = { ...request };
  return Object.keys(fields)
    .filter((key) => fields[key] === PATH && typeof values[key] === 'string' && (values[key] as string).trim() === '')
    .map((field) => ({ field, message: 'is required' }));
}

/** `value` as a JobRequest, or a ConfigError naming every bad field. */
export function parseRequest(value: unknown): JobRequest {
  const issues = validateRequest(value);
  if (issues.length > 0) throw new ConfigError(issues);
  return value as JobRequest;
}

/** The rules between fields of a well-shaped request. */
function requestRules(request: JobRequest): ValidationIssue[] {
  switch (request.kind) {
    case 'train':
      return [
        ...validateDataSpec(request.data),
        ...validateViTConfig(modelToValidate(request.model), 'model.'),
        ...validateOptimConfig(request.optim, 'optim.'),
      ];
    case 'distill': {
      const issues = [
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
      const normalization = request.teacherNormalization;
      if (typeof normalization === 'object' && (normalization.mean.length !== normalization.std.length || normalization.std.some((s) => !(s > 0)))) {
        issues.push({ field: 'teacherNormalization', message: 'needs as many std as mean values, every std positive' });
      }
      return issues;
    }
    case 'grow': {
      const issues: ValidationIssue[] = [];
      if (request.numClasses !== undefined && request.numClasses < 2) {
        issues.push({ field: 'numClasses', message: `must be an integer ≥ 2, got ${request.numClasses}` });
      }
      return issues;
    }
    case 'finetune':
      return [...validateDataSpec(request.data), ...validateOptimConfig(request.optim, 'optim.')];
    case 'compare': {
      const issues = [...validateDataSpec(request.data), ...validateOptimConfig(request.optim, 'optim.')];
      if (request.depths.length === 0) issues.push({ field: 'depths', message: 'must list at least one depth' });
      if (request.baselines.includes('teacher-copy') && !request.teacher) {
        issues.push({ field: 'teacher', message: 'the teacher-copy baseline needs --teacher' });
      }
      if (request.baselines.includes('tleg') && !request.tlegLearngene) {
        issues.push({ field: 'tlegLearngene', message: 'the tleg baseline needs a TLEG learngene (--tleg-learngene; make one with: learngene distill --aux tleg --stages 8)' });
      }
      if (request.scratchLrs?.some((lr) => !(lr > 0))) issues.push({ field: 'scratchLrs', message: 'must list positive learning rates' });
      return issues;
    }
    case 'demo':
    case 'evaluate':
      return validateDataSpec(request.data);
    case 'export':
      return validateExport(request);
    case 'prune':
      return validatePrune(request);
    case 'import':
      return [];
  }
}

/** Validation of submit/resume options, as the GUI's run dialog names them. */
export function validateSubmitOptions(value: unknown): ValidationIssue[] {
  return checkValue(SUBMIT_OPTIONS_SCHEMA, value ?? {}, '', 'options');
}
