// Moving compute-service messages between processes: typed arrays are taken out of a
// message as binary blobs (sent on a binary channel) and replaced by placeholders, then
// put back on the other side. Plain data otherwise (JSON-safe).

export type TypedKind = 'f32' | 'i32' | 'u8';
export interface Blob {
  id: string;
  kind: TypedKind;
  bytes: Uint8Array;
}
interface Placeholder {
  __blob: string;
  kind: TypedKind;
}

let counter = 0;

function kindOf(value: unknown): TypedKind | null {
  if (value instanceof Float32Array) return 'f32';
  if (value instanceof Int32Array) return 'i32';
  if (value instanceof Uint8Array) return 'u8';
  return null;
}

/** The message with every typed array replaced by a placeholder, and the blobs. */
export function extractBlobs(value: unknown, prefix = 'b'): { message: unknown; blobs: Blob[] } {
  const blobs: Blob[] = [];
  const walk = (v: unknown): unknown => {
    const kind = kindOf(v);
    if (kind) {
      const t = v as Float32Array | Int32Array | Uint8Array;
      const id = `${prefix}${++counter}`;
      blobs.push({ id, kind, bytes: new Uint8Array(t.buffer, t.byteOffset, t.byteLength) });
      return { __blob: id, kind } satisfies Placeholder;
    }
    if (Array.isArray(v)) return v.map(walk);
    if (v && typeof v === 'object') {
      const out: Record<string, unknown> = {};
      for (const [k, x] of Object.entries(v)) out[k] = walk(x);
      return out;
    }
    return v;
  };
  return { message: walk(value), blobs };
}

/** Ids of the blobs a message refers to. */
export function blobIds(message: unknown): string[] {
  const ids: string[] = [];
  const walk = (v: unknown): void => {
    if (Array.isArray(v)) v.forEach(walk);
    else if (v && typeof v === 'object') {
      if (typeof (v as Placeholder).__blob === 'string') ids.push((v as Placeholder).__blob);
      else Object.values(v).forEach(walk);
    }
  };
  walk(message);
  return ids;
}

/** Puts typed arrays back in place of placeholders (`bytes(id)` gives each blob's bytes). */
export function insertBlobs(message: unknown, bytes: (id: string) => Uint8Array): unknown {
  const walk = (v: unknown): unknown => {
    if (Array.isArray(v)) return v.map(walk);
    if (v && typeof v === 'object') {
      const p = v as Placeholder;
      if (typeof p.__blob === 'string') {
        const b = bytes(p.__blob);
        // copy to an aligned buffer of its own
        const own = new Uint8Array(b.byteLength);
        own.set(b);
        return p.kind === 'f32' ? new Float32Array(own.buffer) : p.kind === 'i32' ? new Int32Array(own.buffer) : own;
      }
      const out: Record<string, unknown> = {};
      for (const [k, x] of Object.entries(v)) out[k] = walk(x);
      return out;
    }
    return v;
  };
  return walk(message);
}

// ---------------------------------------------------------------- binary frames
// One message as ONE binary frame, for channels that carry bytes but not structured
// clones (the WebSocket between the studio server and a browser page that hosts compute):
//   [u32 little-endian: header length][header: UTF-8 JSON {message, blobs}][blob bytes…]
// `message` has placeholders where typed arrays were; `blobs` gives each one's place.

interface FrameBlob {
  id: string;
  offset: number;
  length: number;
}

/** `value` (plain data with typed arrays anywhere in it) as one binary frame. */
export function encodeFrame(value: unknown): Uint8Array {
  const { message, blobs } = extractBlobs(value, 'f');
  const table: FrameBlob[] = [];
  let offset = 0;
  for (const b of blobs) {
    table.push({ id: b.id, offset, length: b.bytes.byteLength });
    offset += b.bytes.byteLength;
    offset += (8 - (offset % 8)) % 8; // keep every blob 8-aligned inside the payload
  }
  const header = new TextEncoder().encode(JSON.stringify({ message, blobs: table }));
  const start = 4 + header.byteLength + ((8 - ((4 + header.byteLength) % 8)) % 8);
  const frame = new Uint8Array(start + offset);
  new DataView(frame.buffer).setUint32(0, header.byteLength, true);
  frame.set(header, 4);
  blobs.forEach((b, i) => frame.set(b.bytes, start + table[i]!.offset));
  return frame;
}

/** The value `encodeFrame` encoded (typed arrays are fresh copies). */
export function decodeFrame(frame: Uint8Array): unknown {
  if (frame.byteLength < 4) throw new Error('compute frame: too short');
  const view = new DataView(frame.buffer, frame.byteOffset, frame.byteLength);
  const headerLength = view.getUint32(0, true);
  if (4 + headerLength > frame.byteLength) throw new Error('compute frame: header longer than the frame');
  const header = JSON.parse(new TextDecoder().decode(frame.subarray(4, 4 + headerLength))) as { message: unknown; blobs: FrameBlob[] };
  const start = 4 + headerLength + ((8 - ((4 + headerLength) % 8)) % 8);
  const places = new Map(header.blobs.map((b) => [b.id, b] as const));
  return insertBlobs(header.message, (id) => {
    const place = places.get(id);
    if (!place || start + place.offset + place.length > frame.byteLength) throw new Error(`compute frame: blob ${id} missing`);
    return frame.subarray(start + place.offset, start + place.offset + place.length);
  });
}
