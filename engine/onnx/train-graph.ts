// One training step as one ONNX graph: forward, backward, loss, global-norm clipping and
// AdamW, for every network kind the engine trains (plain ViT with cls or avg pooling, SWS
// and TLEG Aux-Nets, descendants). Weights and AdamW moments travel as three flat
// float32 buffers that the step reads and returns updated, so an executor feeds one
// step's outputs to the next. Per-step data — images, smoothed targets, teacher logits,
// drop-path scales, learning-rate terms — are inputs, drawn by the caller as pure
// functions of (seed, epoch, step), exactly as for the tfjs executor.
//
// The network follows engine/model/vit.ts op for op (2-D activations [B·T, D], patch
// embedding by reshape/transpose + one product, q/k/v as separate projections, timm's
// init-free layout), with one rearrangement: each LayerNorm's scale and shift are folded
// into the projection that follows it (LN(x)·W + b = x̂·(γ⊙W) + (β·W + b)), which saves
// two activation-sized passes forward and three backward per norm; the gradients of γ, β,
// W and b come out of the same autodiff.

import { type AuxNetConfig, type ViTConfig, attnDim, headDim, mlpHidden, numPatches, numTokens } from '../../shared/config.js';
import { stagePrefix, TLEG_A, TLEG_B } from '../sws/auxnet.js';
import { stageOfLayer } from '../sws/layers-source.js';
import type { NetworkSpec } from '../model/spec.js';
import { dropPathRate } from '../model/vit.js';
import { DiffOps, Tape } from './autodiff.js';
import { GraphBuilder, type Value } from './graph.js';

/** Where each parameter lives in a flat float32 buffer. */
export interface ParamEntry {
  name: string;
  shape: number[];
  offset: number;
  size: number;
}

export interface ParamLayout {
  entries: ParamEntry[];
  floats: number;
}

export function paramLayout(shapes: Iterable<[string, readonly number[]]>): ParamLayout {
  const entries: ParamEntry[] = [];
  let offset = 0;
  for (const [name, shape] of shapes) {
    const size = shape.reduce((a, b) => a * b, 1);
    entries.push({ name, shape: [...shape], offset, size });
    offset += size;
  }
  return { entries, floats: offset };
}

export interface DistillGraphConfig {
  alpha: number;
  tau: number;
  reduction: 'batchmean' | 'numel';
}

export interface OptimizerGraphConfig {
  beta1: number;
  beta2: number;
  eps: number;
  /** Global gradient-norm clip; 0 disables. */
  clipGradNorm: number;
  /** Which trainable parameters get weight decay (timm's rule: engine/train/adamw.ts `decays`). */
  decays: (name: string, shape: readonly number[]) => boolean;
  weightDecay: number;
}

export interface NetworkGraphConfig {
  spec: NetworkSpec;
  batchSize: number;
  /** The parameters the step updates (the flat `params` input). */
  trainable: ParamLayout;
  /** Parameters read but never updated (the flat `frozen_params` input), if any. */
  frozen: ParamLayout | null;
  /** com.microsoft contrib ops (FusedMatMul, Gelu): the CPU EP has them. */
  contribOps: boolean;
}

export interface TrainGraphConfig extends NetworkGraphConfig {
  distill: DistillGraphConfig | null;
  optimizer: OptimizerGraphConfig;
}

/** Input and output names of the graphs (the executor's contract). */
export const STEP_IO = {
  params: 'params',
  frozen: 'frozen_params',
  adamM: 'adam_m',
  adamV: 'adam_v',
  images: 'images',
  targets: 'targets',
  teacherLogits: 'teacher_logits',
  dropPath: 'drop_path',
  /** lr / (1 − β1^t) */
  stepSize: 'step_size',
  /** √(1 − β2^t) */
  bias2Sqrt: 'bias2_sqrt',
  /** 1 − lr·weight decay */
  decay: 'decay',
  paramsOut: 'params_out',
  adamMOut: 'adam_m_out',
  adamVOut: 'adam_v_out',
  loss: 'loss',
  ce: 'ce',
  kd: 'kd',
  gradNorm: 'grad_norm',
  logits: 'logits',
} as const;

