// The inference network as a small dataflow graph: the one description of our ViT that
// every exporter (ONNX, TensorFlow.js graph model) translates op by op, so no exporter
// carries its own copy of the architecture. It follows engine/model/vit.ts step for step
// (2-D activations [B·T, D], patch embedding by reshape/transpose + matmul, q/k/v as
// separate matmuls) with the batch dimension left dynamic (-1 in reshapes).
//
// Ops are a deliberately small vocabulary with ONNX-like semantics; static parameters
// (shapes, permutations, axes) are node attributes, tensors are inputs.

import { type ViTConfig, attnDim, headDim, numPatches, numTokens } from '../../shared/config.js';
import type { NamedTensor, TensorMap } from '../io/safetensors.js';
import { fromStorageLayout } from '../model/params.js';

export type GraphOp =
  | 'MatMul' // a @ b; rank 2, or rank 3 with matching batch
  | 'Add' | 'Sub' | 'Mul' | 'Div' // element-wise, numpy broadcasting
  | 'Reshape' // attrs.shape, one entry may be -1
  | 'Transpose' // attrs.perm
  | 'Softmax' // over the last axis
  | 'ReduceMean' // attrs.axes, attrs.keepDims
  | 'Sqrt' | 'Erf' | 'Tanh'
  | 'Pad' // zero padding, attrs.pads = [[before, after] per axis]
  | 'Gather'; // attrs.axis, attrs.index: takes one index, dropping that axis

export interface GraphNodeAttrs {
  shape?: number[];
  perm?: number[];
  axes?: number[];
  keepDims?: boolean;
  pads?: [number, number][];
  axis?: number;
  index?: number;
}

/** A dimension: a size, or null for the dynamic batch. */
export type Dim = number | null;

export interface GraphNode {
  /** Also the name of its single output. */
  name: string;
  op: GraphOp;
  inputs: string[];
  attrs: GraphNodeAttrs;
  /** Output shape; null marks the batch dimension (or a multiple of it). */
  shape: Dim[];
}

export interface InferenceGraph {
  config: ViTConfig;
  input: { name: 'pixel_values'; shape: Dim[] };
  output: { name: 'logits'; shape: Dim[] };
  /** float32 constants (weights and scalars), by name, in creation order. */
  initializers: Map<string, NamedTensor>;
  /** Topologically ordered. */
  nodes: GraphNode[];
}

export const INPUT_NAME = 'pixel_values';
export const OUTPUT_NAME = 'logits';

/** Appends nodes while tracking value shapes; every method returns the output name. */
class GraphBuilder {
  readonly nodes: GraphNode[] = [];
  readonly initializers = new Map<string, NamedTensor>();
  private readonly shapes = new Map<string, Dim[]>();

  constructor(input: string, inputShape: Dim[]) {
    this.shapes.set(input, inputShape);
  }

  shapeOf(name: string): Dim[] {
    const s = this.shapes.get(name);
    if (!s) throw new Error(`graph: unknown value "${name}"`);
    return s;
  }

  constant(name: string, tensor: NamedTensor): string {
    if (this.initializers.has(name)) throw new Error(`graph: duplicate initializer "${name}"`);
    this.initializers.set(name, tensor);
    this.shapes.set(name, tensor.shape);
    return name;
  }

  scalar(name: string, value: number): string {
    const full = `const/${name}`;
    if (!this.initializers.has(full)) this.constant(full, { shape: [], data: Float32Array.of(value) });
    return full;
  }

  private add(name: string, op: GraphOp, inputs: string[], attrs: GraphNodeAttrs, shape: Dim[]): string {
    if (this.shapes.has(name)) throw new Error(`graph: duplicate value "${name}"`);
    for (const i of inputs) this.shapeOf(i);
    this.nodes.push({ name, op, inputs, attrs, shape });
    this.shapes.set(name, shape);
    return name;
  }

