// Option groups shared by the training commands, and their conversion into the
// request types of shared/api.ts.

import type { OptionSpec, ParsedValue } from './args.js';
import { DEFAULT_OPTIM, type OptimConfig } from '../shared/config.js';
import { BACKEND_CHOICES, type DataSpec } from '../shared/api.js';

export const COMMON_OPTIONS: Record<string, OptionSpec> = {
  json: { kind: 'boolean', help: 'print the result as one JSON object on the last line of stdout' },
  backend: { kind: 'string', meta: 'NAME', help: `${BACKEND_CHOICES.slice(1).join(' | ')} | auto (learngene backends says which work here)`, default: 'auto' },
  help: { kind: 'boolean', short: 'h', help: 'show this help' },
};

export const DATA_OPTIONS: Record<string, OptionSpec> = {
  data: { kind: 'string', meta: 'PATH', help: 'dataset: IDX folder, CIFAR binaries, image folder or archive (default: /usr/share/datasets/fashion-mnist, else the embedded sample)' },
  'val-fraction': { kind: 'number', meta: 'F', help: 'share of training images held out for per-epoch validation', default: 0.1, min: 0 },
  limit: { kind: 'int', help: 'use a class-balanced subset of N training images', min: 1 },
  'test-limit': { kind: 'int', help: 'evaluate on a class-balanced subset of N test images', min: 1 },
  classes: { kind: 'int-list', meta: 'LIST', help: 'keep only these classes, e.g. 0-4 or 5,6,7 (relabelled in order)', min: 0 },
  'crop-padding': { kind: 'int', meta: 'PX', help: 'augmentation: random crop after zero-padding by PX (0: off)', default: 0, min: 0 },
  flip: { kind: 'boolean', help: 'augmentation: random horizontal flip' },
};

export const OPTIM_OPTIONS: Record<string, OptionSpec> = {
  epochs: { kind: 'int', help: 'training epochs', default: DEFAULT_OPTIM.epochs, min: 0 },
  batch: { kind: 'int', help: 'batch size', default: DEFAULT_OPTIM.batchSize, min: 1 },
  lr: { kind: 'number', help: 'peak learning rate (AdamW)', default: DEFAULT_OPTIM.lr },
  'min-lr': { kind: 'number', help: 'learning rate at the end of the cosine schedule', default: DEFAULT_OPTIM.minLr, min: 0 },
  'weight-decay': { kind: 'number', help: 'decoupled weight decay (not on norms, biases, embeddings)', default: DEFAULT_OPTIM.weightDecay, min: 0 },
  'warmup-epochs': { kind: 'number', help: 'linear warm-up length in epochs (fractions allowed)', default: DEFAULT_OPTIM.warmupEpochs, min: 0 },
  'clip-grad': { kind: 'number', help: 'clip the global gradient norm (0: off)', default: DEFAULT_OPTIM.clipGradNorm, min: 0 },
  'label-smoothing': { kind: 'number', help: 'label smoothing of the cross-entropy', default: DEFAULT_OPTIM.labelSmoothing, min: 0 },
  seed: { kind: 'int', help: 'seed for initialization, data order, augmentation and drop-path', default: 0, min: 0 },
};

/** Outputs are never written over files learngene did not write, unless this is given. */
export const FORCE_OPTION: Record<string, OptionSpec> = {
  force: { kind: 'boolean', help: 'replace an existing output even if learngene did not write it' },
};

export const RUN_OPTIONS: Record<string, OptionSpec> = {
  project: { kind: 'string', meta: 'DIR', help: 'project folder; the run is kept in DIR/runs/<id> (checkpoints, events)', default: '.' },
  'checkpoint-every': { kind: 'int', meta: 'N', help: 'also checkpoint every N optimizer steps (epoch ends always checkpoint)', default: 0, min: 0 },
  ...FORCE_OPTION,
};

type Values = Record<string, ParsedValue>;

export function dataSpecFrom(values: Values): DataSpec {
  return {
    path: values.data as string | undefined,
    valFraction: values['val-fraction'] as number,
    limit: values.limit as number | undefined,
    testLimit: values['test-limit'] as number | undefined,
    classes: values.classes as number[] | undefined,
    augment: { cropPadding: values['crop-padding'] as number, horizontalFlip: Boolean(values.flip) },
  };
}

export function optimFrom(values: Values, overrides: Partial<OptimConfig> = {}): OptimConfig {
  return {
    ...DEFAULT_OPTIM,
    ...overrides,
    epochs: values.epochs as number,
    batchSize: values.batch as number,
    lr: values.lr as number,
    minLr: values['min-lr'] as number,
    weightDecay: values['weight-decay'] as number,
    warmupEpochs: values['warmup-epochs'] as number,
    clipGradNorm: values['clip-grad'] as number,
    labelSmoothing: values['label-smoothing'] as number,
  };
}