function vitOf(spec: NetworkSpec): ViTConfig {
  return spec.kind === 'vit' ? spec.config : spec.aux.vit;
}

/** The parameters of one transformer block, as graph values. */
interface BlockValues {
  norm1: { weight: Value; bias: Value };
  q: { weight: Value; bias: Value | null };
  k: { weight: Value; bias: Value | null };
  v: { weight: Value; bias: Value | null };
  proj: { weight: Value; bias: Value };
  norm2: { weight: Value; bias: Value };
  fc1: { weight: Value; bias: Value };
  fc2: { weight: Value; bias: Value };
}

const BLOCK_TENSORS: [keyof BlockValues, 'weight' | 'bias', string][] = [
  ['norm1', 'weight', 'norm1.weight'], ['norm1', 'bias', 'norm1.bias'],
  ['q', 'weight', 'attn.q.weight'], ['q', 'bias', 'attn.q.bias'],
  ['k', 'weight', 'attn.k.weight'], ['k', 'bias', 'attn.k.bias'],
  ['v', 'weight', 'attn.v.weight'], ['v', 'bias', 'attn.v.bias'],
  ['proj', 'weight', 'attn.proj.weight'], ['proj', 'bias', 'attn.proj.bias'],
  ['norm2', 'weight', 'norm2.weight'], ['norm2', 'bias', 'norm2.bias'],
  ['fc1', 'weight', 'mlp.fc1.weight'], ['fc1', 'bias', 'mlp.fc1.bias'],
  ['fc2', 'weight', 'mlp.fc2.weight'], ['fc2', 'bias', 'mlp.fc2.bias'],
];

/**
 * The ViT forward pass in graph ops (training mode when `dropPath` is given): logits
 * [B, K]. Parameters come from `param(name)`; the block of layer i is that of
 * engine/model/vit.ts `blockForLayer` — its own (`blocks.i.*`), its stage's shared one
 * (`stages.s.*`), or TLEG's θA + (i/L)·θB.
 */
export class ViTGraph {
  readonly config: ViTConfig;
  private readonly g: GraphBuilder;
  /** Folded projections by block key, so a shared block is folded once. */
  private readonly folded = new Map<string, { weight: Value; bias: Value }>();
  private readonly layerStage: number[] | null;

  constructor(
    private readonly ops: DiffOps,
    private readonly spec: NetworkSpec,
    private readonly param: (name: string) => Value,
    private readonly batch: number,
  ) {
    this.g = ops.g;
    this.config = vitOf(spec);
    this.layerStage = spec.kind === 'aux' && spec.aux.kind === 'sws' ? stageOfLayer(spec.aux.stages) : null;
  }

  private blockAt(prefix: string): BlockValues {
    const out = {} as Record<string, { weight: Value; bias: Value | null }>;
    for (const [key, part, name] of BLOCK_TENSORS) {
      out[key] ??= { weight: null as unknown as Value, bias: null };
      const isQkvBias = part === 'bias' && (key === 'q' || key === 'k' || key === 'v');
      if (isQkvBias && !this.config.qkvBias) continue;
      out[key]![part] = this.param(prefix + name);
    }
    return out as unknown as BlockValues;
  }