  binary(name: string, op: 'Add' | 'Sub' | 'Mul' | 'Div', a: string, b: string): string {
    return this.add(name, op, [a, b], {}, broadcastShapes(this.shapeOf(a), this.shapeOf(b)));
  }

  unary(name: string, op: 'Sqrt' | 'Erf' | 'Tanh' | 'Softmax', x: string): string {
    return this.add(name, op, [x], {}, this.shapeOf(x));
  }

  matMul(name: string, a: string, b: string): string {
    const sa = this.shapeOf(a);
    const sb = this.shapeOf(b);
    return this.add(name, 'MatMul', [a, b], {}, [...sa.slice(0, -1), sb[sb.length - 1]!]);
  }

  reshape(name: string, x: string, shape: number[]): string {
    // -1 stands for the batch (times whatever the other dimensions leave over).
    return this.add(name, 'Reshape', [x], { shape }, shape.map((d) => (d === -1 ? null : d)));
  }

  transpose(name: string, x: string, perm: number[]): string {
    const s = this.shapeOf(x);
    return this.add(name, 'Transpose', [x], { perm }, perm.map((p) => s[p]!));
  }

  reduceMean(name: string, x: string, axes: number[], keepDims: boolean): string {
    const s = this.shapeOf(x);
    const rank = s.length;
    const reduced = new Set(axes.map((a) => (a < 0 ? a + rank : a)));
    const shape = keepDims ? s.map((d, i) => (reduced.has(i) ? 1 : d)) : s.filter((_, i) => !reduced.has(i));
    return this.add(name, 'ReduceMean', [x], { axes, keepDims }, shape);
  }

  pad(name: string, x: string, pads: [number, number][]): string {
    const s = this.shapeOf(x);
    return this.add(name, 'Pad', [x], { pads }, s.map((d, i) => (d === null ? null : d + pads[i]![0] + pads[i]![1])));
  }

  gather(name: string, x: string, axis: number, index: number): string {
    const s = this.shapeOf(x);
    return this.add(name, 'Gather', [x], { axis, index }, s.filter((_, i) => i !== axis));
  }
}

function broadcastShapes(a: Dim[], b: Dim[]): Dim[] {
  const rank = Math.max(a.length, b.length);
  const out: Dim[] = [];
  for (let i = 0; i < rank; i++) {
    const da = i - (rank - a.length) >= 0 ? a[i - (rank - a.length)]! : 1;
    const db = i - (rank - b.length) >= 0 ? b[i - (rank - b.length)]! : 1;
    if (da === null || db === null) out.push(da === 1 ? db : da);
    else if (da === db || db === 1) out.push(da);
    else if (da === 1) out.push(db);
    else throw new Error(`graph: cannot broadcast [${a}] with [${b}]`);
  }
  return out;
}

function weight(tensors: TensorMap, name: string): NamedTensor {
  const t = tensors.get(name);
  if (!t) throw new Error(`graph: model has no tensor "${name}"`);
  return t;
}

/** y = LayerNorm(x) over the last axis, decomposed (biased variance, as PyTorch). */
function layerNorm(g: GraphBuilder, prefix: string, x: string, tensors: TensorMap, eps: number): string {
  const mean = g.reduceMean(`${prefix}/mean`, x, [-1], true);
  const centered = g.binary(`${prefix}/centered`, 'Sub', x, mean);
  const variance = g.reduceMean(`${prefix}/variance`, g.binary(`${prefix}/squared`, 'Mul', centered, centered), [-1], true);
  const std = g.unary(`${prefix}/std`, 'Sqrt', g.binary(`${prefix}/variance_eps`, 'Add', variance, g.scalar(`eps_${eps}`, eps)));
  const normalized = g.binary(`${prefix}/normalized`, 'Div', centered, std);
  const scaled = g.binary(`${prefix}/scaled`, 'Mul', normalized, g.constant(`${prefix}.weight`, weight(tensors, `${prefix}.weight`)));
  return g.binary(`${prefix}/out`, 'Add', scaled, g.constant(`${prefix}.bias`, weight(tensors, `${prefix}.bias`)));
}

