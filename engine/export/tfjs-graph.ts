// Inference graph → TensorFlow.js graph model (model.json + weight shards), using only
// TensorFlow op names that tfjs-converter's executor runs, so stock `tf.loadGraphModel`
// loads the export with no custom ops. Attribute encodings follow what the converter's
// operation mapper reads (operations/operation_mapper.js): dtypes as "DT_FLOAT" strings,
// bools as {b}, ints as {i: "n"}, shapes as {dim: [{size: "n"}]}. Static parameters
// (reshape shapes, permutations, axes, paddings) become int32 Const nodes, which are
// weights in a graph model like every other Const. Pure: returns the JSON and bytes.

import type { GraphNode, InferenceGraph } from './graph.js';

export interface TfjsNodeDef {
  name: string;
  op: string;
  input?: string[];
  attr?: Record<string, unknown>;
}

export interface TfjsWeightEntry {
  name: string;
  shape: number[];
  dtype: 'float32' | 'int32';
}

export interface TfjsModelJson {
  format: 'graph-model';
  generatedBy: string;
  convertedBy: string;
  signature: Record<string, unknown>;
  modelTopology: { node: TfjsNodeDef[]; library: Record<string, unknown>; versions: { producer: number } };
  weightsManifest: { paths: string[]; weights: TfjsWeightEntry[] }[];
  userDefinedMetadata?: Record<string, unknown>;
}

export interface TfjsGraphModel {
  modelJson: TfjsModelJson;
  /** Weight shards in manifest order: file name (relative to model.json) and bytes. */
  shards: { path: string; bytes: Uint8Array }[];
}

export interface TfjsExportOptions {
  /** Stored as model.json `userDefinedMetadata` (provenance, preprocess, class names). */
  metadata?: Record<string, unknown>;
  /** Bytes per weight shard; tfjs-converter's default is 4 MiB (browser-cache friendly). */
  shardBytes?: number;
  generatedBy?: string;
  convertedBy?: string;
}

const FLOAT = { type: 'DT_FLOAT' };
const INT32 = { type: 'DT_INT32' };

function tensorShape(shape: (number | null)[]): { dim?: { size: string }[] } {
  return shape.length === 0 ? {} : { dim: shape.map((d) => ({ size: String(d ?? -1) })) };
}

/** Collects Const nodes and their weight bytes in one place so manifest and bytes stay in step. */
class ConstPool {
  readonly nodes: TfjsNodeDef[] = [];
  readonly weights: TfjsWeightEntry[] = [];
  readonly chunks: Uint8Array[] = [];

  add(name: string, shape: number[], values: Float32Array | Int32Array): string {
    const dtype = values instanceof Float32Array ? 'float32' : 'int32';
    const tfType = dtype === 'float32' ? FLOAT : INT32;
    this.nodes.push({ name, op: 'Const', attr: { value: { tensor: { dtype: tfType.type, tensorShape: tensorShape(shape) } }, dtype: tfType } });
    this.weights.push({ name, shape, dtype });
    // Typed arrays are little-endian on every platform tfjs runs on, as the weight format requires.
    this.chunks.push(new Uint8Array(values.buffer.slice(values.byteOffset, values.byteOffset + values.byteLength)));
    return name;
  }

  ints(name: string, values: number[], shape: number[] = [values.length]): string {
    return this.add(name, shape, Int32Array.from(values));
  }
}

const BINARY_OPS: Record<string, string> = { Add: 'AddV2', Sub: 'Sub', Mul: 'Mul', Div: 'RealDiv' };

