// The Vision Transformer, written plainly (nanoGPT style) over 2-D activations
// [B·T, D] so every projection is one plain matmul. The same forward serves a
// normal ViT, an SWS Aux-Net (layers reading their stage's shared block) and a
// TLEG Aux-Net (layers computing θA + (l/L)·θB): they differ only in `blockForLayer`.

import * as tf from '@tensorflow/tfjs-core';
import { type ViTConfig, attnDim, mlpHidden, numPatches, numTokens } from '../../shared/config.js';
import { Rng } from '../rng.js';
import { addRow, geluExact, geluTanh, layerNorm, linear, matMul, multiHeadAttention } from '../ops/fast.js';
import type { TensorMap } from '../io/safetensors.js';
import { FormatError } from '../io/errors.js';

export type Params = Map<string, tf.Variable>;

/** One transformer block's tensors (memory layout: linear weights [in, out]). */
export interface BlockParams {
  norm1: { weight: tf.Tensor1D; bias: tf.Tensor1D };
  q: { weight: tf.Tensor2D; bias?: tf.Tensor1D };
  k: { weight: tf.Tensor2D; bias?: tf.Tensor1D };
  v: { weight: tf.Tensor2D; bias?: tf.Tensor1D };
  proj: { weight: tf.Tensor2D; bias: tf.Tensor1D };
  norm2: { weight: tf.Tensor1D; bias: tf.Tensor1D };
  fc1: { weight: tf.Tensor2D; bias: tf.Tensor1D };
  fc2: { weight: tf.Tensor2D; bias: tf.Tensor1D };
}

/** Anything the forward pass and the training loop can run. */
export interface Network {
  readonly config: ViTConfig;
  /** Trainable variables by (memory-layout) name. */
  readonly params: Params;
  /** The block used at layer i; may read shared variables or compute from them. */
  blockForLayer(layer: number): BlockParams;
}

export interface ForwardOptions {
  training: boolean;
  /** Draws drop-path masks; required when training with dropPath > 0 (unless `dropPath` is given). */
  rng?: Rng;
  /**
   * Drop-path scales already drawn (drawDropPath) for this batch — the same draws every
   * executor uses for the step. Takes precedence over `rng`.
   */
  dropPath?: DropPathScales;
}

/** Per layer, the per-sample scales (0 or 1/keep) of the attention and MLP branches; null where the rate is 0. */
export type DropPathScales = ({ attn: Float32Array; mlp: Float32Array } | null)[];

/**
 * Drop-path scales for a batch, drawn from `rng` in the order the forward pass uses
 * them (layer 0 attention, layer 0 MLP, layer 1 attention, …), one value per sample.
 */
export function drawDropPath(config: ViTConfig, rng: Rng, batch: number): DropPathScales {
  const draw = (keep: number) => {
    const scales = new Float32Array(batch);
    for (let b = 0; b < batch; b++) scales[b] = rng.next() < keep ? 1 / keep : 0;
    return scales;
  };
  const out: DropPathScales = [];
  for (let layer = 0; layer < config.depth; layer++) {
    const rate = dropPathRate(config, layer);
    if (rate > 0) {
      // timm applies one DropPath module to both branches, drawing a fresh mask per call.
      const attn = draw(1 - rate);
      const mlp = draw(1 - rate);
      out.push({ attn, mlp });
    } else out.push(null);
  }
  return out;
}

export function param(params: Params, name: string): tf.Variable {
  const v = params.get(name);
  if (!v) throw new Error(`model has no parameter "${name}"`);
  return v;
}

/** Reads a block stored under `prefix` (e.g. "blocks.3." or "stages.1."). */
export function blockAt(params: Params, prefix: string, qkvBias: boolean): BlockParams {
  const p = (name: string) => param(params, prefix + name);
  const bias = (name: string) => (qkvBias ? (p(name) as tf.Tensor1D) : undefined);
  return {
    norm1: { weight: p('norm1.weight') as tf.Tensor1D, bias: p('norm1.bias') as tf.Tensor1D },
    q: { weight: p('attn.q.weight') as tf.Tensor2D, bias: bias('attn.q.bias') },
    k: { weight: p('attn.k.weight') as tf.Tensor2D, bias: bias('attn.k.bias') },
    v: { weight: p('attn.v.weight') as tf.Tensor2D, bias: bias('attn.v.bias') },
    proj: { weight: p('attn.proj.weight') as tf.Tensor2D, bias: p('attn.proj.bias') as tf.Tensor1D },
    norm2: { weight: p('norm2.weight') as tf.Tensor1D, bias: p('norm2.bias') as tf.Tensor1D },
    fc1: { weight: p('mlp.fc1.weight') as tf.Tensor2D, bias: p('mlp.fc1.bias') as tf.Tensor1D },
    fc2: { weight: p('mlp.fc2.weight') as tf.Tensor2D, bias: p('mlp.fc2.bias') as tf.Tensor1D },
  };
}

