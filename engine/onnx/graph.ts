// An ONNX graph under construction, with static shapes: every op helper checks its
// inputs and records its output's shape, so the graph's builders (engine/onnx/*) can
// compute reshapes and reductions from shapes and a mistake fails here, at build time,
// naming the op — not inside onnxruntime. Opset 17 semantics (ReduceSum takes axes as
// an input, ReduceMean / ReduceSumSquare as an attribute).

import { type AttributeValue, encodeOnnxModel, type OnnxDType, type OnnxNode, type OnnxTensor, type OnnxValueInfo, rawBytes } from './proto.js';

export const OPSET = 17;
export const IR_VERSION = 8;
export const MS_DOMAIN = 'com.microsoft';

export interface Value {
  readonly name: string;
  readonly shape: readonly number[];
  readonly dtype: OnnxDType;
}

export function sizeOf(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

/** numpy broadcasting of two static shapes. */
export function broadcastShape(a: readonly number[], b: readonly number[], op: string): number[] {
  const rank = Math.max(a.length, b.length);
  const out: number[] = [];
  for (let i = 0; i < rank; i++) {
    const da = a[i - (rank - a.length)] ?? 1;
    const db = b[i - (rank - b.length)] ?? 1;
    if (da !== db && da !== 1 && db !== 1) throw new Error(`${op}: cannot broadcast [${a}] with [${b}]`);
    out.push(da === 1 ? db : da);
  }
  return out;
}

function normalizeAxes(axes: readonly number[], rank: number): number[] {
  return axes.map((a) => (a < 0 ? a + rank : a));
}

export interface GraphOptions {
  /** Use com.microsoft contrib ops (Gelu, FusedMatMul) where they exist (the CPU EP has them). */
  contribOps: boolean;
}

export class GraphBuilder {
  private readonly nodes: OnnxNode[] = [];
  private readonly initializers: OnnxTensor[] = [];
  private readonly graphInputs: OnnxValueInfo[] = [];
  private readonly graphOutputs: OnnxValueInfo[] = [];
  private readonly names = new Set<string>();
  private readonly constants = new Map<string, Value>();
  private counter = 0;

  constructor(readonly options: GraphOptions) {}

  private fresh(hint: string): string {
    let name = `${hint}_${this.counter++}`;
    while (this.names.has(name)) name = `${hint}_${this.counter++}`;
    this.names.add(name);
    return name;
  }

  private claim(name: string): string {
    if (this.names.has(name)) throw new Error(`graph: the name "${name}" is taken`);
    this.names.add(name);
    return name;
  }

  input(name: string, shape: readonly number[], dtype: OnnxDType = 'float32'): Value {
    const value = { name: this.claim(name), shape: [...shape], dtype };
    this.graphInputs.push({ name, dtype, shape: [...shape] });
    return value;
  }

  /** Declares `value` a graph output under `name` (the producing node's output is renamed). */
  output(value: Value, name: string): void {
    const producer = this.nodes.find((n) => n.outputs.includes(value.name));
    if (!producer || this.graphOutputs.some((o) => o.name === value.name)) {
      // A graph input, an initializer or a value already output under another name: copy it.
      this.nodes.push({ opType: 'Identity', inputs: [value.name], outputs: [this.claim(name)] });
    } else {
      this.claim(name);
      const old = value.name;
      for (const node of this.nodes) {
        node.inputs = node.inputs.map((i) => (i === old ? name : i));
        node.outputs = node.outputs.map((o) => (o === old ? name : o));
      }
      (value as { name: string }).name = name;
    }
    this.graphOutputs.push({ name, dtype: value.dtype, shape: [...value.shape] });
  }

  /** A constant tensor (deduplicated by content for small ones). */
  constant(data: Float32Array | BigInt64Array | Uint8Array, shape: readonly number[], dtype: OnnxDType = 'float32', hint = 'const'): Value {
    const key = data.length <= 16 ? `${dtype}:${shape.join('x')}:${Array.from(data as ArrayLike<number | bigint>).join(',')}` : null;
    const cached = key ? this.constants.get(key) : undefined;
    if (cached) return cached;
    const name = this.fresh(hint);
    this.initializers.push({ name, dtype, shape: [...shape], raw: rawBytes(data).slice() });
    const value = { name, shape: [...shape], dtype };
    if (key) this.constants.set(key, value);
    return value;
  }

  /** A float32 constant of one repeated value (one initializer per value and shape). */
  filled(value: number, shape: readonly number[]): Value {
    const key = `filled:${value}:${shape.join('x')}`;
    let cached = this.constants.get(key);
    if (!cached) {
      cached = this.constant(new Float32Array(sizeOf(shape)).fill(value), shape, 'float32', value === 0 ? 'zeros' : value === 1 ? 'ones' : 'filled');
      this.constants.set(key, cached);
    }
    return cached;
  }

  scalar(value: number): Value {
    return this.constant(Float32Array.of(value), [], 'float32', 'scalar');
  }

  ints(values: readonly number[]): Value {
    return this.constant(BigInt64Array.from(values.map((v) => BigInt(v))), [values.length], 'int64', 'ints');
  }

  /** Appends a node; returns its outputs with the given shapes. */
  node(
    opType: string,
    inputs: (Value | null)[],
    outputShapes: (readonly number[])[],
    attributes: Record<string, AttributeValue> = {},
    options: { domain?: string; dtypes?: OnnxDType[] } = {},
  ): Value[] {
    const outputs = outputShapes.map((shape, i) => ({
      name: this.fresh(opType.toLowerCase()),
      shape: [...shape],
      dtype: options.dtypes?.[i] ?? 'float32',
    }));
    this.nodes.push({
      opType,
      ...(options.domain ? { domain: options.domain } : {}),
      inputs: inputs.map((i) => i?.name ?? ''),
      outputs: outputs.map((o) => o.name),
      attributes,
    });
    return outputs;
  }

  private one(opType: string, inputs: (Value | null)[], shape: readonly number[], attributes: Record<string, AttributeValue> = {}, domain?: string): Value {
    return this.node(opType, inputs, [shape], attributes, domain ? { domain } : {})[0]!;
  }

  // ---- element-wise ----------------------------------------------------------------
  private binary(op: string, a: Value, b: Value): Value {
    return this.one(op, [a, b], broadcastShape(a.shape, b.shape, op));
  }
  add(a: Value, b: Value): Value { return this.binary('Add', a, b); }
  sub(a: Value, b: Value): Value { return this.binary('Sub', a, b); }
  mul(a: Value, b: Value): Value { return this.binary('Mul', a, b); }
  div(a: Value, b: Value): Value { return this.binary('Div', a, b); }
  min(a: Value, b: Value): Value { return this.binary('Min', a, b); }
  unary(op: 'Sqrt' | 'Erf' | 'Exp' | 'Neg' | 'Tanh' | 'Sigmoid' | 'Reciprocal' | 'Identity', x: Value): Value {
    return this.one(op, [x], x.shape);
  }
  scale(x: Value, factor: number): Value {
    return factor === 1 ? x : this.mul(x, this.scalar(factor));
  }
  clip(x: Value, min: number, max: number): Value {
    return this.one('Clip', [x, this.scalar(min), this.scalar(max)], x.shape);
  }
  where(condition: Value, a: Value, b: Value): Value {
    const shape = broadcastShape(condition.shape, broadcastShape(a.shape, b.shape, 'Where'), 'Where');
    return this.one('Where', [condition, a, b], shape);
  }

  // ---- products ----------------------------------------------------------------------
  /** Y = alpha·op(A)·op(B) + beta·C for 2-D A, B; C broadcast to the output. */
  gemm(a: Value, b: Value, options: { transA?: boolean; transB?: boolean; c?: Value | null; alpha?: number; beta?: number } = {}): Value {
    if (a.shape.length !== 2 || b.shape.length !== 2) throw new Error(`Gemm: needs 2-D operands, got [${a.shape}] and [${b.shape}]`);
    const [m, ka] = options.transA ? [a.shape[1]!, a.shape[0]!] : [a.shape[0]!, a.shape[1]!];
    const [kb, n] = options.transB ? [b.shape[1]!, b.shape[0]!] : [b.shape[0]!, b.shape[1]!];
    if (ka !== kb) throw new Error(`Gemm: inner sizes differ: [${a.shape}]${options.transA ? 'ᵀ' : ''} · [${b.shape}]${options.transB ? 'ᵀ' : ''}`);
    if (options.c) broadcastShape(options.c.shape, [m, n], 'Gemm C');
    const attributes: Record<string, AttributeValue> = {};
    if (options.transA) attributes.transA = 1;
    if (options.transB) attributes.transB = 1;
    if (options.alpha !== undefined && options.alpha !== 1) attributes.alpha = { float: options.alpha };
    if (options.beta !== undefined && options.beta !== 1) attributes.beta = { float: options.beta };
    return this.one('Gemm', options.c ? [a, b, options.c] : [a, b], [m, n], attributes);
  }

  /** Batched op(A)·op(B)·alpha over the last two axes (batch axes broadcast). */
  matMul(a: Value, b: Value, options: { transA?: boolean; transB?: boolean; alpha?: number } = {}): Value {
    const { transA = false, transB = false, alpha = 1 } = options;
    const ra = a.shape.length;
    const rb = b.shape.length;
    if (ra < 2 || rb < 2) throw new Error(`MatMul: needs rank ≥ 2, got [${a.shape}] and [${b.shape}]`);
    const [m, ka] = transA ? [a.shape[ra - 1]!, a.shape[ra - 2]!] : [a.shape[ra - 2]!, a.shape[ra - 1]!];
    const [kb, n] = transB ? [b.shape[rb - 1]!, b.shape[rb - 2]!] : [b.shape[rb - 2]!, b.shape[rb - 1]!];
    if (ka !== kb) throw new Error(`MatMul: inner sizes differ: [${a.shape}] · [${b.shape}] (transA ${transA}, transB ${transB})`);
    const batch = broadcastShape(a.shape.slice(0, -2), b.shape.slice(0, -2), 'MatMul');
    const shape = [...batch, m, n];
    if (this.options.contribOps && (transA || transB || alpha !== 1)) {
      const attributes: Record<string, AttributeValue> = { alpha: { float: alpha } };
      if (transA) attributes.transA = 1;
      if (transB) attributes.transB = 1;
      return this.one('FusedMatMul', [a, b], shape, attributes, MS_DOMAIN);
    }
    const swapLast = (x: Value) => this.transpose(x, [...x.shape.keys()].map((i, _, all) => (i === all.length - 2 ? all.length - 1 : i === all.length - 1 ? all.length - 2 : i)));
    const product = this.one('MatMul', [transA ? swapLast(a) : a, transB ? swapLast(b) : b], shape);
    return this.scale(product, alpha);
  }

  // ---- shapes -----------------------------------------------------------------------
  reshape(x: Value, shape: readonly number[]): Value {
    if (sizeOf(shape) !== sizeOf(x.shape)) throw new Error(`Reshape: [${x.shape}] has ${sizeOf(x.shape)} elements, [${shape}] needs ${sizeOf(shape)}`);
    if (sameShape(shape, x.shape)) return x;
    return this.one('Reshape', [x, this.ints(shape)], shape);
  }

  transpose(x: Value, perm: readonly number[]): Value {
    if (perm.length !== x.shape.length) throw new Error(`Transpose: perm [${perm}] does not fit [${x.shape}]`);
    return this.one('Transpose', [x], perm.map((p) => x.shape[p]!), { perm: [...perm] });
  }

  /** x[starts:ends] along `axes` (steps of 1). */
  slice(x: Value, starts: readonly number[], ends: readonly number[], axes: readonly number[]): Value {
    const shape = [...x.shape];
    normalizeAxes(axes, x.shape.length).forEach((axis, i) => (shape[axis] = ends[i]! - starts[i]!));
    return this.one('Slice', [x, this.ints(starts), this.ints(ends), this.ints(axes)], shape);
  }

  concat(xs: Value[], axis: number): Value {
    if (xs.length === 1) return xs[0]!;
    const rank = xs[0]!.shape.length;
    const a = axis < 0 ? axis + rank : axis;
    const shape = [...xs[0]!.shape];
    shape[a] = xs.reduce((sum, x) => sum + x.shape[a]!, 0);
    return this.one('Concat', xs, shape, { axis: a });
  }

  /** Zero padding: pads[i] = [before, after] of axis i. */
  pad(x: Value, pads: readonly (readonly [number, number])[]): Value {
    const flat = [...pads.map((p) => p[0]), ...pads.map((p) => p[1])];
    return this.one('Pad', [x, this.ints(flat)], x.shape.map((d, i) => d + pads[i]![0] + pads[i]![1]));
  }

  expand(x: Value, shape: readonly number[]): Value {
    return this.one('Expand', [x, this.ints(shape)], broadcastShape(x.shape, shape, 'Expand'));
  }

  // ---- reductions -------------------------------------------------------------------
  private reducedShape(x: Value, axes: readonly number[], keepDims: boolean): number[] {
    const set = new Set(normalizeAxes(axes, x.shape.length));
    return keepDims ? x.shape.map((d, i) => (set.has(i) ? 1 : d)) : x.shape.filter((_, i) => !set.has(i));
  }

  reduceSum(x: Value, axes: readonly number[], keepDims = false): Value {
    return this.one('ReduceSum', [x, this.ints(axes)], this.reducedShape(x, axes, keepDims), { keepdims: keepDims ? 1 : 0 });
  }

  reduceMean(x: Value, axes: readonly number[], keepDims = false): Value {
    return this.one('ReduceMean', [x], this.reducedShape(x, axes, keepDims), { axes: [...axes], keepdims: keepDims ? 1 : 0 });
  }

  /** Σx² over every element: a scalar. */
  sumOfSquares(x: Value): Value {
    return this.one('ReduceSumSquare', [x], [], { keepdims: 0 });
  }

  // ---- neural-network ops ---------------------------------------------------------------
  softmax(x: Value): Value {
    return this.one('Softmax', [x], x.shape, { axis: -1 });
  }

  logSoftmax(x: Value): Value {
    return this.one('LogSoftmax', [x], x.shape, { axis: -1 });
  }

  /** LayerNormalization over the last axis: [y, mean, 1/std] (mean and 1/std keep the axis as 1). */
  layerNorm(x: Value, scale: Value, bias: Value, eps: number): [Value, Value, Value] {
    const stats = [...x.shape.slice(0, -1), 1];
    const [y, mean, invStd] = this.node('LayerNormalization', [x, scale, bias], [x.shape, stats, stats], { axis: -1, epsilon: { float: eps } });
    return [y!, mean!, invStd!];
  }

  /** GELU, exact: x·Φ(x) (one contrib op, or 0.5·x·(1 + erf(x/√2))). */
  geluExact(x: Value): Value {
    if (this.options.contribOps) return this.one('Gelu', [x], x.shape, {}, MS_DOMAIN);
    const cdf = this.mul(this.add(this.unary('Erf', this.scale(x, Math.SQRT1_2)), this.scalar(1)), this.scalar(0.5));
    return this.mul(x, cdf);
  }

  /** The model as ONNX bytes. */
  encode(meta: { graphName: string; docString?: string; metadata?: Record<string, string> }): Uint8Array {
    const usesContrib = this.nodes.some((n) => n.domain === MS_DOMAIN);
    return encodeOnnxModel({
      irVersion: IR_VERSION,
      opsets: [{ domain: '', version: OPSET }, ...(usesContrib ? [{ domain: MS_DOMAIN, version: 1 }] : [])],
      producerName: 'learngene-studio',
      graphName: meta.graphName,
      ...(meta.docString ? { docString: meta.docString } : {}),
      nodes: this.nodes,
      initializers: this.initializers,
      inputs: this.graphInputs,
      outputs: this.graphOutputs,
      ...(meta.metadata ? { metadata: meta.metadata } : {}),
    });
  }

  /** Node count by op type (profiles and tests). */
  opCounts(): Record<string, number> {
    const counts: Record<string, number> = {};
    for (const n of this.nodes) counts[n.opType] = (counts[n.opType] ?? 0) + 1;
    return counts;
  }
}
