// Parameter naming. In memory a ViT's parameters carry timm's names, with two layout
// changes that keep every matmul a plain 2-D one on wasm:
//   - linear weights are stored [in, out] (timm: [out, in]);
//   - the fused `attn.qkv` is split into `attn.q`, `attn.k`, `attn.v` ([in, out] each);
//   - `patch_embed.proj.weight` is [C·P·P, D] (timm: [D, C, P, P]);
//   - `pos_embed` is [T, D] and `cls_token` [1, D] (timm: [1, T, D], [1, 1, D]).
// `toStorageLayout` / `fromStorageLayout` convert whole tensor maps; they are the only
// place that knows timm's layouts, and they apply under any prefix (blocks.3., stages.1.).

import type { NamedTensor, TensorMap } from '../io/safetensors.js';

/** Per-block parameters, in memory layout, relative to a block prefix. */
export const BLOCK_PARAM_NAMES = [
  'norm1.weight',
  'norm1.bias',
  'attn.q.weight',
  'attn.q.bias',
  'attn.k.weight',
  'attn.k.bias',
  'attn.v.weight',
  'attn.v.bias',
  'attn.proj.weight',
  'attn.proj.bias',
  'norm2.weight',
  'norm2.bias',
  'mlp.fc1.weight',
  'mlp.fc1.bias',
  'mlp.fc2.weight',
  'mlp.fc2.bias',
] as const;

export type BlockParamName = (typeof BLOCK_PARAM_NAMES)[number];

/** The same block parameters under timm's (storage) names. */
export const STORAGE_BLOCK_PARAM_NAMES = [
  'norm1.weight',
  'norm1.bias',
  'attn.qkv.weight',
  'attn.qkv.bias',
  'attn.proj.weight',
  'attn.proj.bias',
  'norm2.weight',
  'norm2.bias',
  'mlp.fc1.weight',
  'mlp.fc1.bias',
  'mlp.fc2.weight',
  'mlp.fc2.bias',
] as const;

const LINEAR_WEIGHT_SUFFIXES = ['attn.proj.weight', 'mlp.fc1.weight', 'mlp.fc2.weight'];

function transpose2d(data: Float32Array, rows: number, cols: number): Float32Array {
  const out = new Float32Array(data.length);
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++) out[c * rows + r] = data[r * cols + c]!;
  }
  return out;
}

function isLinearWeight(name: string): boolean {
  return name === 'head.weight' || LINEAR_WEIGHT_SUFFIXES.some((s) => name === s || name.endsWith('.' + s));
}

function endsWithPart(name: string, suffix: string): string | null {
  if (name === suffix) return '';
  if (name.endsWith('.' + suffix)) return name.slice(0, name.length - suffix.length);
  return null;
}

/** timm layout → memory layout. Unknown names pass through unchanged. */
export function fromStorageLayout(tensors: TensorMap): TensorMap {
  const out: TensorMap = new Map();
  for (const [name, tensor] of tensors) {
    const qkvWeight = endsWithPart(name, 'attn.qkv.weight');
    const qkvBias = endsWithPart(name, 'attn.qkv.bias');
    if (qkvWeight !== null) {
      const [threeDim, dim] = tensor.shape as [number, number];
      const outDim = threeDim / 3;
      ['q', 'k', 'v'].forEach((part, i) => {
        const rows = tensor.data.subarray(i * outDim * dim, (i + 1) * outDim * dim);
        out.set(`${qkvWeight}attn.${part}.weight`, { shape: [dim, outDim], data: transpose2d(rows, outDim, dim) });
      });
    } else if (qkvBias !== null) {
      const outDim = tensor.shape[0]! / 3;
      ['q', 'k', 'v'].forEach((part, i) => {
        out.set(`${qkvBias}attn.${part}.bias`, { shape: [outDim], data: tensor.data.slice(i * outDim, (i + 1) * outDim) });
      });
    } else if (isLinearWeight(name)) {
      const [rows, cols] = tensor.shape as [number, number];
      out.set(name, { shape: [cols, rows], data: transpose2d(tensor.data, rows, cols) });
    } else if (name === 'patch_embed.proj.weight') {
      const [dim, c, ph, pw] = tensor.shape as [number, number, number, number];
      out.set(name, { shape: [c * ph * pw, dim], data: transpose2d(tensor.data, dim, c * ph * pw) });
    } else if (name === 'pos_embed') {
      out.set(name, { shape: tensor.shape.slice(-2), data: tensor.data });
    } else if (name === 'cls_token') {
      out.set(name, { shape: [1, tensor.shape[tensor.shape.length - 1]!], data: tensor.data });
    } else {
      out.set(name, tensor);
    }
  }
  return out;
}

/** Memory layout → timm layout. `patchSize` and `channels` rebuild the conv weight. */
export function toStorageLayout(tensors: TensorMap, patch: { channels: number; patchSize: number }): TensorMap {
  const out: TensorMap = new Map();
  const done = new Set<string>();
  for (const [name, tensor] of tensors) {
    if (done.has(name)) continue;
    const qWeight = endsWithPart(name, 'attn.q.weight');
    const qBias = endsWithPart(name, 'attn.q.bias');
    if (qWeight !== null) {
      const parts = ['q', 'k', 'v'].map((p) => {
        const key = `${qWeight}attn.${p}.weight`;
        const part = tensors.get(key);
        if (!part) throw new Error(`missing ${key} next to ${name}`);
        done.add(key);
        return part;
      });
      const [dim, outDim] = tensor.shape as [number, number];
      const data = new Float32Array(3 * outDim * dim);
      parts.forEach((part, i) => data.set(transpose2d(part.data, dim, outDim), i * outDim * dim));
      out.set(`${qWeight}attn.qkv.weight`, { shape: [3 * outDim, dim], data });
    } else if (qBias !== null) {
      const parts = ['q', 'k', 'v'].map((p) => {
        const key = `${qBias}attn.${p}.bias`;
        const part = tensors.get(key);
        if (!part) throw new Error(`missing ${key} next to ${name}`);
        done.add(key);
        return part;
      });
      const data = new Float32Array(3 * tensor.shape[0]!);
      parts.forEach((part, i) => data.set(part.data, i * tensor.shape[0]!));
      out.set(`${qBias}attn.qkv.bias`, { shape: [3 * tensor.shape[0]!], data });
    } else if (endsWithPart(name, 'attn.k.weight') !== null || endsWithPart(name, 'attn.v.weight') !== null
      || endsWithPart(name, 'attn.k.bias') !== null || endsWithPart(name, 'attn.v.bias') !== null) {
      continue; // written with its q sibling
    } else if (isLinearWeight(name)) {
      const [rows, cols] = tensor.shape as [number, number];
      out.set(name, { shape: [cols, rows], data: transpose2d(tensor.data, rows, cols) });
    } else if (name === 'patch_embed.proj.weight') {
      const [cpp, dim] = tensor.shape as [number, number];
      out.set(name, {
        shape: [dim, patch.channels, patch.patchSize, patch.patchSize],
        data: transpose2d(tensor.data, cpp, dim),
      });
    } else if (name === 'pos_embed') {
      out.set(name, { shape: [1, ...tensor.shape], data: tensor.data });
    } else if (name === 'cls_token') {
      out.set(name, { shape: [1, 1, tensor.shape[1]!], data: tensor.data });
    } else {
      out.set(name, tensor);
    }
  }
  return out;
}

export function countParams(tensors: Iterable<NamedTensor>): number {
  let total = 0;
  for (const t of tensors) total += t.data.length;
  return total;
}
