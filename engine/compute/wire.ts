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
