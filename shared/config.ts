// Configuration types shared by the engine, the job service, the CLI and the renderer,
// with their validation. Types and pure functions only: nothing here touches Node, tfjs
// or the DOM, so the GUI can show the same messages before a job starts.

export type Pooling = 'cls' | 'avg';
export type GeluKind = 'exact' | 'tanh';

/** A Vision Transformer, described the way timm builds one. */
export interface ViTConfig {
  imageSize: number;
  channels: number;
  patchSize: number;
  dim: number;
  depth: number;
  heads: number;
  /**
   * Width of one attention head; absent → dim / heads. Set by structured pruning, which
   * keeps fewer heads of the same width, so heads × headDim (attnDim) may differ from dim.
   */
  headDim?: number;
  /**
   * MLP hidden width = round(dim * mlpRatio). Any width w is expressible: round(dim · (w / dim))
   * is exactly w in float64, so a pruned MLP of w units stores mlpRatio = w / dim.
   */
  mlpRatio: number;
  qkvBias: boolean;
  /** 'cls': class token + final `norm`; 'avg': mean of patch tokens + `fc_norm` (timm). */
  pooling: Pooling;
  layerNormEps: number;
  gelu: GeluKind;
  /** Stochastic depth rate of the last layer; layer i gets dropPath * i / (depth - 1). */
  dropPath: number;
  numClasses: number;
}

/** How the layers of an auxiliary network share parameters. */
export type AuxKind = 'sws' | 'tleg';

/**
 * An Aux-Net: a ViT whose layers are generated from a few parameter sets.
 * 'sws': stage s owns one block, shared by its `stages[s]` consecutive layers.
 * 'tleg': one stage; layer l of L uses thetaA + (l / L) * thetaB.
 */
export interface AuxNetConfig {
  kind: AuxKind;
  vit: ViTConfig;
  /** Layers per stage; sums to vit.depth. For 'tleg' a single entry. */
  stages: number[];
}

export interface OptimConfig {
  epochs: number;
  batchSize: number;
  lr: number;
  minLr: number;
  weightDecay: number;
  warmupEpochs: number;
  beta1: number;
  beta2: number;
  eps: number;
  /** Global gradient-norm clip; 0 disables. */
  clipGradNorm: number;
  labelSmoothing: number;
}

export interface AugmentConfig {
  /** Zero-padding before a random crop back to the image size; 0 disables the crop. */
  cropPadding: number;
  horizontalFlip: boolean;
}

export interface DistillLossConfig {
  /** loss = (1 - alpha) * CE(labels) + alpha * tau^2 * KL(teacher_tau || student_tau). */
  alpha: number;
  tau: number;
}

export interface ValidationIssue {
  /** The config field (dotted path) or file the problem is about. */
  field: string;
  message: string;
}

export const DEFAULT_OPTIM: OptimConfig = {
  epochs: 3,
  batchSize: 64,
  lr: 1e-3,
  minLr: 1e-5,
  weightDecay: 0.05,
  warmupEpochs: 0,
  beta1: 0.9,
  beta2: 0.999,
  eps: 1e-8,
  clipGradNorm: 1.0,
  labelSmoothing: 0,
};

export const DEFAULT_AUGMENT: AugmentConfig = { cropPadding: 0, horizontalFlip: false };

export const DEFAULT_DISTILL: DistillLossConfig = { alpha: 1, tau: 1 };

export function defaultViTConfig(overrides: Partial<ViTConfig> = {}): ViTConfig {
  return {
    imageSize: 28,
    channels: 1,
    patchSize: 7,
    dim: 64,
    depth: 4,
    heads: 4,
    mlpRatio: 4,
    qkvBias: true,
    pooling: 'avg',
    layerNormEps: 1e-6,
    gelu: 'exact',
    dropPath: 0,
    numClasses: 10,
    ...overrides,
  };
}

// The three widths inside a block. Everything that builds, counts or exports a block
// (engine/model/vit.ts, engine/export/graph.ts, param-count, flops, the training graph)
// asks these, so a pruned model is an ordinary ViT to all of them.

/** MLP hidden width. */
export function mlpHidden(config: Pick<ViTConfig, 'dim' | 'mlpRatio'>): number {
  return Math.round(config.dim * config.mlpRatio);
}

/** Width of one attention head. */
export function headDim(config: Pick<ViTConfig, 'dim' | 'heads' | 'headDim'>): number {
  return config.headDim ?? config.dim / config.heads;
}

/** Width of q, k, v and of the projection's input: heads × headDim (= dim unless heads were pruned). */
export function attnDim(config: Pick<ViTConfig, 'dim' | 'heads' | 'headDim'>): number {
  return config.heads * headDim(config);
}