  /** (key for folding, block values) of layer `layer`. */
  private blockForLayer(layer: number): [string, BlockValues] {
    const { spec } = this;
    if (spec.kind === 'vit') return [`blocks.${layer}`, this.blockAt(`blocks.${layer}.`)];
    if (this.layerStage) {
      const stage = this.layerStage[layer]!;
      return [`stages.${stage}`, this.blockAt(stagePrefix(stage))];
    }
    // TLEG: θA + (l/L)·θB, tensor by tensor.
    const a = this.blockAt(TLEG_A);
    const b = this.blockAt(TLEG_B);
    const ratio = layer / this.config.depth;
    const mix = (x: Value, y: Value) => this.ops.add(x, this.ops.scale(y, ratio));
    const out = {} as Record<string, { weight: Value; bias: Value | null }>;
    for (const key of Object.keys(a) as (keyof BlockValues)[]) {
      const pa = a[key] as { weight: Value; bias: Value | null };
      const pb = b[key] as { weight: Value; bias: Value | null };
      out[key] = { weight: mix(pa.weight, pb.weight), bias: pa.bias && pb.bias ? mix(pa.bias, pb.bias) : null };
    }
    return [`tleg.${layer}`, out as unknown as BlockValues];
  }

  /**
   * x̂·(γ⊙W) + (β·W + b): a LayerNorm's affine part folded into the projection after it.
   * `key` names the (norm, projection) pair so a shared block folds once.
   */
  private foldedLinear(key: string, xhat: Value, norm: { weight: Value; bias: Value }, w: Value, b: Value | null): Value {
    const { ops } = this;
    let f = this.folded.get(key);
    if (!f) {
      const [k, n] = w.shape as [number, number];
      const weight = ops.mul(ops.reshape(norm.weight, [k, 1]), w);
      const bias = ops.reshape(ops.linear(ops.reshape(norm.bias, [1, k]), w, b), [n]);
      f = { weight, bias };
      this.folded.set(key, f);
    }
    return ops.linear(xhat, f.weight, f.bias);
  }

  private attention(key: string, h: Value, block: BlockValues): Value {
    const { ops, batch, config } = this;
    const t = numTokens(config);
    const heads = config.heads;
    const d = headDim(config);
    const toHeads = (x: Value) => ops.transpose(ops.reshape(x, [batch, t, heads, d]), [0, 2, 1, 3]); // [B, H, T, d]
    const q = toHeads(this.foldedLinear(`${key}.q`, h, block.norm1, block.q.weight, block.q.bias));
    const k = toHeads(this.foldedLinear(`${key}.k`, h, block.norm1, block.k.weight, block.k.bias));
    const v = toHeads(this.foldedLinear(`${key}.v`, h, block.norm1, block.v.weight, block.v.bias));
    const probs = ops.softmax(ops.matMul(q, k, { transB: true, alpha: d ** -0.5 })); // [B, H, T, T]
    const mixed = ops.matMul(probs, v); // [B, H, T, d]
    const merged = ops.reshape(ops.transpose(mixed, [0, 2, 1, 3]), [batch * t, attnDim(config)]); // heads × d: dim unless heads were pruned
    return ops.linear(merged, block.proj.weight, block.proj.bias);
  }

  private mlp(key: string, h: Value, block: BlockValues): Value {
    const { ops } = this;
    const hidden = ops.gelu(this.foldedLinear(`${key}.fc1`, h, block.norm2, block.fc1.weight, block.fc1.bias), this.config.gelu);
    return ops.linear(hidden, block.fc2.weight, block.fc2.bias);
  }

  /** Patch + position embedding: images [B, C, S, S] (data) → tokens [B·T, D]. */
  private embed(images: Value): Value {
    const { ops, g, batch, config } = this;
    const { channels: c, patchSize: p, imageSize: s, dim } = config;
    const grid = s / p;
    const n = numPatches(config);
    // [B·C·g, P, g, P] → [B·C·g, g, P, P]: patch vectors ordered (c, py, px) like timm's conv weight.
    let patches = g.transpose(g.reshape(images, [batch * c * grid, p, grid, p]), [0, 2, 1, 3]);
    if (c > 1) patches = g.transpose(g.reshape(patches, [batch, c, n, p * p]), [0, 2, 1, 3]);
    const flat = g.reshape(patches, [batch * n, c * p * p]);
    let x = ops.reshape(ops.linear(flat, this.param('patch_embed.proj.weight'), this.param('patch_embed.proj.bias')), [batch, n, dim]);
    let positions = this.param('pos_embed'); // [T, D]
    if (config.pooling === 'cls') {
      // A zero slot in front of the patches, filled by adding the class token padded to [T, D].
      x = ops.pad(x, [[0, 0], [1, 0], [0, 0]]);
      positions = ops.add(positions, ops.pad(this.param('cls_token'), [[0, n], [0, 0]]));
    }
    return ops.reshape(ops.add(x, positions), [batch * numTokens(config), dim]);
  }