function translate(node: GraphNode, rankOf: (name: string) => number, pool: ConstPool): TfjsNodeDef {
  const { name, inputs, attrs } = node;
  const T = { T: FLOAT };
  switch (node.op) {
    case 'Add':
    case 'Sub':
    case 'Mul':
    case 'Div':
      return { name, op: BINARY_OPS[node.op]!, input: inputs, attr: T };
    case 'MatMul':
      // MatMul is the 2-D op; batched operands need BatchMatMulV2 (as TensorFlow emits).
      return rankOf(inputs[0]!) === 2 && rankOf(inputs[1]!) === 2
        ? { name, op: 'MatMul', input: inputs, attr: { transpose_a: { b: false }, transpose_b: { b: false }, ...T } }
        : { name, op: 'BatchMatMulV2', input: inputs, attr: { adj_x: { b: false }, adj_y: { b: false }, ...T } };
    case 'Reshape':
      return { name, op: 'Reshape', input: [inputs[0]!, pool.ints(`${name}/shape`, attrs.shape!)], attr: { ...T, Tshape: INT32 } };
    case 'Transpose':
      return { name, op: 'Transpose', input: [inputs[0]!, pool.ints(`${name}/perm`, attrs.perm!)], attr: { ...T, Tperm: INT32 } };
    case 'ReduceMean':
      return { name, op: 'Mean', input: [inputs[0]!, pool.ints(`${name}/axes`, attrs.axes!)], attr: { keep_dims: { b: attrs.keepDims! }, ...T, Tidx: INT32 } };
    case 'Pad':
      return { name, op: 'Pad', input: [inputs[0]!, pool.ints(`${name}/paddings`, attrs.pads!.flat(), [attrs.pads!.length, 2])], attr: { ...T, Tpaddings: INT32 } };
    case 'Gather':
      return {
        name,
        op: 'GatherV2',
        input: [inputs[0]!, pool.ints(`${name}/indices`, [attrs.index!], []), pool.ints(`${name}/axis`, [attrs.axis!], [])],
        attr: { batch_dims: { i: '0' }, Tparams: FLOAT, Tindices: INT32, Taxis: INT32 },
      };
    case 'Softmax':
    case 'Sqrt':
    case 'Erf':
    case 'Tanh':
      return { name, op: node.op, input: inputs, attr: T };
  }
}

/** Splits one byte stream into shards; tfjs concatenates a group's shards before decoding. */
function shard(chunks: Uint8Array[], shardBytes: number): Uint8Array[] {
  const total = chunks.reduce((sum, c) => sum + c.byteLength, 0);
  const all = new Uint8Array(total);
  let offset = 0;
  for (const c of chunks) {
    all.set(c, offset);
    offset += c.byteLength;
  }
  const count = Math.max(1, Math.ceil(total / shardBytes));
  return Array.from({ length: count }, (_, i) => all.slice(i * shardBytes, Math.min(total, (i + 1) * shardBytes)));
}

export function toTfjsGraphModel(graph: InferenceGraph, options: TfjsExportOptions = {}): TfjsGraphModel {
  const pool = new ConstPool();
  const ranks = new Map<string, number>([[graph.input.name, graph.input.shape.length]]);
  for (const [name, tensor] of graph.initializers) {
    pool.add(name, tensor.shape, tensor.data);
    ranks.set(name, tensor.shape.length);
  }
  const rankOf = (name: string) => {
    const r = ranks.get(name);
    if (r === undefined) throw new Error(`tfjs export: unknown value "${name}"`);
    return r;
  };
  const placeholder: TfjsNodeDef = {
    name: graph.input.name,
    op: 'Placeholder',
    attr: { dtype: FLOAT, shape: { shape: tensorShape(graph.input.shape) } },
  };
  const opNodes: TfjsNodeDef[] = [];
  for (const node of graph.nodes) {
    opNodes.push(translate(node, rankOf, pool));
    ranks.set(node.name, node.shape.length);
  }
  const shards = shard(pool.chunks, options.shardBytes ?? 4 * 1024 * 1024);
  const paths = shards.map((_, i) => `group1-shard${i + 1}of${shards.length}.bin`);
  const tensorInfo = (name: string, shape: (number | null)[]) => ({ name: `${name}:0`, dtype: 'DT_FLOAT', tensorShape: tensorShape(shape) });
  const modelJson: TfjsModelJson = {
    format: 'graph-model',
    generatedBy: options.generatedBy ?? 'learngene-studio',
    convertedBy: options.convertedBy ?? 'learngene-studio tfjs graph exporter',
    // Lets `model.execute({pixel_values})` and `model.outputs` use the same names as the ONNX export.
    signature: {
      inputs: { [graph.input.name]: tensorInfo(graph.input.name, graph.input.shape) },
      outputs: { [graph.output.name]: tensorInfo(graph.output.name, graph.output.shape) },
    },
    modelTopology: { node: [placeholder, ...pool.nodes, ...opNodes], library: {}, versions: { producer: 1 } },
    weightsManifest: [{ paths, weights: pool.weights }],
    ...(options.metadata ? { userDefinedMetadata: options.metadata } : {}),
  };
  return { modelJson, shards: shards.map((bytes, i) => ({ path: paths[i]!, bytes })) };
}