export function numPatches(config: ViTConfig): number {
  const perSide = config.imageSize / config.patchSize;
  return perSide * perSide;
}

/** Tokens entering the first block: patches plus the class token when pooling is 'cls'. */
export function numTokens(config: ViTConfig): number {
  return numPatches(config) + (config.pooling === 'cls' ? 1 : 0);
}

function isPositiveInt(value: unknown): value is number {
  return typeof value === 'number' && Number.isInteger(value) && value > 0;
}

function isFiniteNumber(value: unknown): value is number {
  return typeof value === 'number' && Number.isFinite(value);
}

export function validateViTConfig(config: ViTConfig, prefix = ''): ValidationIssue[] {
  const issues: ValidationIssue[] = [];
  const at = (field: string) => prefix + field;
  for (const key of ['imageSize', 'channels', 'patchSize', 'dim', 'depth', 'heads', 'numClasses'] as const) {
    if (!isPositiveInt(config[key])) {
      issues.push({ field: at(key), message: `must be a positive integer, got ${JSON.stringify(config[key])}` });
    }
  }
  if (issues.length > 0) return issues;
  if (config.imageSize % config.patchSize !== 0) {
    issues.push({
      field: at('patchSize'),
      message: `patch size ${config.patchSize} must divide image size ${config.imageSize}`,
    });
  }
  if (config.headDim === undefined && config.dim % config.heads !== 0) {
    issues.push({ field: at('heads'), message: `heads ${config.heads} must divide dim ${config.dim}` });
  }
  if (config.headDim !== undefined && !isPositiveInt(config.headDim)) {
    issues.push({ field: at('headDim'), message: `must be a positive integer when given, got ${JSON.stringify(config.headDim)}` });
  }
  if (!isFiniteNumber(config.mlpRatio) || config.mlpRatio <= 0) {
    issues.push({ field: at('mlpRatio'), message: `must be a positive number, got ${JSON.stringify(config.mlpRatio)}` });
  } else if (mlpHidden(config) < 1) {
    issues.push({ field: at('mlpRatio'), message: `${config.mlpRatio} × dim ${config.dim} leaves the MLP no hidden unit` });
  }
  if (config.pooling !== 'cls' && config.pooling !== 'avg') {
    issues.push({ field: at('pooling'), message: `must be "cls" or "avg", got ${JSON.stringify(config.pooling)}` });
  }
  if (config.gelu !== 'exact' && config.gelu !== 'tanh') {
    issues.push({ field: at('gelu'), message: `must be "exact" or "tanh", got ${JSON.stringify(config.gelu)}` });
  }
  if (!isFiniteNumber(config.layerNormEps) || config.layerNormEps <= 0) {
    issues.push({ field: at('layerNormEps'), message: `must be a positive number, got ${JSON.stringify(config.layerNormEps)}` });
  }
  if (!isFiniteNumber(config.dropPath) || config.dropPath < 0 || config.dropPath >= 1) {
    issues.push({ field: at('dropPath'), message: `must be in [0, 1), got ${JSON.stringify(config.dropPath)}` });
  }
  if (typeof config.qkvBias !== 'boolean') {
    issues.push({ field: at('qkvBias'), message: `must be true or false, got ${JSON.stringify(config.qkvBias)}` });
  }
  return issues;
}

export function validateStages(stages: number[], depth: number | undefined, field = 'stages'): ValidationIssue[] {
  if (!Array.isArray(stages) || stages.length === 0) {
    return [{ field, message: 'must list at least one stage, e.g. 3,3,4,3,3' }];
  }
  const bad = stages.findIndex((n) => !isPositiveInt(n));
  if (bad >= 0) {
    return [{ field, message: `stage ${bad} has ${JSON.stringify(stages[bad])} layers; every stage needs a positive integer number of layers` }];
  }
  const total = stages.reduce((a, b) => a + b, 0);
  if (depth !== undefined && total !== depth) {
    return [{ field, message: `stages ${stages.join(',')} sum to ${total} layers but depth is ${depth}` }];
  }
  return [];
}

export function validateAuxNetConfig(config: AuxNetConfig): ValidationIssue[] {
  const issues = validateViTConfig(config.vit, 'vit.');
  if (config.kind !== 'sws' && config.kind !== 'tleg') {
    issues.push({ field: 'kind', message: `must be "sws" or "tleg", got ${JSON.stringify(config.kind)}` });
  }
  issues.push(...validateStages(config.stages, config.vit.depth));
  if (config.kind === 'tleg' && config.stages.length !== 1) {
    issues.push({ field: 'stages', message: 'a TLEG Aux-Net has exactly one stage (all layers linearly expanded)' });
  }
  return issues;
}

