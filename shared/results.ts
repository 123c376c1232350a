// What each job returns: the job handlers (node/jobs) produce these, the CLI prints
// them, the studio window shows them. Every result names the kind of job that made it,
// so `JobResult` is a union keyed by `kind`: narrowing on it types the rest, no casts.
// Types only.

import type { ViTConfig } from './config.js';
import type { CompareMethod } from './api.js';
import type { EvalMetrics, JobKind } from './events.js';

/** One epoch of a training phase. */
export interface EpochRecord {
  epoch: number;
  trainLoss: number;
  val: EvalMetrics | null;
  seconds: number;
}

/** A model trained by a job (train, finetune). */
export interface TrainedModel {
  out: string;
  file: string;
  config: ViTConfig;
  params: number;
  history: EpochRecord[];
  /** Final metrics on the validation split (when held out) and the test split (when the dataset has one). */
  val: EvalMetrics | null;
  test: EvalMetrics | null;
}

export interface TrainResult extends TrainedModel {
  kind: 'train';
}

export interface FinetuneResult extends TrainedModel {
  kind: 'finetune';
  /** The label set changed, so the head started fresh. */
  headReset: boolean;
}

/** One class of an evaluation (`per_class`). */
export interface ClassMetrics {
  label: string;
  /** Correct / n: the fraction of this class's images classified right (= recall for one label per image). */
  accuracy: number;
  /** Correct / images predicted as this class (0 when never predicted). */
  precision: number;
  /** Correct / n. */
  recall: number;
  /** Images of this class evaluated. */
  n: number;
}

/** A wrong prediction: the image (its index in the split as the dataset lists it) and how sure the model was. */
export interface Mistake {
  index: number;
  true: number;
  predicted: number;
  label: string;
  predictedLabel: string;
  /** Softmax probability of the predicted (wrong) class. */
  probability: number;
  /** Softmax probability of the true class. */
  trueProbability: number;
}

/** A few dataset indices of the images in one confusion-matrix cell. */
export interface ConfusionExamples {
  true: number;
  predicted: number;
  indices: number[];
}

export interface EvaluateResult extends EvalMetrics {
  kind: 'evaluate';
  split: 'test' | 'val';
  model: string;
  dataset: string;
  /** The label set, in the order of `confusion`'s rows and columns. */
  classNames: string[];
  /** confusion[true][predicted]: counts summing to n. */
  confusion: number[][];
  per_class: ClassMetrics[];
  /** The most confident mistakes, most confident first. */
  mistakes: Mistake[];
  /** Up to a few dataset indices per non-empty cell (label sets up to 100 classes), for thumbnails. */
  examples: ConfusionExamples[];
  /** Which split of the dataset the indices refer to ('train' for validation images). */
  indexSplit: 'train' | 'test';
  /** The class subset of the request (dataset class indices), if any: `classNames[i]` is dataset class classes[i]. */
  classes?: number[];
}

export interface DistillResult {
  kind: 'distill';
  out: string;
  file: string;
  auxKind: 'sws' | 'tleg';
  stages: number[];
  auxConfig: ViTConfig;
  /** Parameters stored in the learngene. */
  learngeneParams: number;
  auxParams: number;
  teacherParams: number | null;
  history: EpochRecord[];
  val: EvalMetrics | null;
  test: EvalMetrics | null;
  teacherTest: EvalMetrics | null;
}

export interface GrowResult {
  kind: 'grow';
  out: string;
  file: string;
  depth: number;
  layersSource: number[];
  headFrom: 'learngene' | 'fresh';
  params: number;
  config: ViTConfig;
}

export interface CompareRow {
  setting: string;
  depth: number;
  method: CompareMethod;
  params: number;
  /** Test (or validation) top-1 after the first epoch and after the last. */
  top1_1ep: number;
  top1_final: number;
  top5_final: number;
  /** Test (or validation) top-1 after every epoch (of the reported, best-lr run). */
  top1ByEpoch: number[];
  /** Where the head came from: the learngene's/teacher's (same label set) or fresh. */
  head: 'inherited' | 'fresh';
  lr: number;
  epochs: number;
  /** Scratch: every learning rate tried with its final top-1. */
  lrsTried?: { lr: number; top1_1ep: number; top1_final: number }[];
  layersSource?: number[];
  /** Training + per-epoch evaluation time of every lr tried (kept in the run folder, so a resumed run reports the original). */
  seconds: number;
  imagesSeen: number;
}

