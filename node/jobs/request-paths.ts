// The file paths inside a job request: which are inputs (must exist before the job is
// accepted) and which are outputs. Used by the job service to check inputs before it
// creates anything, and to make every path absolute so request.json means the same thing
// when the run is resumed from another working directory.

import { promises as fs } from 'node:fs';
import path from 'node:path';
import type { JobRequest } from '../../shared/api.js';
import { ConfigError, type ValidationIssue } from '../../shared/config.js';

/** The embedded dataset's name where a dataset path is taken (node/data/open.ts SAMPLE_DATASET). */
const SAMPLE_DATASET = 'sample:fashion-mnist';

export interface RequestPath {
  /** Dotted field of the request, as validation issues name it. */
  field: string;
  value: string;
  role: 'input' | 'output';
  /** What the input should be, for the error message. */
  expected: string;
}

const DATASET = 'a dataset (IDX folder, CIFAR binaries, image folder or archive)';
const MODEL = 'a model folder or .safetensors file';
const LEARNGENE = 'a learngene folder or .safetensors file';

export function requestPaths(request: JobRequest): RequestPath[] {
  const out: RequestPath[] = [];
  const input = (field: string, value: string | undefined, expected: string) => {
    if (typeof value === 'string' && value.length > 0) out.push({ field, value, role: 'input', expected });
  };
  const output = (field: string, value: string | undefined) => {
    if (typeof value === 'string' && value.length > 0) out.push({ field, value, role: 'output', expected: '' });
  };
  const data = (spec: { path?: string } | undefined, field = 'data.path') => {
    if (spec?.path && spec.path !== SAMPLE_DATASET) input(field, spec.path, DATASET);
  };
  switch (request.kind) {
    case 'train':
    case 'demo':
      data(request.data);
      output('out', request.out);
      break;
    case 'distill':
      input('teacher', request.teacher, 'a teacher model (folder, .safetensors checkpoint or .onnx classifier)');
      data(request.data);
      output('out', request.out);
      break;
    case 'grow':
      input('learngene', request.learngene, LEARNGENE);
      output('out', request.out);
      break;
    case 'prune':
      input('model', request.model, MODEL);
      input('learngene', request.learngene, LEARNGENE);
      data(request.data);
      output('out', request.out);
      break;
    case 'finetune':
      input('model', request.model, MODEL);
      data(request.data);
      output('out', request.out);
      break;
    case 'compare':
      input('learngene', request.learngene, LEARNGENE);
      input('tlegLearngene', request.tlegLearngene, LEARNGENE);
      input('teacher', request.teacher, 'a teacher model (folder, .safetensors checkpoint or .onnx classifier)');
      data(request.data);
      output('out', request.out);
      break;
    case 'evaluate':
      input('model', request.model, MODEL);
      data(request.data);
      break;
    case 'export':
      input('model', request.model, MODEL);
      data(request.calibration?.data, 'calibration.data.path');
      output('out', request.out);
      break;
    case 'import':
      input('source', request.source, 'a checkpoint file or folder (safetensors, with an optional config.json)');
      output('out', request.out);
      break;
  }
  return out;
}

/** A copy of `request` with every path absolute (resolved against `cwd`). */
export function absoluteRequest<T extends JobRequest>(request: T, cwd = process.cwd()): T {
  const copy = structuredClone(request) as T;
  for (const p of requestPaths(request)) {
    const absolute = path.resolve(cwd, p.value);
    const keys = p.field.split('.');
    let target = copy as unknown as Record<string, unknown>;
    for (const key of keys.slice(0, -1)) target = target[key] as Record<string, unknown>;
    target[keys[keys.length - 1]!] = absolute;
  }
  return copy;
}

/** Rejects a request whose input files do not exist, before anything is created for it. */
export async function checkInputsExist(request: JobRequest): Promise<void> {
  const issues: ValidationIssue[] = [];
  for (const p of requestPaths(request)) {
    if (p.role !== 'input') continue;
    try {
      await fs.stat(p.value);
    } catch {
      issues.push({ field: p.field, message: `${p.value} does not exist (expected ${p.expected})` });
    }
  }
  if (issues.length > 0) throw new ConfigError(issues);
}
