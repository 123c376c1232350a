// Our WebAssembly SIMD kernels (kernels.c) as tfjs kernels of the 'wasm' backend.
//
// The module imports the tfjs wasm backend's own WebAssembly.Memory, so a kernel reads
// its inputs and writes its outputs where tfjs keeps them: no copies. Each kernel is
// registered with tf.registerKernel under an `Lg*` name and called through
// tf.engine().runKernel from the ops in engine/ops/fast.ts, which give them gradients
// (tf.customGrad) and fall back to plain tfjs ops on every other backend (webgpu, cpu,
// tensorflow) or when the module cannot load (e.g. a multi-threaded tfjs build whose
// memory is shared). Isomorphic: the wasm bytes are embedded, no fs, no fetch.

import * as tf from '@tensorflow/tfjs-core';
import { KERNELS_WASM_BASE64 } from './wasm-bytes.js';

/** tfjs flag: set to false to run the plain-tfjs formulations on wasm too (A/B checks). */
export const KERNELS_FLAG = 'LG_WASM_KERNELS';
tf.env().registerFlag(KERNELS_FLAG, () => true);

interface KernelExports {
  gemm_work_floats(n: number): number;
  gemm(
    m: number, n: number, k: number, a: number, lda: number, transA: number, b: number, ldb: number, transB: number,
    c: number, ldc: number, accumulate: number, bias: number, work: number,
  ): void;
  sum_rows(m: number, n: number, x: number, ldx: number, out: number): void;
  gelu_fwd(n: number, kind: number, x: number, y: number): void;
  gelu_bwd(n: number, kind: number, dy: number, x: number, dx: number): void;
  layernorm_fwd(m: number, c: number, x: number, gamma: number, beta: number, eps: number, y: number, xhat: number, rstd: number): void;
  layernorm_bwd(m: number, c: number, dy: number, xhat: number, rstd: number, gamma: number, dx: number, dgamma: number, dbeta: number): void;
  attention_work_floats(t: number, d: number): number;
  attention_fwd(b: number, t: number, h: number, d: number, q: number, k: number, v: number, ld: number, scale: number, out: number, ldo: number, probs: number, work: number): void;
  attention_bwd(
    b: number, t: number, h: number, d: number, dout: number, ldo: number, q: number, k: number, v: number, ld: number,
    probs: number, scale: number, dq: number, dk: number, dv: number, ldg: number, work: number,
  ): void;
  adamw(
    n: number, p: number, g: number, m: number, v: number, gscale: number, beta1: number, beta2: number, eps: number,
    decay: number, stepSize: number, bias2Sqrt: number, pOut: number, mOut: number, vOut: number,
  ): void;
  sum_squares(n: number, x: number): number;
}

/** The parts of tfjs-backend-wasm's BackendWasm we use (not in its public typings). */
interface WasmBackendInternals {
  wasm: {
    asm?: { memory?: WebAssembly.Memory };
    wasmExports?: { memory?: WebAssembly.Memory };
    _malloc(bytes: number): number;
    _free(ptr: number): void;
  };
  dataIdMap: { get(dataId: object): { memoryOffset: number } | undefined };
  makeOutput(shape: number[], dtype: tf.DataType): tf.TensorInfo;
}

class KernelInstance {
  private workPtr = 0;
  private workFloats = 0;

  constructor(readonly exports: KernelExports, private readonly backend: WasmBackendInternals, readonly memory: WebAssembly.Memory) {}

  private canaryAt = 0;

  /**
   * A scratch buffer of at least `floats` floats in the tfjs heap (kept and grown), with a
   * canary right after the requested size that `checkScratch` verifies after the kernel.
   */
  work(floats: number): number {
    if (floats + CANARY.length > this.workFloats) {
      if (this.workPtr) this.backend.wasm._free(this.workPtr);
      this.workFloats = Math.max(floats + CANARY.length, Math.ceil(this.workFloats * 1.5));
      this.workPtr = this.backend.wasm._malloc(this.workFloats * 4 + 16);
      if (!this.workPtr) throw new Error('wasm kernels: out of memory for scratch space');
    }
    const aligned = (this.workPtr + 15) & ~15;
    this.canaryAt = aligned + floats * 4;
    new Uint32Array(this.memory.buffer, this.canaryAt, CANARY.length).set(CANARY);
    return aligned;
  }