/** A plain ViT: layer i reads `blocks.{i}.*`. */
export class VisionTransformer implements Network {
  constructor(readonly config: ViTConfig, readonly params: Params) {}
  blockForLayer(layer: number): BlockParams {
    return blockAt(this.params, `blocks.${layer}.`, this.config.qkvBias);
  }
}

function project(x: tf.Tensor2D, w: tf.Tensor2D, b?: tf.Tensor1D): tf.Tensor2D {
  return b ? linear(x, w, b) : matMul(x, w);
}

/**
 * Patch embedding: [B, C, H, W] → [B·N, D] with reshapes, two rank-4 transposes and a
 * 2-D matmul (wasm has no Conv2DBackpropFilter). Patch vectors are ordered (c, py, px),
 * the flattening of timm's conv weight [D, C, P, P].
 */
export function embedPatches(config: ViTConfig, params: Params, images: tf.Tensor4D): tf.Tensor2D {
  const { channels: c, patchSize: p, imageSize } = config;
  const batch = images.shape[0];
  const grid = imageSize / p;
  // [B·C·gh, P, gw, P] → [B·C·gh, gw, P, P]: (b, c, i, j, py, px)
  let patches: tf.Tensor = tf.transpose(tf.reshape(images, [batch * c * grid, p, grid, p]), [0, 2, 1, 3]);
  if (c > 1) {
    // (b, c, n, pp) → (b, n, c, pp)
    patches = tf.transpose(tf.reshape(patches, [batch, c, grid * grid, p * p]), [0, 2, 1, 3]);
  }
  const flat = tf.reshape(patches, [batch * grid * grid, c * p * p]) as tf.Tensor2D;
  return linear(flat, param(params, 'patch_embed.proj.weight') as tf.Tensor2D, param(params, 'patch_embed.proj.bias') as tf.Tensor1D);
}

/** Multi-head self-attention on x [B·T, D]. */
export function attention(config: ViTConfig, x: tf.Tensor2D, block: BlockParams, batch: number): tf.Tensor2D {
  const q = project(x, block.q.weight, block.q.bias); // [B·T, A] (A = attnDim), head h in columns h·d…
  const k = project(x, block.k.weight, block.k.bias);
  const v = project(x, block.v.weight, block.v.bias);
  const merged = multiHeadAttention(q, k, v, batch, config.heads); // [B·T, A]
  return linear(merged, block.proj.weight, block.proj.bias);
}

export function mlp(config: ViTConfig, x: tf.Tensor2D, block: BlockParams): tf.Tensor2D {
  const hidden = linear(x, block.fc1.weight, block.fc1.bias);
  const activated = config.gelu === 'tanh' ? geluTanh(hidden) : geluExact(hidden);
  return linear(activated, block.fc2.weight, block.fc2.bias);
}

/** Per-sample scales as a [B·T, 1] mask over tokens. */
function dropPathMask(scales: Float32Array, tokens: number): tf.Tensor2D {
  const batch = scales.length;
  const mask = new Float32Array(batch * tokens);
  for (let b = 0; b < batch; b++) mask.fill(scales[b]!, b * tokens, (b + 1) * tokens);
  return tf.tensor2d(mask, [batch * tokens, 1]);
}

/** Drop-path rate of layer i (timm's linear decay rule). */
export function dropPathRate(config: ViTConfig, layer: number): number {
  return config.depth > 1 ? (config.dropPath * layer) / (config.depth - 1) : config.dropPath;
}

export function transformerBlock(
  config: ViTConfig,
  x: tf.Tensor2D,
  block: BlockParams,
  batch: number,
  scales: { attn: Float32Array; mlp: Float32Array } | null,
): tf.Tensor2D {
  const attnOut = attention(config, layerNorm(x, block.norm1.weight, block.norm1.bias, config.layerNormEps), block, batch);
  const tokens = x.shape[0] / batch;
  const maskA = scales ? dropPathMask(scales.attn, tokens) : null;
  const afterAttn = tf.add(x, maskA ? tf.mul(attnOut, maskA) : attnOut) as tf.Tensor2D;
  const mlpOut = mlp(config, layerNorm(afterAttn, block.norm2.weight, block.norm2.bias, config.layerNormEps), block);
  const maskB = scales ? dropPathMask(scales.mlp, tokens) : null;
  return tf.add(afterAttn, maskB ? tf.mul(mlpOut, maskB) : mlpOut) as tf.Tensor2D;
}

