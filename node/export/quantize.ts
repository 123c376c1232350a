// int8 quantization of an ONNX model (ONNX → ONNX), written as standard ONNX ops so any
// runtime can run it, in the patterns onnxruntime's CPU provider fuses into integer kernels:
//
//   static  (activation ranges calibrated on images, QDQ form):
//     x ─QuantizeLinear(s_x, z_x: uint8)─DequantizeLinear─┐
//     W_q (int8 [K, N]) ─DequantizeLinear(s_w [N], axis 1)─MatMul → y (float)
//     onnxruntime fuses DQ + DQ + MatMul (no Q after it) into MatMulIntegerToFloat.
//   dynamic (no calibration data; each batch quantized from its own range at run time):
//     x ─DynamicQuantizeLinear→ x_q, s_x, z_x
//     MatMulInteger(x_q, W_q, z_x, 0) ─Cast(float)─Mul(s_x · s_w [N]) → y
//     onnxruntime fuses this into DynamicQuantizeMatMul.
//
// Every MatMul whose second input is a 2-D float initializer (a weight: patch embedding,
// q, k, v, proj, fc1, fc2, head) gets per-output-channel symmetric int8 weights
// (s_w = max|W[:, n]| / 127, zero point 0); activation × activation products (attention
// scores, attention · V) and everything else stay float. An activation read by several
// MatMuls (the LayerNorm output feeding q, k and v) is quantized once.

import onnxProto from 'onnx-proto';

const { onnx } = onnxProto;
type IModelProto = onnxProto.onnx.IModelProto;
type INodeProto = onnxProto.onnx.INodeProto;
type ITensorProto = onnxProto.onnx.ITensorProto;
const DataType = onnx.TensorProto.DataType;

/** A calibrated activation range (float), widened to contain 0 when quantized. */
export interface Range {
  min: number;
  max: number;
}

/** A MatMul with a weight initializer: what quantization rewrites. */
export interface QuantizableMatMul {
  node: string;
  /** The activation input (the tensor whose range calibration measures). */
  activation: string;
  weight: string;
}

export const WEIGHT_MAX = 127;

function bytesOf(t: ITensorProto): Uint8Array {
  const raw = t.rawData;
  if (!raw || raw.byteLength === 0) throw new Error(`quantize: initializer "${t.name}" has no raw data`);
  return raw;
}

function floatData(t: ITensorProto): Float32Array {
  const raw = bytesOf(t);
  // A copy: rawData may sit at any offset of a larger buffer.
  return new Float32Array(raw.slice().buffer);
}

function tensor(name: string, dataType: number, dims: number[], data: Float32Array | Int8Array | Uint8Array): ITensorProto {
  return { name, dataType, dims, rawData: new Uint8Array(data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength)) };
}

/** The MatMuls of `model` that have a float 2-D weight initializer as their second input. */
export function quantizableMatMuls(model: IModelProto): QuantizableMatMul[] {
  const initializers = new Map((model.graph?.initializer ?? []).map((t) => [t.name ?? '', t]));
  const out: QuantizableMatMul[] = [];
  for (const node of model.graph?.node ?? []) {
    if (node.opType !== 'MatMul' || (node.domain ?? '') !== '') continue;
    const weight = initializers.get(node.input?.[1] ?? '');
    if (!weight || weight.dataType !== DataType.FLOAT || (weight.dims ?? []).length !== 2) continue;
    out.push({ node: node.name ?? '', activation: node.input![0]!, weight: weight.name! });
  }
  return out;
}

/** Symmetric per-column int8: W [K, N] row-major → q [K, N] and a scale per column. */
export function quantizeWeightPerColumn(w: Float32Array, rows: number, cols: number): { q: Int8Array; scale: Float32Array } {
  const scale = new Float32Array(cols);
  for (let c = 0; c < cols; c++) {
    let max = 0;
    for (let r = 0; r < rows; r++) max = Math.max(max, Math.abs(w[r * cols + c]!));
    // An all-zero column (a zero-padded head) still needs a positive scale.
    scale[c] = max > 0 ? max / WEIGHT_MAX : 1;
  }
  const q = new Int8Array(rows * cols);
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++) {
      q[r * cols + c] = Math.max(-WEIGHT_MAX, Math.min(WEIGHT_MAX, Math.round(w[r * cols + c]! / scale[c]!)));
    }
  }
  return { q, scale };
}

