// Inference graph → ONNX ModelProto (opset 17, IR version 8), built as protobuf objects
// with onnx-proto's generated schema and encoded by protobufjs, never by hand. Input
// `pixel_values` [batch, C, H, W] float32, output `logits` [batch, K]; the batch is a
// symbolic dimension. Every op maps one to one; LayerNorm stays decomposed (as in the
// graph) and GELU uses Erf (exact) or Tanh. Node-only because onnx-proto is a package
// outside the isomorphic engine core.

import onnxProto from 'onnx-proto';
import type { GraphNode, InferenceGraph } from '../../engine/export/graph.js';

const { onnx } = onnxProto;
type IModelProto = onnxProto.onnx.IModelProto;
type INodeProto = onnxProto.onnx.INodeProto;
type ITensorProto = onnxProto.onnx.ITensorProto;
type IAttributeProto = onnxProto.onnx.IAttributeProto;
type IValueInfoProto = onnxProto.onnx.IValueInfoProto;

export const ONNX_OPSET = 17;
export const ONNX_IR_VERSION = 8;
export const BATCH_DIM = 'batch';

export interface OnnxExportOptions {
  /** Stored as metadata_props (string values; objects are JSON-encoded by the caller). */
  metadata?: Record<string, string>;
  producerVersion?: string;
  docString?: string;
}

const AttributeType = onnx.AttributeProto.AttributeType;
const DataType = onnx.TensorProto.DataType;

function ints(name: string, values: number[]): IAttributeProto {
  return { name, type: AttributeType.INTS, ints: values };
}

function int(name: string, value: number): IAttributeProto {
  return { name, type: AttributeType.INT, i: value };
}

function floatTensor(name: string, shape: number[], data: Float32Array): ITensorProto {
  return { name, dataType: DataType.FLOAT, dims: shape, rawData: new Uint8Array(data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength)) };
}

function int64Tensor(name: string, shape: number[], values: number[]): ITensorProto {
  const data = BigInt64Array.from(values.map((v) => BigInt(v)));
  return { name, dataType: DataType.INT64, dims: shape, rawData: new Uint8Array(data.buffer) };
}

function valueInfo(name: string, shape: (number | null)[]): IValueInfoProto {
  return {
    name,
    type: {
      tensorType: {
        elemType: DataType.FLOAT,
        shape: { dim: shape.map((d) => (d === null ? { dimParam: BATCH_DIM } : { dimValue: d })) },
      },
    },
  };
}

const DIRECT_OPS = new Set(['Add', 'Sub', 'Mul', 'Div', 'MatMul', 'Sqrt', 'Erf', 'Tanh']);

/** One graph node as ONNX nodes plus the int64 initializers its static parameters need. */
function translate(node: GraphNode, constants: ITensorProto[]): INodeProto {
  const { name, op, inputs, attrs } = node;
  const base = { name, output: [name] };
  if (DIRECT_OPS.has(op)) return { ...base, opType: op, input: inputs };
  switch (op) {
    case 'Softmax':
      return { ...base, opType: 'Softmax', input: inputs, attribute: [int('axis', -1)] };
    case 'Reshape':
      constants.push(int64Tensor(`${name}/shape`, [attrs.shape!.length], attrs.shape!));
      return { ...base, opType: 'Reshape', input: [inputs[0]!, `${name}/shape`] };
    case 'Transpose':
      return { ...base, opType: 'Transpose', input: inputs, attribute: [ints('perm', attrs.perm!)] };
    case 'ReduceMean':
      // Opset 17 ReduceMean takes axes as an attribute (an input from opset 18 on).
      return { ...base, opType: 'ReduceMean', input: inputs, attribute: [ints('axes', attrs.axes!), int('keepdims', attrs.keepDims ? 1 : 0)] };
    case 'Pad': {
      // ONNX pads are all begins, then all ends.
      const pads = [...attrs.pads!.map((p) => p[0]), ...attrs.pads!.map((p) => p[1])];
      constants.push(int64Tensor(`${name}/pads`, [pads.length], pads));
      return { ...base, opType: 'Pad', input: [inputs[0]!, `${name}/pads`] };
    }
    case 'Gather':
      constants.push(int64Tensor(`${name}/index`, [], [attrs.index!]));
      return { ...base, opType: 'Gather', input: [inputs[0]!, `${name}/index`], attribute: [int('axis', attrs.axis!)] };
    default:
      throw new Error(`ONNX export: no mapping for graph op ${op}`);
  }
}

/** The ModelProto as a plain object (inspectable in tests before encoding). */
export function toOnnxModel(graph: InferenceGraph, options: OnnxExportOptions = {}): IModelProto {
  const constants: ITensorProto[] = [];
  const nodes = graph.nodes.map((n) => translate(n, constants));
  const initializers = [...graph.initializers].map(([name, t]) => floatTensor(name, t.shape, t.data));
  return {
    irVersion: ONNX_IR_VERSION,
    opsetImport: [{ domain: '', version: ONNX_OPSET }],
    producerName: 'learngene-studio',
    producerVersion: options.producerVersion ?? '',
    docString: options.docString ?? 'Vision Transformer exported by Learngene Studio',
    graph: {
      name: 'vit',
      node: nodes,
      initializer: [...initializers, ...constants],
      input: [valueInfo(graph.input.name, graph.input.shape)],
      output: [valueInfo(graph.output.name, graph.output.shape)],
    },
    metadataProps: Object.entries(options.metadata ?? {}).map(([key, value]) => ({ key, value })),
  };
}

export function encodeOnnx(graph: InferenceGraph, options: OnnxExportOptions = {}): Uint8Array {
  return encodeModelProto(toOnnxModel(graph, options));
}

/** Verifies and encodes a ModelProto object (ours, or one rewritten by quantize.ts). */
export function encodeModelProto(model: IModelProto): Uint8Array {
  const message = onnx.ModelProto.create(model);
  const error = onnx.ModelProto.verify(message);
  if (error) throw new Error(`ONNX export: invalid ModelProto (${error})`);
  return onnx.ModelProto.encode(message).finish();
}

/** Parses ONNX bytes (for inspection: opset, producer, metadata, declared inputs/outputs). */
export function decodeOnnx(bytes: Uint8Array): onnxProto.onnx.ModelProto {
  return onnx.ModelProto.decode(bytes);
}