  /** Logits [B, K]. `dropPath` [depth, 2, B] holds each layer's attention and MLP scales (training). */
  logits(images: Value, dropPath: Value | null): Value {
    const { ops, g, batch, config } = this;
    const eps = config.layerNormEps;
    let x = this.embed(images);
    for (let layer = 0; layer < config.depth; layer++) {
      const [key, block] = this.blockForLayer(layer);
      const scales = dropPath && dropPathRate(config, layer) > 0 ? g.slice(dropPath, [layer], [layer + 1], [0]) : null; // [1, 2, B]
      const branch = (out: Value, which: 0 | 1) =>
        scales ? ops.scaleRowsPerSample(out, g.reshape(g.slice(scales, [which], [which + 1], [1]), [batch])) : out;
      x = ops.add(x, branch(this.attention(key, ops.normalize(x, eps), block), 0));
      x = ops.add(x, branch(this.mlp(key, ops.normalize(x, eps), block), 1));
    }
    const perSample = ops.reshape(x, [batch, numTokens(config), config.dim]);
    const [pooled, norm] = config.pooling === 'cls'
      ? [ops.reshape(ops.slice(perSample, 1, 0, 1), [batch, config.dim]), 'norm']
      : [ops.mean(perSample, 1), 'fc_norm'];
    const normParams = { weight: this.param(`${norm}.weight`), bias: this.param(`${norm}.bias`) };
    return this.foldedLinear('head', ops.normalize(pooled, eps), normParams, this.param('head.weight'), this.param('head.bias'));
  }
}

/** Graph values of every parameter, sliced from the flat inputs; the trainable ones watched. */
function paramValues(g: GraphBuilder, tape: Tape | null, config: NetworkGraphConfig): { byName: Map<string, Value>; trainable: Value[]; flat: Value } {
  const byName = new Map<string, Value>();
  const take = (flat: Value, layout: ParamLayout, watch: boolean) =>
    layout.entries.map((e) => {
      const value = g.reshape(g.slice(flat, [e.offset], [e.offset + e.size], [0]), e.shape);
      if (watch) tape?.watch(value);
      byName.set(e.name, value);
      return value;
    });
  const flat = g.input(STEP_IO.params, [config.trainable.floats]);
  const trainable = take(flat, config.trainable, true);
  if (config.frozen && config.frozen.floats > 0) take(g.input(STEP_IO.frozen, [config.frozen.floats]), config.frozen, false);
  return { byName, trainable, flat };
}

function lookup(byName: Map<string, Value>): (name: string) => Value {
  return (name) => {
    const value = byName.get(name);
    if (!value) throw new Error(`training graph: the network needs parameter "${name}", which is not in the layout`);
    return value;
  };
}

function imageShape(config: ViTConfig, batch: number): number[] {
  return [batch, config.channels, config.imageSize, config.imageSize];
}

/**
 * Mean cross-entropy against (smoothed) target distributions plus, with a teacher,
 * α·τ²·KL(teacher_τ ‖ student_τ) (engine/train/loss.ts): the loss values and
 * d(total)/d(logits), written directly (the softmax/log-softmax gradients in closed form).
 */