/** uint8 affine parameters for a float range; the range is widened to contain 0 so zero is exact. */
export function uint8Params(range: Range): { scale: number; zeroPoint: number } {
  const min = Math.min(0, range.min);
  const max = Math.max(0, range.max);
  if (!(max > min)) return { scale: 1, zeroPoint: 0 };
  const scale = (max - min) / 255;
  return { scale, zeroPoint: Math.max(0, Math.min(255, Math.round(-min / scale))) };
}

export type QuantizeMode = { mode: 'static'; ranges: Map<string, Range> } | { mode: 'dynamic' };

/**
 * The int8 model: weights of every quantizable MatMul as int8 initializers with per-column
 * scales, activations quantized statically (QDQ, `ranges` by activation name) or
 * dynamically. `activationRanks` gives the rank of each MatMul's activation input: the
 * static form needs rank 2 (Gemm). Metadata, inputs and outputs are kept; tensor names
 * are shortened (compactNames). Returns a new ModelProto object.
 */
export function quantizeModel(model: IModelProto, options: QuantizeMode & { activationRanks: Map<string, number> }): { model: IModelProto; matmuls: QuantizableMatMul[] } {
  const graph = model.graph;
  if (!graph) throw new Error('quantize: the model has no graph');
  const targets = quantizableMatMuls(model);
  const byNode = new Map(targets.map((t) => [t.node, t]));
  const weightNames = new Set(targets.map((t) => t.weight));
  const uses = new Map<string, number>();
  for (const node of graph.node ?? []) for (const input of node.input ?? []) uses.set(input, (uses.get(input) ?? 0) + 1);
  for (const t of targets) {
    if (uses.get(t.weight) !== 1) throw new Error(`quantize: weight "${t.weight}" is read by ${uses.get(t.weight)} nodes; each weight must feed one MatMul`);
    if (options.mode === 'static' && options.activationRanks.get(t.activation) !== 2) {
      throw new Error(`quantize: "${t.activation}" (input of ${t.node}) must be a matrix for the static form, has rank ${options.activationRanks.get(t.activation) ?? 'unknown'}`);
    }
  }
  const initializers: ITensorProto[] = (graph.initializer ?? []).filter((t) => !weightNames.has(t.name ?? ''));
  const floatWeights = new Map((graph.initializer ?? []).filter((t) => weightNames.has(t.name ?? '')).map((t) => [t.name!, t]));
  const nodes: INodeProto[] = [];
  // What an activation becomes once quantized, made where the first MatMul reads it.
  const quantized = new Map<string, { dequantized: string } | { q: string; scale: string; zeroPoint: string }>();
  const quantizedActivation = (name: string) => {
    const done = quantized.get(name);
    if (done) return done;
    if (options.mode === 'static') {
      const range = options.ranges.get(name);
      if (!range) throw new Error(`quantize: no calibrated range for "${name}"`);
      const { scale, zeroPoint } = uint8Params(range);
      const [s, z] = [`${name}/scale`, `${name}/zero_point`];
      initializers.push(tensor(s, DataType.FLOAT, [], Float32Array.of(scale)), tensor(z, DataType.UINT8, [], Uint8Array.of(zeroPoint)));
      nodes.push({ opType: 'QuantizeLinear', input: [name, s, z], output: [`${name}/uint8`] });
      nodes.push({ opType: 'DequantizeLinear', input: [`${name}/uint8`, s, z], output: [`${name}/dequantized`] });
      quantized.set(name, { dequantized: `${name}/dequantized` });
    } else {
      nodes.push({ opType: 'DynamicQuantizeLinear', input: [name], output: [`${name}/uint8`, `${name}/scale`, `${name}/zero_point`] });
      quantized.set(name, { q: `${name}/uint8`, scale: `${name}/scale`, zeroPoint: `${name}/zero_point` });
    }
    return quantized.get(name)!;
  };

  for (const node of graph.node ?? []) {
    const target = byNode.get(node.name ?? '');
    if (!target) {
      nodes.push(node);
      continue;
    }
    const w = floatWeights.get(target.weight)!;
    const [rows, cols] = (w.dims ?? []).map(Number) as [number, number];
    const { q, scale } = quantizeWeightPerColumn(floatData(w), rows, cols);
    const [wq, ws, wz] = [`${target.weight}/int8`, `${target.weight}/scale`, `${target.weight}/zero_point`];
    initializers.push(tensor(wq, DataType.INT8, [rows, cols], q), tensor(ws, DataType.FLOAT, [cols], scale));
    const x = quantizedActivation(target.activation);
    const out = node.output![0]!;
    if ('dequantized' in x) {
      // Gemm rather than MatMul: onnxruntime would first fuse a MatMul with the bias Add
      // that follows into a Gemm whose float bias keeps it from the QDQ fusion; a bias-free
      // Gemm between two DequantizeLinear becomes QGemm with float output.
      // onnxruntime's QGemm fusion wants the weight's zero point given (zeros), not implied.
      initializers.push(tensor(wz, DataType.INT8, [cols], new Int8Array(cols)));
      nodes.push({ opType: 'DequantizeLinear', input: [wq, ws, wz], output: [`${target.weight}/dequantized`], attribute: [int('axis', 1)] });
      nodes.push({ opType: 'Gemm', input: [x.dequantized, `${target.weight}/dequantized`], output: [out] });
    } else {
      nodes.push({ opType: 'MatMulInteger', input: [x.q, wq, x.zeroPoint], output: [`${out}/int32`] });
      nodes.push({ opType: 'Cast', input: [`${out}/int32`], output: [`${out}/int32_as_float`], attribute: [int('to', DataType.FLOAT)] });
      nodes.push({ opType: 'Mul', input: [x.scale, ws], output: [`${out}/scale`] });
      nodes.push({ opType: 'Mul', input: [`${out}/int32_as_float`, `${out}/scale`], output: [out] });
    }
  }
  return { model: compactNames({ ...model, graph: { ...graph, node: nodes, initializer: initializers } }), matmuls: targets };
}

