// NumPy .npy (format 1.0/2.0/3.0) for float32/float64/int tensors: the CLI's tensor
// format in and out.

import { FormatError } from './errors.js';

export interface NpyArray {
  shape: number[];
  data: Float32Array;
}

const DESCR_READERS: Record<string, { bytes: number; read: (view: DataView, offset: number, little: boolean) => number }> = {
  f4: { bytes: 4, read: (v, o, l) => v.getFloat32(o, l) },
  f8: { bytes: 8, read: (v, o, l) => v.getFloat64(o, l) },
  i4: { bytes: 4, read: (v, o, l) => v.getInt32(o, l) },
  i8: { bytes: 8, read: (v, o, l) => Number(v.getBigInt64(o, l)) },
  u1: { bytes: 1, read: (v, o) => v.getUint8(o) },
  i1: { bytes: 1, read: (v, o) => v.getInt8(o) },
};

/** Parses a .npy file into float32 (C order only). */
export function decodeNpy(bytes: Uint8Array, source = 'npy file'): NpyArray {
  const magic = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59];
  if (bytes.byteLength < 10 || magic.some((m, i) => bytes[i] !== m)) {
    throw new FormatError(source, 'is not a .npy file (missing the \\x93NUMPY magic)');
  }
  const major = bytes[6]!;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const headerLength = major === 1 ? view.getUint16(8, true) : view.getUint32(8, true);
  const headerStart = major === 1 ? 10 : 12;
  if (headerStart + headerLength > bytes.byteLength) {
    throw new FormatError(source, 'is truncated inside its header');
  }
  const header = new TextDecoder().decode(bytes.subarray(headerStart, headerStart + headerLength));
  const descr = /'descr':\s*'([<>|=])([a-z]\d)'/.exec(header);
  const fortran = /'fortran_order':\s*(True|False)/.exec(header);
  const shapeMatch = /'shape':\s*\(([^)]*)\)/.exec(header);
  if (!descr || !fortran || !shapeMatch) {
    throw new FormatError(source, `has an unreadable header ${JSON.stringify(header.trim())}`);
  }
  const reader = DESCR_READERS[descr[2]!];
  if (!reader) {
    throw new FormatError(source, `has dtype ${descr[1]}${descr[2]}; supported: float32, float64, int8/32/64, uint8`);
  }
  if (fortran[1] === 'True') {
    throw new FormatError(source, 'is in Fortran order; save it with numpy.ascontiguousarray first');
  }
  const shape = shapeMatch[1]!.split(',').map((s) => s.trim()).filter((s) => s.length > 0).map(Number);
  const count = shape.reduce((a, b) => a * b, 1);
  const dataStart = headerStart + headerLength;
  if (dataStart + count * reader.bytes > bytes.byteLength) {
    throw new FormatError(source, `holds ${bytes.byteLength - dataStart} data bytes but shape (${shape.join(', ')}) needs ${count * reader.bytes} (truncated)`);
  }
  const little = descr[1] !== '>';
  const data = new Float32Array(count);
  for (let i = 0; i < count; i++) data[i] = reader.read(view, dataStart + i * reader.bytes, little);
  return { shape, data };
}

/** Writes a float32 C-order .npy (format 1.0). */
export function encodeNpy(array: NpyArray): Uint8Array {
  const shapeText = array.shape.length === 1 ? `(${array.shape[0]},)` : `(${array.shape.join(', ')})`;
  let header = `{'descr': '<f4', 'fortran_order': False, 'shape': ${shapeText}, }`;
  const unpadded = 10 + header.length + 1;
  header += ' '.repeat((64 - (unpadded % 64)) % 64) + '\n';
  const headerBytes = new TextEncoder().encode(header);
  const out = new Uint8Array(10 + headerBytes.length + array.data.byteLength);
  out.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0], 0);
  new DataView(out.buffer).setUint16(8, headerBytes.length, true);
  out.set(headerBytes, 10);
  out.set(new Uint8Array(array.data.buffer, array.data.byteOffset, array.data.byteLength), 10 + headerBytes.length);
  return out;
}