/** x [M, in] @ W [in, out] (+ b). */
function linear(g: GraphBuilder, prefix: string, x: string, tensors: TensorMap, bias = true): string {
  const product = g.matMul(`${prefix}/matmul`, x, g.constant(`${prefix}.weight`, weight(tensors, `${prefix}.weight`)));
  return bias ? g.binary(`${prefix}/out`, 'Add', product, g.constant(`${prefix}.bias`, weight(tensors, `${prefix}.bias`))) : product;
}

function gelu(g: GraphBuilder, prefix: string, x: string, kind: ViTConfig['gelu']): string {
  const half = g.scalar('half', 0.5);
  const one = g.scalar('one', 1);
  let inner: string;
  if (kind === 'exact') {
    // 0.5 · x · (1 + erf(x / √2))
    inner = g.unary(`${prefix}/erf`, 'Erf', g.binary(`${prefix}/scaled`, 'Mul', x, g.scalar('sqrt_half', Math.SQRT1_2)));
  } else {
    // 0.5 · x · (1 + tanh(√(2/π) · (x + 0.044715 x³)))
    const cube = g.binary(`${prefix}/cube`, 'Mul', g.binary(`${prefix}/square`, 'Mul', x, x), x);
    const poly = g.binary(`${prefix}/poly`, 'Add', x, g.binary(`${prefix}/cube_scaled`, 'Mul', cube, g.scalar('gelu_tanh_c', 0.044715)));
    inner = g.unary(`${prefix}/tanh`, 'Tanh', g.binary(`${prefix}/tanh_in`, 'Mul', poly, g.scalar('sqrt_2_over_pi', Math.sqrt(2 / Math.PI))));
  }
  const cdf = g.binary(`${prefix}/cdf`, 'Mul', g.binary(`${prefix}/one_plus`, 'Add', inner, one), half);
  return g.binary(`${prefix}/out`, 'Mul', x, cdf);
}

/** Splits [B·T, A] into heads: [B·H, T, d] (or [B·H, d, T] when `keysTransposed`). */
function toHeads(g: GraphBuilder, name: string, x: string, config: ViTConfig, keysTransposed: boolean): string {
  const t = numTokens(config);
  const h = config.heads;
  const d = headDim(config);
  const split = g.reshape(`${name}/split`, x, [-1, t, h, d]); // [B, T, H, d]
  const perm = keysTransposed ? [0, 2, 3, 1] : [0, 2, 1, 3]; // [B, H, d, T] or [B, H, T, d]
  const moved = g.transpose(`${name}/heads`, split, perm);
  return g.reshape(`${name}/flat`, moved, keysTransposed ? [-1, d, t] : [-1, t, d]);
}

function attention(g: GraphBuilder, prefix: string, x: string, tensors: TensorMap, config: ViTConfig): string {
  const { qkvBias, heads } = config;
  const t = numTokens(config);
  const d = headDim(config);
  const q = toHeads(g, `${prefix}/q`, linear(g, `${prefix}.q`, x, tensors, qkvBias), config, false);
  const kT = toHeads(g, `${prefix}/k`, linear(g, `${prefix}.k`, x, tensors, qkvBias), config, true);
  const v = toHeads(g, `${prefix}/v`, linear(g, `${prefix}.v`, x, tensors, qkvBias), config, false);
  const scaledQ = g.binary(`${prefix}/q_scaled`, 'Mul', q, g.scalar(`attn_scale_${d}`, d ** -0.5));
  const probs = g.unary(`${prefix}/probs`, 'Softmax', g.matMul(`${prefix}/scores`, scaledQ, kT)); // [B·H, T, T]
  const mixed = g.matMul(`${prefix}/mixed`, probs, v); // [B·H, T, d]
  const merged = g.transpose(`${prefix}/merge`, g.reshape(`${prefix}/unflat`, mixed, [-1, heads, t, d]), [0, 2, 1, 3]);
  return linear(g, `${prefix}.proj`, g.reshape(`${prefix}/merged`, merged, [-1, attnDim(config)]), tensors);
}