  /** Throws when a kernel wrote past the scratch space it asked for (a kernels.c bug). */
  checkScratch(kernel: string): void {
    if (!this.canaryAt) return;
    const words = new Uint32Array(this.memory.buffer, this.canaryAt, CANARY.length);
    this.canaryAt = 0;
    if (words.some((w, i) => w !== CANARY[i])) throw new Error(`${kernel}: wrote past its scratch space (a bug in engine/kernels/kernels.c)`);
  }

  ptr(t: tf.TensorInfo): number {
    const entry = this.backend.dataIdMap.get(t.dataId);
    if (!entry) throw new Error('wasm kernels: tensor is not on the wasm backend');
    return entry.memoryOffset;
  }

  output(shape: number[]): { info: tf.TensorInfo; ptr: number } {
    const info = this.backend.makeOutput(shape, 'float32');
    return { info, ptr: this.ptr(info) };
  }
}

const CANARY = Uint32Array.from([0xdeadbeef, 0x1ea46e4e, 0xc0ffee00, 0x5eedf00d]);

const instances = new WeakMap<object, KernelInstance | null>();
let failure: string | null = null;

function decodeBase64(text: string): Uint8Array {
  const binary = atob(text);
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
}

let compiled: WebAssembly.Module | null = null;

function instantiate(backend: WasmBackendInternals): KernelInstance | null {
  const memory = backend.wasm?.asm?.memory ?? backend.wasm?.wasmExports?.memory;
  if (!(memory instanceof WebAssembly.Memory)) {
    failure = 'the tfjs wasm module does not expose its memory';
    return null;
  }
  if (typeof SharedArrayBuffer !== 'undefined' && memory.buffer instanceof SharedArrayBuffer) {
    failure = 'the multi-threaded tfjs wasm build (shared memory) is not supported';
    return null;
  }
  try {
    compiled ??= new WebAssembly.Module(decodeBase64(KERNELS_WASM_BASE64) as BufferSource);
    const instance = new WebAssembly.Instance(compiled, { env: { memory } });
    return new KernelInstance(instance.exports as unknown as KernelExports, backend, memory);
  } catch (error) {
    failure = `the kernel module did not load: ${error instanceof Error ? error.message : String(error)}`;
    return null;
  }
}

function instanceFor(backend: object): KernelInstance | null {
  let instance = instances.get(backend);
  if (instance === undefined) {
    instance = instantiate(backend as WasmBackendInternals);
    instances.set(backend, instance);
    if (instance) installZeroCopyIdentity();
  }
  return instance;
}

/**
 * tfjs clones every tensor a gradient saves (Engine.clone → Identity), and the wasm
 * Identity copies the buffer: ~75 copies of activations per ViT training step. Tensors
 * are immutable and the wasm backend counts references (its Reshape shares buffers the
 * same way), so Identity can share the buffer instead.
 */
function installZeroCopyIdentity(): void {
  const original = tf.getKernel('Identity', 'wasm');
  if (!original || (original.kernelFunc as { lgZeroCopy?: boolean }).lgZeroCopy) return;
  const kernelFunc = (args: { inputs: tf.NamedTensorInfoMap; backend: object }) => {
    const x = args.inputs.x!;
    if (x.dtype === 'string') return (original.kernelFunc as unknown as (a: typeof args) => tf.TensorInfo)(args);
    (args.backend as { incRef(dataId: object): void }).incRef(x.dataId);
    return { dataId: x.dataId, shape: x.shape, dtype: x.dtype };
  };
  (kernelFunc as { lgZeroCopy?: boolean }).lgZeroCopy = true;
  tf.unregisterKernel('Identity', 'wasm');
  tf.registerKernel({ ...original, kernelFunc: kernelFunc as unknown as tf.KernelFunc });
}