/** The drop-path scales a forward pass uses: given, drawn from the rng, or none (inference). */
function dropPathFor(config: ViTConfig, batch: number, options: ForwardOptions): DropPathScales | null {
  if (!options.training || config.dropPath <= 0) return null;
  if (options.dropPath) {
    if (options.dropPath.length !== config.depth || options.dropPath.some((s) => s && s.attn.length !== batch)) {
      throw new Error(`drop-path scales for ${options.dropPath.length} layers do not fit a batch of ${batch} through ${config.depth} layers`);
    }
    return options.dropPath;
  }
  if (!options.rng) throw new Error('drop-path in training needs an rng');
  return drawDropPath(config, options.rng, batch);
}

/** Patch + position embedding, the blocks, pooling and the final norm: [B, D]. */
export function forwardFeatures(net: Network, images: tf.Tensor4D, options: ForwardOptions): tf.Tensor2D {
  const { config, params } = net;
  const batch = images.shape[0];
  const patches = numPatches(config);
  const tokens = numTokens(config);
  let x = embedPatches(config, params, images); // [B·N, D]
  if (config.pooling === 'cls') {
    const cls = tf.tile(tf.reshape(param(params, 'cls_token'), [1, 1, config.dim]), [batch, 1, 1]);
    x = tf.reshape(tf.concat([cls, tf.reshape(x, [batch, patches, config.dim])], 1), [batch * tokens, config.dim]) as tf.Tensor2D;
  }
  x = tf.reshape(
    addRow(tf.reshape(x, [batch, tokens * config.dim]) as tf.Tensor2D, param(params, 'pos_embed') as tf.Tensor2D),
    [batch * tokens, config.dim],
  ) as tf.Tensor2D;
  const dropPath = dropPathFor(config, batch, options);
  for (let layer = 0; layer < config.depth; layer++) {
    x = transformerBlock(config, x, net.blockForLayer(layer), batch, dropPath?.[layer] ?? null);
  }
  const perSample = tf.reshape(x, [batch, tokens, config.dim]);
  if (config.pooling === 'cls') {
    // LayerNorm is per token, so normalizing only the class token equals timm's norm-then-select.
    const clsToken = tf.reshape(tf.slice(perSample, [0, 0, 0], [batch, 1, config.dim]), [batch, config.dim]) as tf.Tensor2D;
    return layerNorm(clsToken, param(params, 'norm.weight') as tf.Tensor1D, param(params, 'norm.bias') as tf.Tensor1D, config.layerNormEps);
  }
  const pooled = tf.mean(perSample, 1) as tf.Tensor2D;
  return layerNorm(pooled, param(params, 'fc_norm.weight') as tf.Tensor1D, param(params, 'fc_norm.bias') as tf.Tensor1D, config.layerNormEps);
}

export function forwardHead(net: Network, features: tf.Tensor2D): tf.Tensor2D {
  return linear(features, param(net.params, 'head.weight') as tf.Tensor2D, param(net.params, 'head.bias') as tf.Tensor1D);
}

/** Logits [B, classes]. */
export function forward(net: Network, images: tf.Tensor4D, options: ForwardOptions): tf.Tensor2D {
  return forwardHead(net, forwardFeatures(net, images, options));
}

/** Shapes of a block's parameters in memory layout. */
export function blockParamShapes(config: ViTConfig): Map<string, number[]> {
  const d = config.dim;
  const a = attnDim(config);
  const h = mlpHidden(config);
  const shapes = new Map<string, number[]>([
    ['norm1.weight', [d]],
    ['norm1.bias', [d]],
    ['attn.q.weight', [d, a]],
    ['attn.k.weight', [d, a]],
    ['attn.v.weight', [d, a]],
    ['attn.proj.weight', [a, d]],
    ['attn.proj.bias', [d]],
    ['norm2.weight', [d]],
    ['norm2.bias', [d]],
    ['mlp.fc1.weight', [d, h]],
    ['mlp.fc1.bias', [h]],
    ['mlp.fc2.weight', [h, d]],
    ['mlp.fc2.bias', [d]],
  ]);
  if (config.qkvBias) {
    shapes.set('attn.q.bias', [a]);
    shapes.set('attn.k.bias', [a]);
    shapes.set('attn.v.bias', [a]);
  }
  return shapes;
}