export function validateOptimConfig(config: OptimConfig, prefix = ''): ValidationIssue[] {
  const issues: ValidationIssue[] = [];
  const at = (field: string) => prefix + field;
  if (!Number.isInteger(config.epochs) || config.epochs < 0) {
    issues.push({ field: at('epochs'), message: `must be a non-negative integer, got ${JSON.stringify(config.epochs)}` });
  }
  if (!isPositiveInt(config.batchSize)) {
    issues.push({ field: at('batchSize'), message: `must be a positive integer, got ${JSON.stringify(config.batchSize)}` });
  }
  for (const key of ['lr', 'minLr', 'weightDecay', 'warmupEpochs', 'eps', 'clipGradNorm'] as const) {
    if (!isFiniteNumber(config[key]) || config[key] < 0) {
      issues.push({ field: at(key), message: `must be a non-negative number, got ${JSON.stringify(config[key])}` });
    }
  }
  if (isFiniteNumber(config.lr) && config.lr === 0) {
    issues.push({ field: at('lr'), message: 'must be greater than 0' });
  }
  for (const key of ['beta1', 'beta2'] as const) {
    if (!isFiniteNumber(config[key]) || config[key] < 0 || config[key] >= 1) {
      issues.push({ field: at(key), message: `must be in [0, 1), got ${JSON.stringify(config[key])}` });
    }
  }
  if (!isFiniteNumber(config.labelSmoothing) || config.labelSmoothing < 0 || config.labelSmoothing >= 1) {
    issues.push({ field: at('labelSmoothing'), message: `must be in [0, 1), got ${JSON.stringify(config.labelSmoothing)}` });
  }
  return issues;
}

export function validateDistillLoss(config: DistillLossConfig, prefix = ''): ValidationIssue[] {
  const issues: ValidationIssue[] = [];
  if (!isFiniteNumber(config.alpha) || config.alpha < 0 || config.alpha > 1) {
    issues.push({ field: prefix + 'alpha', message: `must be in [0, 1], got ${JSON.stringify(config.alpha)}` });
  }
  if (!isFiniteNumber(config.tau) || config.tau <= 0) {
    issues.push({ field: prefix + 'tau', message: `must be a positive number, got ${JSON.stringify(config.tau)}` });
  }
  return issues;
}

export function validateAugment(config: AugmentConfig, prefix = ''): ValidationIssue[] {
  const issues: ValidationIssue[] = [];
  if (!Number.isInteger(config.cropPadding) || config.cropPadding < 0) {
    issues.push({ field: prefix + 'cropPadding', message: `must be a non-negative integer, got ${JSON.stringify(config.cropPadding)}` });
  }
  if (typeof config.horizontalFlip !== 'boolean') {
    issues.push({ field: prefix + 'horizontalFlip', message: 'must be true or false' });
  }
  return issues;
}

/**
 * Validates a descendant's layer → stage mapping: one entry per layer, non-decreasing
 * (stage order kept), every index a stage of the learngene.
 */
export function validateLayersSource(layersSource: number[], numStages: number, depth?: number, field = 'layersSource'): ValidationIssue[] {
  if (!Array.isArray(layersSource) || layersSource.length === 0) {
    return [{ field, message: 'must list one stage index per layer, e.g. 0,0,1,2,3,4' }];
  }
  if (depth !== undefined && layersSource.length !== depth) {
    return [{ field, message: `has ${layersSource.length} entries but depth is ${depth}` }];
  }
  for (let i = 0; i < layersSource.length; i++) {
    const s = layersSource[i]!;
    if (!Number.isInteger(s) || s < 0 || s >= numStages) {
      return [{ field, message: `entry ${i} is ${JSON.stringify(s)}; every index must be a stage in 0..${numStages - 1}` }];
    }
    if (i > 0 && s < layersSource[i - 1]!) {
      return [{ field, message: `entry ${i} (${s}) comes after ${layersSource[i - 1]}; stage order must be kept (non-decreasing)` }];
    }
  }
  return [];
}

/** Thrown where a config or input is rejected; carries every issue found. */
export class ConfigError extends Error {
  readonly issues: ValidationIssue[];
  constructor(issues: ValidationIssue[]) {
    super(issues.map((i) => `${i.field}: ${i.message}`).join('\n'));
    this.name = 'ConfigError';
    this.issues = issues;
  }
}

export function assertValid(issues: ValidationIssue[]): void {
  if (issues.length > 0) throw new ConfigError(issues);
}
