// ONNX ModelProto encoding in plain TypeScript (protobuf wire format), so the engine can
// emit training graphs in Node and in a page alike with no protobuf library. Only the
// fields our graphs use are written; field numbers are those of onnx/onnx.proto (a
// proto2 file: repeated scalars are written unpacked, as its own serializer does).

export type OnnxDType = 'float32' | 'int64' | 'bool';

/** onnx.TensorProto.DataType */
export const ONNX_DATA_TYPE: Record<OnnxDType, number> = { float32: 1, int64: 7, bool: 9 };

export type AttributeValue = number | number[] | string | { float: number } | { floats: number[] };

export interface OnnxNode {
  opType: string;
  domain?: string;
  inputs: string[];
  outputs: string[];
  name?: string;
  attributes?: Record<string, AttributeValue>;
}

export interface OnnxTensor {
  name: string;
  dtype: OnnxDType;
  shape: number[];
  /** Little-endian bytes of the elements (float32, int64 or one byte per bool). */
  raw: Uint8Array;
}

export interface OnnxValueInfo {
  name: string;
  dtype: OnnxDType;
  /** Sizes; a string is a symbolic dimension (e.g. "batch"). */
  shape: (number | string)[];
}

export interface OnnxModel {
  irVersion: number;
  opsets: { domain: string; version: number }[];
  producerName: string;
  producerVersion?: string;
  docString?: string;
  graphName: string;
  nodes: OnnxNode[];
  initializers: OnnxTensor[];
  inputs: OnnxValueInfo[];
  outputs: OnnxValueInfo[];
  metadata?: Record<string, string>;
}

const VARINT = 0;
const FIXED32 = 5;
const LENGTH_DELIMITED = 2;

/** A growable byte buffer with protobuf primitives. */
class Writer {
  private bytes = new Uint8Array(256);
  length = 0;

  private reserve(extra: number): void {
    if (this.length + extra <= this.bytes.length) return;
    let size = this.bytes.length * 2;
    while (size < this.length + extra) size *= 2;
    const next = new Uint8Array(size);
    next.set(this.bytes.subarray(0, this.length));
    this.bytes = next;
  }

  varint(value: number | bigint): void {
    // int64 fields: negative values are ten-byte two's complement varints.
    let v = BigInt.asUintN(64, BigInt(value));
    this.reserve(10);
    while (v >= 0x80n) {
      this.bytes[this.length++] = Number(v & 0x7fn) | 0x80;
      v >>= 7n;
    }
    this.bytes[this.length++] = Number(v);
  }

  tag(field: number, wireType: number): void {
    this.varint((field << 3) | wireType);
  }

  raw(data: Uint8Array): void {
    this.reserve(data.length);
    this.bytes.set(data, this.length);
    this.length += data.length;
  }

  finish(): Uint8Array {
    return this.bytes.slice(0, this.length);
  }

  // Field writers.
  int(field: number, value: number | bigint): void {
    this.tag(field, VARINT);
    this.varint(value);
  }

  float(field: number, value: number): void {
    this.tag(field, FIXED32);
    const b = new Uint8Array(4);
    new DataView(b.buffer).setFloat32(0, value, true);
    this.raw(b);
  }

  bytesField(field: number, data: Uint8Array): void {
    this.tag(field, LENGTH_DELIMITED);
    this.varint(data.length);
    this.raw(data);
  }

  string(field: number, value: string): void {
    this.bytesField(field, new TextEncoder().encode(value));
  }

  message(field: number, write: (w: Writer) => void): void {
    const inner = new Writer();
    write(inner);
    this.bytesField(field, inner.finish());
  }
}

// onnx.AttributeProto.AttributeType
const ATTR_FLOAT = 1;
const ATTR_INT = 2;
const ATTR_STRING = 3;
const ATTR_FLOATS = 6;
const ATTR_INTS = 7;

function writeAttribute(w: Writer, name: string, value: AttributeValue): void {
  w.string(1, name);
  if (typeof value === 'number') {
    if (!Number.isInteger(value)) throw new Error(`ONNX attribute ${name}: ${value} is not an integer (use { float })`);
    w.int(20, ATTR_INT);
    w.int(3, value);
  } else if (typeof value === 'string') {
    w.int(20, ATTR_STRING);
    w.string(4, value);
  } else if (Array.isArray(value)) {
    w.int(20, ATTR_INTS);
    for (const v of value) w.int(8, v);
  } else if ('float' in value) {
    w.int(20, ATTR_FLOAT);
    w.float(2, value.float);
  } else {
    w.int(20, ATTR_FLOATS);
    for (const v of value.floats) w.float(7, v);
  }
}

function writeNode(w: Writer, node: OnnxNode): void {
  for (const input of node.inputs) w.string(1, input);
  for (const output of node.outputs) w.string(2, output);
  if (node.name) w.string(3, node.name);
  w.string(4, node.opType);
  for (const [name, value] of Object.entries(node.attributes ?? {})) w.message(5, (a) => writeAttribute(a, name, value));
  if (node.domain) w.string(7, node.domain);
}

function writeTensor(w: Writer, tensor: OnnxTensor): void {
  for (const d of tensor.shape) w.int(1, d);
  w.int(2, ONNX_DATA_TYPE[tensor.dtype]);
  w.string(8, tensor.name);
  w.bytesField(9, tensor.raw);
}

function writeValueInfo(w: Writer, info: OnnxValueInfo): void {
  w.string(1, info.name);
  w.message(2, (type) =>
    type.message(1, (tensorType) => {
      tensorType.int(1, ONNX_DATA_TYPE[info.dtype]);
      tensorType.message(2, (shape) => {
        for (const d of info.shape) shape.message(1, (dim) => (typeof d === 'string' ? dim.string(2, d) : dim.int(1, d)));
      });
    }),
  );
}

/** The ModelProto bytes of `model`. */
export function encodeOnnxModel(model: OnnxModel): Uint8Array {
  const w = new Writer();
  w.int(1, model.irVersion);
  w.string(2, model.producerName);
  if (model.producerVersion) w.string(3, model.producerVersion);
  if (model.docString) w.string(6, model.docString);
  w.message(7, (g) => {
    for (const node of model.nodes) g.message(1, (n) => writeNode(n, node));
    g.string(2, model.graphName);
    for (const tensor of model.initializers) g.message(5, (t) => writeTensor(t, tensor));
    for (const input of model.inputs) g.message(11, (v) => writeValueInfo(v, input));
    for (const output of model.outputs) g.message(12, (v) => writeValueInfo(v, output));
  });
  for (const opset of model.opsets) {
    w.message(8, (o) => {
      if (opset.domain) o.string(1, opset.domain);
      o.int(2, opset.version);
    });
  }
  for (const [key, value] of Object.entries(model.metadata ?? {})) {
    w.message(14, (e) => {
      e.string(1, key);
      e.string(2, value);
    });
  }
  return w.finish();
}

/** Little-endian bytes of typed values (the machine's order is little-endian wherever onnxruntime runs). */
export function rawBytes(data: Float32Array | BigInt64Array | Uint8Array): Uint8Array {
  return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
}