/** True when the active backend is wasm and our kernels run on it. */
export function wasmKernelsActive(): boolean {
  if (tf.getBackend() !== 'wasm' || !tf.env().getBool(KERNELS_FLAG)) return false;
  return instanceFor(tf.backend()) !== null;
}

/** Why the kernels are not in use on wasm (null when they are, or nothing was tried yet). */
export function wasmKernelsFailure(): string | null {
  return failure;
}

/** The kernel module for the active wasm backend (for code that calls it directly). */
export function activeKernels(): KernelInstance | null {
  return tf.getBackend() === 'wasm' ? instanceFor(tf.backend()) : null;
}

type KernelFunc = (args: { inputs: tf.NamedTensorInfoMap; attrs?: tf.NamedAttrMap; backend: object }) => tf.TensorInfo | tf.TensorInfo[];

function register(kernelName: string, fn: (k: KernelInstance, inputs: tf.NamedTensorInfoMap, attrs: tf.NamedAttrMap) => tf.TensorInfo | tf.TensorInfo[]): void {
  if (tf.getKernel(kernelName, 'wasm')) return;
  const kernelFunc: KernelFunc = ({ inputs, attrs, backend }) => {
    const k = instanceFor(backend);
    if (!k) throw new Error(`${kernelName}: ${failure ?? 'wasm kernels unavailable'}`);
    const out = fn(k, inputs, attrs ?? {});
    k.checkScratch(kernelName);
    return out;
  };
  tf.registerKernel({ kernelName, backendName: 'wasm', kernelFunc: kernelFunc as unknown as tf.KernelFunc });
}

const size = (shape: number[]) => shape.reduce((a, b) => a * b, 1);

/** LgGemm: op(a)·op(b) (+ bias); a, b 2-D. attrs transA, transB. */
register('LgGemm', (k, { a, b, bias }, attrs) => {
  const transA = attrs.transA ? 1 : 0;
  const transB = attrs.transB ? 1 : 0;
  const [ar, ac] = a!.shape as [number, number];
  const [br, bc] = b!.shape as [number, number];
  const m = transA ? ac : ar;
  const kk = transA ? ar : ac;
  const n = transB ? br : bc;
  if ((transB ? bc : br) !== kk) throw new Error(`LgGemm: inner dimensions ${kk} and ${transB ? bc : br} differ`);
  const out = k.output([m, n]);
  const work = k.work(k.exports.gemm_work_floats(n));
  k.exports.gemm(m, n, kk, k.ptr(a!), ac, transA, k.ptr(b!), bc, transB, out.ptr, n, 0, bias ? k.ptr(bias) : 0, work);
  return out.info;
});

/** LgSumRows: x [M, N] → [N]. */
register('LgSumRows', (k, { x }) => {
  const [m, n] = x!.shape as [number, number];
  const out = k.output([n]);
  k.exports.sum_rows(m, n, k.ptr(x!), n, out.ptr);
  return out.info;
});

/** LgGelu: attrs kind 0 (exact) | 1 (tanh). */
register('LgGelu', (k, { x }, attrs) => {
  const out = k.output(x!.shape);
  k.exports.gelu_fwd(size(x!.shape), attrs.kind as number, k.ptr(x!), out.ptr);
  return out.info;
});

register('LgGeluGrad', (k, { dy, x }, attrs) => {
  const out = k.output(x!.shape);
  k.exports.gelu_bwd(size(x!.shape), attrs.kind as number, k.ptr(dy!), k.ptr(x!), out.ptr);
  return out.info;
});

/** LgLayerNorm: x [M, C] → [y, xhat, rstd [M]]. */
register('LgLayerNorm', (k, { x, gamma, beta }, attrs) => {
  const [m, c] = x!.shape as [number, number];
  const y = k.output([m, c]);
  const xhat = k.output([m, c]);
  const rstd = k.output([m]);
  k.exports.layernorm_fwd(m, c, k.ptr(x!), k.ptr(gamma!), k.ptr(beta!), attrs.eps as number, y.ptr, xhat.ptr, rstd.ptr);
  return [y.info, xhat.info, rstd.info];
});