export interface CompareResult {
  kind: 'compare';
  rows: CompareRow[];
  evaluatedOn: 'test' | 'val';
  evalImages: number;
  learngeneParams: number;
  /** Sum of the descendants' parameters: what storing every size separately costs. */
  separateParams: number;
  storedParamsRatio: number;
  table: string;
  out?: string;
}

export interface DemoResult {
  kind: 'demo';
  out: string;
  teacher: { file: string; test: number | null; params: number };
  learngene: { file: string; params: number; auxTest: number | null; stages: number[] };
  compare: CompareResult;
  /** Parameters kept: one learngene vs every descendant size trained and stored separately. */
  storedParams: { learngene: number; separate: number; ratio: number; sizes: number };
  report: string;
  seconds: number;
}

export interface ExportResult {
  kind: 'export';
  format: 'onnx' | 'tfjs' | 'timm' | 'sws-reference';
  /** Every file written, absolute. */
  files: string[];
  /** Things the target format cannot express exactly, or assumptions made. */
  warnings: string[];
  /** An int8 ONNX export: how it was quantized (also in the file's metadata). */
  quantization?: QuantizationSummary;
}

/** What an int8 export did, recorded in its metadata and returned to the caller. */
export interface QuantizationSummary {
  /** 'static': activation ranges calibrated on images (QDQ); 'dynamic': computed at run time. */
  mode: 'static' | 'dynamic';
  /** MatMuls with int8 weights (per output channel). */
  matmuls: number;
  /** Static only: the calibration that was kept, and the top-1 of each method tried. */
  method?: 'minmax' | 'percentile';
  calibrationImages?: number;
  tried?: { method: 'minmax' | 'percentile'; top1: number; n: number }[];
  /** What the methods were compared on: other images of the dataset, or (too few images) the calibration ones. */
  comparedOn?: 'held-out images' | 'the calibration images';
  /** fp32 top-1 on the same held-out images, for comparison. */
  floatTop1?: number;
}

export interface PruneResult {
  kind: 'prune';
  out: string;
  file: string;
  /** What was pruned: a model, or a learngene (whose descendants inherit the smaller blocks). */
  pruned: 'model' | 'learngene';
  config: ViTConfig;
  importance: 'weight' | 'taylor';
  heads: { before: number; after: number };
  mlpUnits: { before: number; after: number };
  params: { before: number; after: number };
  /** Per block (a layer, a stage, or TLEG's θA/θB pair): the heads and units kept, as indices of the unpruned block. */
  kept: { prefixes: string[]; heads: number[]; units: number[] }[];
}

export interface ImportResult {
  kind: 'import';
  /** The model file written. */
  file: string;
  /** The checkpoint read. */
  source: string;
  /** Parameter naming detected: timm, hf, torchvision, learngene, or sws-reference (then `file` is a learngene). */
  naming: string;
  config: ViTConfig;
  /** Import assumptions (heads guessed, head dropped …). */
  notes: string[];
  sha256: string;
}

/** The result of each kind of job. */
export interface JobResults {
  train: TrainResult;
  distill: DistillResult;
  grow: GrowResult;
  prune: PruneResult;
  finetune: FinetuneResult;
  compare: CompareResult;
  demo: DemoResult;
  evaluate: EvaluateResult;
  export: ExportResult;
  import: ImportResult;
}

/** Any job's result, keyed by `kind`. */
export type JobResult = JobResults[JobKind];

/** Whether `result` is the result of a `kind` job (and typed as such). */
export function isResultOf<K extends JobKind>(result: JobResult | null | undefined, kind: K): result is JobResults[K] {
  return result?.kind === kind;
}