function int(name: string, i: number): onnxProto.onnx.IAttributeProto {
  return { name, type: onnx.AttributeProto.AttributeType.INT, i };
}

/**
 * The same model with every internal tensor named by a short id and node names dropped
 * (both optional to ONNX). At dim 64 our readable names take as many bytes as a tenth of
 * the int8 weights; the graph's input and output keep their names.
 */
export function compactNames(model: IModelProto): IModelProto {
  const graph = model.graph!;
  const kept = new Set([...(graph.input ?? []), ...(graph.output ?? [])].map((v) => v.name ?? ''));
  const names = new Map<string, string>();
  const short = (name: string) => {
    if (name === '' || kept.has(name)) return name;
    let id = names.get(name);
    if (id === undefined) names.set(name, (id = names.size.toString(36)));
    return id;
  };
  return {
    ...model,
    graph: {
      ...graph,
      initializer: (graph.initializer ?? []).map((t) => ({ ...t, name: short(t.name ?? '') })),
      node: (graph.node ?? []).map((n) => {
        const { name: _name, ...rest } = n;
        return { ...rest, input: (n.input ?? []).map(short), output: (n.output ?? []).map(short) };
      }),
    },
  };
}

/**
 * A copy of `model` that also outputs the float tensors `names` (for calibration: their
 * values are read while the model runs).
 */
export function withExtraOutputs(model: IModelProto, names: string[]): IModelProto {
  const graph = model.graph!;
  const existing = new Set((graph.output ?? []).map((o) => o.name));
  const extra = [...new Set(names)].filter((n) => !existing.has(n)).map((name) => ({ name, type: { tensorType: { elemType: DataType.FLOAT } } }));
  return { ...model, graph: { ...graph, output: [...(graph.output ?? []), ...extra] } };
}