/** Shapes of everything outside the blocks (embedding, final norm, head). */
export function stemParamShapes(config: ViTConfig): Map<string, number[]> {
  const d = config.dim;
  const shapes = new Map<string, number[]>([
    ['patch_embed.proj.weight', [config.channels * config.patchSize * config.patchSize, d]],
    ['patch_embed.proj.bias', [d]],
    ['pos_embed', [numTokens(config), d]],
  ]);
  if (config.pooling === 'cls') {
    shapes.set('cls_token', [1, d]);
    shapes.set('norm.weight', [d]);
    shapes.set('norm.bias', [d]);
  } else {
    shapes.set('fc_norm.weight', [d]);
    shapes.set('fc_norm.bias', [d]);
  }
  shapes.set('head.weight', [d, config.numClasses]);
  shapes.set('head.bias', [config.numClasses]);
  return shapes;
}

/** Every parameter of a plain ViT with its memory-layout shape. */
export function vitParamShapes(config: ViTConfig): Map<string, number[]> {
  const shapes = stemParamShapes(config);
  const block = blockParamShapes(config);
  for (let i = 0; i < config.depth; i++) {
    for (const [name, shape] of block) shapes.set(`blocks.${i}.${name}`, shape);
  }
  return shapes;
}

/**
 * timm's initialization, drawn from a seeded generator per parameter name so every
 * backend starts from the same numbers: linear weights trunc_normal(0.02), biases 0,
 * norms 1/0, pos_embed trunc_normal(0.02), cls_token normal(1e-6), patch embedding as
 * PyTorch's Conv2d default (uniform ±1/√fan_in, fan_in = C·P·P).
 */
export function initialValue(name: string, shape: number[], seed: number, patchFanIn: number): Float32Array {
  const size = shape.reduce((a, b) => a * b, 1);
  const data = new Float32Array(size);
  const rng = Rng.derive(seed, 'init', name);
  if (name.endsWith('norm1.weight') || name.endsWith('norm2.weight') || name.endsWith('norm.weight')) {
    data.fill(1);
  } else if (name.startsWith('patch_embed.proj')) {
    const bound = 1 / Math.sqrt(patchFanIn);
    for (let i = 0; i < size; i++) data[i] = (rng.next() * 2 - 1) * bound;
  } else if (name === 'cls_token') {
    for (let i = 0; i < size; i++) data[i] = rng.normal() * 1e-6;
  } else if (name === 'pos_embed' || name.endsWith('.weight')) {
    for (let i = 0; i < size; i++) data[i] = rng.truncatedNormal(0.02);
  }
  // biases stay 0
  return data;
}

/** Creates variables for the given shapes with timm initialization. */
export function initParams(shapes: Map<string, number[]>, seed: number, config: ViTConfig): Params {
  const patchFanIn = config.channels * config.patchSize * config.patchSize;
  const params: Params = new Map();
  for (const [name, shape] of shapes) {
    // Unnamed variables: tfjs names are process-global and a teacher and a student share ours.
    params.set(name, tf.variable(tf.tensor(initialValue(name, shape, seed, patchFanIn), shape), true));
  }
  return params;
}

export function createViT(config: ViTConfig, seed: number): VisionTransformer {
  return new VisionTransformer(config, initParams(vitParamShapes(config), seed, config));
}

/** Variables from memory-layout tensors, checking every expected name and shape. */
export function paramsFromTensors(tensors: TensorMap, expected: Map<string, number[]>, source: string): Params {
  const problems: string[] = [];
  for (const [name, shape] of expected) {
    const t = tensors.get(name);
    if (!t) problems.push(`missing "${name}"`);
    else if (t.shape.join(',') !== shape.join(',')) problems.push(`"${name}" has shape [${t.shape}] but the config needs [${shape}]`);
  }
  const extra = [...tensors.keys()].filter((n) => !expected.has(n));
  if (extra.length > 0) problems.push(`unexpected ${extra.slice(0, 5).map((n) => `"${n}"`).join(', ')}${extra.length > 5 ? ` and ${extra.length - 5} more` : ''}`);
  // A file whose tensors do not fit its config is bad input (FormatError: exit code 2), not a crash.
  if (problems.length > 0) throw new FormatError(source, problems.join('; '));
  const params: Params = new Map();
  for (const [name, shape] of expected) {
    params.set(name, tf.variable(tf.tensor(tensors.get(name)!.data, shape), true));
  }
  return params;
}

/** Reads variables back as memory-layout tensors. */
export function tensorsFromParams(params: Params): TensorMap {
  const out: TensorMap = new Map();
  for (const [name, v] of params) out.set(name, { shape: v.shape.slice(), data: v.dataSync() as Float32Array });
  return out;
}

export function disposeParams(params: Params): void {
  for (const v of params.values()) v.dispose();
}