/**
 * The inference graph of a plain ViT from its config and timm-layout (storage) tensors,
 * e.g. a model file's tensors or `toStorageLayout(tensorsFromParams(...))`.
 */
export function buildInferenceGraph(config: ViTConfig, storageTensors: TensorMap): InferenceGraph {
  const tensors = fromStorageLayout(storageTensors); // memory layout: linear weights [in, out], q/k/v split
  const { channels: c, patchSize: p, imageSize: s, dim } = config;
  const grid = s / p;
  const n = numPatches(config);
  const t = numTokens(config);
  const g = new GraphBuilder(INPUT_NAME, [null, c, s, s]);

  // Patch embedding: [B, C, S, S] → [B·N, C·P·P] ordered (c, py, px), like timm's conv weight.
  let x = g.transpose('patch_embed/cols', g.reshape('patch_embed/rows', INPUT_NAME, [-1, p, grid, p]), [0, 2, 1, 3]); // [B·C·g, g, P, P]
  if (c > 1) x = g.transpose('patch_embed/channels_last', g.reshape('patch_embed/by_channel', x, [-1, c, n, p * p]), [0, 2, 1, 3]); // [B, N, C, P·P]
  x = linear(g, 'patch_embed.proj', g.reshape('patch_embed/flat', x, [-1, c * p * p]), tensors); // [B·N, D]
  x = g.reshape('tokens/patches', x, [-1, n, dim]); // [B, N, D]

  let positions = g.constant('pos_embed', weight(tensors, 'pos_embed')); // [T, D]
  if (config.pooling === 'cls') {
    // A zero row in front of the patches, filled by adding the class token padded to [T, D]:
    // the same values as concatenating a broadcast class token, with no batch-sized shape op.
    x = g.pad('tokens/with_cls_slot', x, [[0, 0], [1, 0], [0, 0]]);
    const clsRow = g.pad('cls_token/padded', g.constant('cls_token', weight(tensors, 'cls_token')), [[0, n], [0, 0]]);
    positions = g.binary('tokens/pos_and_cls', 'Add', positions, clsRow);
  }
  x = g.reshape('tokens/flat', g.binary('tokens/embedded', 'Add', x, positions), [-1, dim]); // [B·T, D]

  for (let i = 0; i < config.depth; i++) {
    const b = `blocks.${i}`;
    x = g.binary(`${b}/after_attn`, 'Add', x, attention(g, `${b}.attn`, layerNorm(g, `${b}.norm1`, x, tensors, config.layerNormEps), tensors, config));
    const hidden = gelu(g, `${b}.mlp.act`, linear(g, `${b}.mlp.fc1`, layerNorm(g, `${b}.norm2`, x, tensors, config.layerNormEps), tensors), config.gelu);
    x = g.binary(`${b}/out`, 'Add', x, linear(g, `${b}.mlp.fc2`, hidden, tensors));
  }

  const perSample = g.reshape('features/tokens', x, [-1, t, dim]); // [B, T, D]
  const features = config.pooling === 'cls'
    ? layerNorm(g, 'norm', g.gather('features/cls', perSample, 1, 0), tensors, config.layerNormEps)
    : layerNorm(g, 'fc_norm', g.reduceMean('features/mean', perSample, [1], false), tensors, config.layerNormEps);
  const product = g.matMul('head/matmul', features, g.constant('head.weight', weight(tensors, 'head.weight')));
  g.binary(OUTPUT_NAME, 'Add', product, g.constant('head.bias', weight(tensors, 'head.bias')));

  return {
    config,
    input: { name: INPUT_NAME, shape: [null, c, s, s] },
    output: { name: OUTPUT_NAME, shape: [null, config.numClasses] },
    initializers: g.initializers,
    nodes: g.nodes,
  };
}