export function lossAndLogitGradient(
  g: GraphBuilder,
  logits: Value,
  targets: Value,
  teacher: Value | null,
  distill: DistillGraphConfig | null,
): { total: Value; ce: Value; kd: Value | null; dLogits: Value } {
  const [batch, classes] = logits.shape as [number, number];
  const logProbs = g.logSoftmax(logits);
  const ce = g.scale(g.reduceSum(g.mul(targets, logProbs), [0, 1]), -1 / batch);
  const dCe = g.scale(g.sub(g.unary('Exp', logProbs), targets), 1 / batch);
  if (!teacher || !distill) return { total: ce, ce, kd: null, dLogits: dCe };
  const { alpha, tau, reduction } = distill;
  const divisor = reduction === 'numel' ? batch * classes : batch;
  const logP = g.logSoftmax(g.scale(teacher, 1 / tau));
  const logQ = g.logSoftmax(g.scale(logits, 1 / tau));
  const p = g.unary('Exp', logP);
  const kd = g.scale(g.reduceSum(g.mul(p, g.sub(logP, logQ)), [0, 1]), (tau * tau) / divisor);
  // d/dz τ²/div · KL = τ/div · (softmax(z/τ) − softmax(t/τ))
  const dKd = g.scale(g.sub(g.unary('Exp', logQ), p), tau / divisor);
  const total = g.add(g.scale(ce, 1 - alpha), g.scale(kd, alpha));
  const dLogits = alpha === 1 ? dKd : alpha === 0 ? dCe : g.add(g.scale(dCe, 1 - alpha), g.scale(dKd, alpha));
  return { total, ce, kd, dLogits };
}

/**
 * Global-norm clipping and AdamW on flat buffers, step for step as torch's
 * clip_grad_norm_ and torch.optim.AdamW (engine/train/adamw.ts): the new weights and
 * moments, and the gradient's norm before clipping.
 */
export function appendAdamW(
  g: GraphBuilder,
  inputs: { params: Value; adamM: Value; adamV: Value; grad: Value; stepSize: Value; bias2Sqrt: Value; decay: Value },
  optimizer: OptimizerGraphConfig,
  layout: ParamLayout,
): { paramsNext: Value; mNext: Value; vNext: Value; gradNorm: Value } {
  const { params, adamM, adamV, grad, stepSize, bias2Sqrt, decay } = inputs;
  // torch clip_grad_norm_: coef = max / (norm + 1e-6), at most 1.
  const gradNorm = g.unary('Sqrt', g.sumOfSquares(grad));
  const clipped = optimizer.clipGradNorm > 0
    ? g.mul(grad, g.clip(g.div(g.scalar(optimizer.clipGradNorm), g.add(gradNorm, g.scalar(1e-6))), 0, 1))
    : grad;
  const { beta1, beta2, eps } = optimizer;
  const decayMask = new Uint8Array(layout.floats);
  if (optimizer.weightDecay > 0) {
    for (const e of layout.entries) if (optimizer.decays(e.name, e.shape)) decayMask.fill(1, e.offset, e.offset + e.size);
  }
  const decayed = !decayMask.includes(1)
    ? params
    : g.mul(params, decayMask.every((m) => m === 1) ? decay : g.where(g.constant(decayMask, [decayMask.length], 'bool', 'decay_mask'), decay, g.scalar(1)));
  const mNext = g.add(g.scale(adamM, beta1), g.scale(clipped, 1 - beta1));
  const vNext = g.add(g.scale(adamV, beta2), g.scale(g.mul(clipped, clipped), 1 - beta2));
  const denom = g.add(g.div(g.unary('Sqrt', vNext), bias2Sqrt), g.scalar(eps));
  const paramsNext = g.sub(decayed, g.mul(g.div(mNext, denom), stepSize));
  return { paramsNext, mNext, vNext, gradNorm };
}

export interface BuiltGraph {
  bytes: Uint8Array;
  /** Node count by op type. */
  ops: Record<string, number>;
}

