// The shapes of job results the window reads. They mirror node/jobs/*.ts result types
// (which live with the job handlers, not in shared/); only the fields used here.
import type { ViTConfig } from '../../../shared/config.js';
import type { CompareMethod } from '../../../shared/api.js';

export interface EvalSummary {
  top1: number;
  top5: number;
  loss: number;
  n: number;
}

export interface TrainResultLike {
  out: string;
  file: string;
  params: number;
  config: ViTConfig;
  val: EvalSummary | null;
  test: EvalSummary | null;
}

export interface DistillResultLike {
  out: string;
  file: string;
  kind: 'sws' | 'tleg';
  stages: number[];
  auxConfig: ViTConfig;
  learngeneParams: number;
  auxParams: number;
  teacherParams: number | null;
  val: EvalSummary | null;
  test: EvalSummary | null;
  teacherTest: EvalSummary | null;
}

export interface CompareRowLike {
  depth: number;
  method: CompareMethod;
  params: number;
  top1_1ep: number;
  top1_final: number;
  top5_final: number;
  lr: number;
  epochs: number;
}

export interface CompareResultLike {
  rows: CompareRowLike[];
  evaluatedOn: 'test' | 'val';
  evalImages: number;
  learngeneParams: number;
  separateParams: number;
  storedParamsRatio: number;
  out?: string;
}

export interface GrowResultLike {
  out: string;
  file: string;
  depth: number;
  params: number;
}

export interface ExportResultLike {
  format: 'onnx' | 'tfjs' | 'timm';
  files: string[];
  warnings: string[];
}