register('LgLayerNormGrad', (k, { dy, xhat, rstd, gamma }) => {
  const [m, c] = dy!.shape as [number, number];
  const dx = k.output([m, c]);
  const dgamma = k.output([c]);
  const dbeta = k.output([c]);
  k.exports.layernorm_bwd(m, c, k.ptr(dy!), k.ptr(xhat!), k.ptr(rstd!), k.ptr(gamma!), dx.ptr, dgamma.ptr, dbeta.ptr);
  return [dx.info, dgamma.info, dbeta.info];
});

/** LgAttention: q, k, v [B·T, D] → [out [B·T, D], probs [B·H, T, T]]. attrs batch, heads. */
register('LgAttention', (k, { q, k: key, v }, attrs) => {
  const batch = attrs.batch as number;
  const heads = attrs.heads as number;
  const [rows, dim] = q!.shape as [number, number];
  const tokens = rows / batch;
  const headDim = dim / heads;
  const out = k.output([rows, dim]);
  const probs = k.output([batch * heads, tokens, tokens]);
  const work = k.work(k.exports.attention_work_floats(tokens, headDim));
  k.exports.attention_fwd(batch, tokens, heads, headDim, k.ptr(q!), k.ptr(key!), k.ptr(v!), dim, headDim ** -0.5, out.ptr, dim, probs.ptr, work);
  return [out.info, probs.info];
});

register('LgAttentionGrad', (k, { dy, q, k: key, v, probs }, attrs) => {
  const batch = attrs.batch as number;
  const heads = attrs.heads as number;
  const [rows, dim] = q!.shape as [number, number];
  const tokens = rows / batch;
  const headDim = dim / heads;
  const dq = k.output([rows, dim]);
  const dk = k.output([rows, dim]);
  const dv = k.output([rows, dim]);
  const work = k.work(k.exports.attention_work_floats(tokens, headDim));
  k.exports.attention_bwd(batch, tokens, heads, headDim, k.ptr(dy!), dim, k.ptr(q!), k.ptr(key!), k.ptr(v!), dim, k.ptr(probs!), headDim ** -0.5, dq.ptr, dk.ptr, dv.ptr, dim, work);
  return [dq.info, dk.info, dv.info];
});

/** LgAdamW: p, g, m, v → [p', m', v']; attrs as kernels.c `adamw`. */
register('LgAdamW', (k, { p, g, m, v }, attrs) => {
  const n = size(p!.shape);
  const pOut = k.output(p!.shape);
  const mOut = k.output(p!.shape);
  const vOut = k.output(p!.shape);
  k.exports.adamw(
    n, k.ptr(p!), k.ptr(g!), k.ptr(m!), k.ptr(v!), attrs.gscale as number, attrs.beta1 as number, attrs.beta2 as number,
    attrs.eps as number, attrs.decay as number, attrs.stepSize as number, attrs.bias2Sqrt as number, pOut.ptr, mOut.ptr, vOut.ptr,
  );
  return [pOut.info, mOut.info, vOut.info];
});

/** Σ x² of a float32 tensor on the wasm backend, read straight from its memory. */
export function sumOfSquares(x: tf.Tensor): number {
  const k = activeKernels();
  if (!k) throw new Error('sumOfSquares: wasm kernels unavailable');
  return k.exports.sum_squares(x.size, k.ptr(x));
}

/**
 * Copies a float32 tensor's values into `target` (at `offset`): straight out of the wasm
 * heap when the tensor lives there, else through dataSync. For gathering weights into
 * one flat buffer (the ONNX executor's inputs) without an intermediate array per tensor.
 */
export function copyTensorInto(t: tf.Tensor, target: Float32Array, offset = 0): void {
  const k = activeKernels();
  if (k && t.dtype === 'float32') {
    target.set(new Float32Array(k.memory.buffer, k.ptr(t), t.size), offset);
    return;
  }
  target.set(t.dataSync() as Float32Array, offset);
}