/** The whole training step of `config` as ONNX bytes (inputs and outputs: STEP_IO). */
export function buildTrainGraph(config: TrainGraphConfig): BuiltGraph {
  const g = new GraphBuilder({ contribOps: config.contribOps });
  const tape = new Tape(g);
  const ops = new DiffOps(tape);
  const vit = vitOf(config.spec);
  const batch = config.batchSize;
  const { byName, trainable, flat: params } = paramValues(g, tape, config);
  const images = g.input(STEP_IO.images, imageShape(vit, batch));
  const targets = g.input(STEP_IO.targets, [batch, vit.numClasses]);
  const teacher = config.distill ? g.input(STEP_IO.teacherLogits, [batch, vit.numClasses]) : null;
  const dropPath = vit.dropPath > 0 ? g.input(STEP_IO.dropPath, [vit.depth, 2, batch]) : null;
  const adamM = g.input(STEP_IO.adamM, [config.trainable.floats]);
  const adamV = g.input(STEP_IO.adamV, [config.trainable.floats]);
  const stepSize = g.input(STEP_IO.stepSize, []);
  const bias2Sqrt = g.input(STEP_IO.bias2Sqrt, []);
  const decay = g.input(STEP_IO.decay, []);

  const logits = new ViTGraph(ops, config.spec, lookup(byName), batch).logits(images, dropPath);
  const loss = lossAndLogitGradient(g, logits, targets, teacher, config.distill);

  // Backward: one flat gradient in the layout's order.
  const grads = tape.gradients([[logits, loss.dLogits]], trainable);
  const flatGrad = g.concat(
    grads.map((grad, i) => {
      const entry = config.trainable.entries[i]!;
      if (!grad) throw new Error(`training graph: the loss does not depend on "${entry.name}"; freeze it instead`);
      return g.reshape(grad, [entry.size]);
    }),
    0,
  );

  const { paramsNext, mNext, vNext, gradNorm } = appendAdamW(g, { params, adamM, adamV, grad: flatGrad, stepSize, bias2Sqrt, decay }, config.optimizer, config.trainable);

  g.output(paramsNext, STEP_IO.paramsOut);
  g.output(mNext, STEP_IO.adamMOut);
  g.output(vNext, STEP_IO.adamVOut);
  g.output(loss.total, STEP_IO.loss);
  g.output(loss.ce, STEP_IO.ce);
  if (loss.kd) g.output(loss.kd, STEP_IO.kd);
  g.output(gradNorm, STEP_IO.gradNorm);
  // The batch's logits (B×K, a few floats): train accuracy and agreement with the teacher for the charts.
  g.output(logits, STEP_IO.logits);
  return { bytes: g.encode({ graphName: 'learngene_train_step', docString: describe(config, 'training step') }), ops: g.opCounts() };
}

/** The inference pass (logits) of `config` with weights as flat inputs, for evaluation on the same device. */
export function buildEvalGraph(config: NetworkGraphConfig): BuiltGraph {
  const g = new GraphBuilder({ contribOps: config.contribOps });
  const ops = new DiffOps(new Tape(g));
  const vit = vitOf(config.spec);
  const { byName } = paramValues(g, null, config);
  const images = g.input(STEP_IO.images, imageShape(vit, config.batchSize));
  const logits = new ViTGraph(ops, config.spec, lookup(byName), config.batchSize).logits(images, null);
  g.output(logits, STEP_IO.logits);
  return { bytes: g.encode({ graphName: 'learngene_eval', docString: describe(config, 'evaluation') }), ops: g.opCounts() };
}

function describe(config: NetworkGraphConfig, what: string): string {
  const vit = vitOf(config.spec);
  const kind = config.spec.kind === 'vit' ? 'ViT' : `${(config.spec.aux as AuxNetConfig).kind.toUpperCase()} Aux-Net (stages ${(config.spec.aux as AuxNetConfig).stages.join(',')})`;
  return `Learngene Studio ${what}: ${kind}, depth ${vit.depth}, dim ${vit.dim}, MLP ${mlpHidden(vit)}, batch ${config.batchSize}`;
}
