// Reverse-mode differentiation over a GraphBuilder: the forward pass calls the
// differentiable ops below, which append their forward nodes and record how to append
// their backward nodes; `gradients` then walks the record backwards and writes the
// backward pass into the same graph. Gradients of a value used several times add up —
// which is exactly how an SWS stage block used by several layers, or TLEG's θA/θB used
// by every layer, receives the sum of their gradients.
//
// The backward formulas are the hand-written ones of engine/ops/fast.ts (checked there
// against tfjs autodiff and PyTorch), written once more in graph ops.

import { type GraphBuilder, sizeOf, type Value } from './graph.js';

/** Gradients of a record's outputs in, of its inputs out (null: none / not needed). */
type Backward = (gradOutputs: (Value | null)[], needed: boolean[]) => (Value | null)[];

interface TapeRecord {
  inputs: Value[];
  outputs: Value[];
  backward: Backward;
}

export class Tape {
  private readonly records: TapeRecord[] = [];
  private readonly tracked = new Set<string>();

  constructor(readonly g: GraphBuilder) {}

  /** Marks a value (a trainable parameter) as something to differentiate with respect to. */
  watch(value: Value): Value {
    this.tracked.add(value.name);
    return value;
  }

  requiresGrad(value: Value): boolean {
    return this.tracked.has(value.name);
  }

  /** Records an op whose outputs depend on its inputs; ignored when no input needs a gradient. */
  record(inputs: Value[], outputs: Value[], backward: Backward): void {
    if (!inputs.some((i) => this.requiresGrad(i))) return;
    for (const o of outputs) this.tracked.add(o.name);
    this.records.push({ inputs, outputs, backward });
  }

  /**
   * Appends the backward pass: given d(loss)/d(seed) for each seed value, the gradient of
   * every value in `wrt` (null for a value the loss does not depend on).
   */
  gradients(seeds: [Value, Value][], wrt: Value[]): (Value | null)[] {
    const grads = new Map<string, Value>();
    const accumulate = (value: Value, grad: Value) => {
      if (grad.shape.join(',') !== value.shape.join(',')) {
        throw new Error(`autodiff: gradient of [${grad.shape}] for ${value.name} of [${value.shape}]`);
      }
      const existing = grads.get(value.name);
      grads.set(value.name, existing ? this.g.add(existing, grad) : grad);
    };
    for (const [value, grad] of seeds) accumulate(value, grad);
    for (let r = this.records.length - 1; r >= 0; r--) {
      const record = this.records[r]!;
      const gradOutputs = record.outputs.map((o) => grads.get(o.name) ?? null);
      if (gradOutputs.every((g) => g === null)) continue;
      const needed = record.inputs.map((i) => this.requiresGrad(i));
      const gradInputs = record.backward(gradOutputs, needed);
      record.inputs.forEach((input, i) => {
        const grad = gradInputs[i];
        if (needed[i] && grad) accumulate(input, grad);
      });
    }
    return wrt.map((v) => grads.get(v.name) ?? null);
  }
}

/** Sums a broadcast gradient back to the shape of the operand it came from. */
export function unbroadcast(g: GraphBuilder, grad: Value, shape: readonly number[]): Value {
  if (grad.shape.join(',') === shape.join(',')) return grad;
  const offset = grad.shape.length - shape.length;
  const axes: number[] = [];
  grad.shape.forEach((d, i) => {
    if (i < offset || (shape[i - offset] === 1 && d !== 1)) axes.push(i);
  });
  const summed = axes.length > 0 ? g.reduceSum(grad, axes, true) : grad;
  return g.reshape(summed, shape);
}

/**
 * Σ over the rows of a 2-D value as a ones-vector product: onnxruntime's GEMV streams the
 * rows on every core, about twice as fast as ReduceSum over axis 0 here.
 */
export function sumRows(g: GraphBuilder, x: Value): Value {
  const [rows, cols] = x.shape as [number, number];
  return g.reshape(g.gemm(g.filled(1, [1, rows]), x), [cols]);
}

/** The differentiable ops of the training graph (forward nodes now, backward on demand). */
export class DiffOps {
  readonly g: GraphBuilder;

  constructor(readonly tape: Tape) {
    this.g = tape.g;
  }

  add(a: Value, b: Value): Value {
    const { g } = this;
    const out = g.add(a, b);
    this.tape.record([a, b], [out], ([dy]) => [unbroadcast(g, dy!, a.shape), unbroadcast(g, dy!, b.shape)]);
    return out;
  }

  mul(a: Value, b: Value): Value {
    const { g } = this;
    const out = g.mul(a, b);
    this.tape.record([a, b], [out], ([dy], [needA, needB]) => [
      needA ? unbroadcast(g, g.mul(dy!, b), a.shape) : null,
      needB ? unbroadcast(g, g.mul(dy!, a), b.shape) : null,
    ]);
    return out;
  }

  /** x · constant factor. */
  scale(x: Value, factor: number): Value {
    if (factor === 1) return x;
    const { g } = this;
    const out = g.scale(x, factor);
    this.tape.record([x], [out], ([dy]) => [g.scale(dy!, factor)]);
    return out;
  }

  reshape(x: Value, shape: readonly number[]): Value {
    const { g } = this;
    const out = g.reshape(x, shape);
    if (out !== x) this.tape.record([x], [out], ([dy]) => [g.reshape(dy!, x.shape)]);
    return out;
  }

  /** x[start:end] along one axis. */
  slice(x: Value, axis: number, start: number, end: number): Value {
    const { g } = this;
    const out = g.slice(x, [start], [end], [axis]);
    this.tape.record([x], [out], ([dy]) => {
      const pads = x.shape.map((_, i) => (i === axis ? [start, x.shape[i]! - end] as const : [0, 0] as const));
      return [g.pad(dy!, pads)];
    });
    return out;
  }

  pad(x: Value, pads: readonly (readonly [number, number])[]): Value {
    const { g } = this;
    const out = g.pad(x, pads);
    this.tape.record([x], [out], ([dy]) => [
      g.slice(dy!, pads.map((p) => p[0]), pads.map((p, i) => p[0] + x.shape[i]!), pads.map((_, i) => i)),
    ]);
    return out;
  }

  concat(xs: Value[], axis: number): Value {
    const { g } = this;
    const out = g.concat(xs, axis);
    if (out === xs[0]) return out;
    this.tape.record(xs, [out], ([dy], needed) => {
      let offset = 0;
      return xs.map((x, i) => {
        const start = offset;
        offset += x.shape[axis]!;
        return needed[i] ? g.slice(dy!, [start], [offset], [axis]) : null;
      });
    });
    return out;
  }

  /** Mean over `axis` (dropped). */
  mean(x: Value, axis: number): Value {
    const { g } = this;
    const out = g.reduceMean(x, [axis], false);
    const n = x.shape[axis]!;
    this.tape.record([x], [out], ([dy]) => {
      const kept = x.shape.map((d, i) => (i === axis ? 1 : d));
      return [g.expand(g.reshape(g.scale(dy!, 1 / n), kept), x.shape)];
    });
    return out;
  }

  /**
   * x [M, K] · w [K, N] (+ b [N]) as one Gemm. Backward: dx = dy·wᵀ, dw = xᵀ·dy,
   * db = Σ_rows dy — products that read the transposed operand in place.
   */
  linear(x: Value, w: Value, b: Value | null): Value {
    const { g } = this;
    const out = g.gemm(x, w, { c: b });
    this.tape.record(b ? [x, w, b] : [x, w], [out], ([dy], [needX, needW, needB]) => [
      needX ? g.gemm(dy!, w, { transB: true }) : null,
      needW ? g.gemm(x, dy!, { transA: true }) : null,
      needB ? sumRows(g, dy!) : null,
    ]);
    return out;
  }

  /** Batched op(a)·op(b)·alpha (attention products). */
  matMul(a: Value, b: Value, options: { transA?: boolean; transB?: boolean; alpha?: number } = {}): Value {
    const { g } = this;
    const { transA = false, transB = false, alpha = 1 } = options;
    const out = g.matMul(a, b, options);
    this.tape.record([a, b], [out], ([dy], [needA, needB]) => [
      // C = αA·B:  dA = α·dC·Bᵀ, dB = α·Aᵀ·dC (with the transposes folded in).
      needA ? (transA ? g.matMul(b, dy!, { transA: transB, transB: true, alpha }) : g.matMul(dy!, b, { transB: !transB, alpha })) : null,
      needB ? (transB ? g.matMul(dy!, a, { transA: true, transB: transA, alpha }) : g.matMul(a, dy!, { transA: !transA, alpha })) : null,
    ]);
    return out;
  }

  transpose(x: Value, perm: readonly number[]): Value {
    const { g } = this;
    const out = g.transpose(x, perm);
    const inverse = perm.map((_, i) => perm.indexOf(i));
    this.tape.record([x], [out], ([dy]) => [g.transpose(dy!, inverse)]);
    return out;
  }

  /**
   * (x − mean)/√(var + eps) over the last axis, with no affine part (the network folds γ
   * and β into the next projection). Backward: dx = r·(dx̂ − mean(dx̂) − x̂·mean(dx̂·x̂)).
   */
  normalize(x: Value, eps: number): Value {
    const { g } = this;
    const d = x.shape[x.shape.length - 1]!;
    const [xhat, , invStd] = g.layerNorm(x, g.filled(1, [d]), g.filled(0, [d]), eps);
    this.tape.record([x], [xhat!], ([dxhat]) => {
      const last = [x.shape.length - 1];
      const meanGrad = g.reduceMean(dxhat!, last, true);
      const meanGradXhat = g.reduceMean(g.mul(dxhat!, xhat!), last, true);
      const centered = g.sub(g.sub(dxhat!, meanGrad), g.mul(xhat!, meanGradXhat));
      return [g.mul(centered, invStd!)];
    });
    return xhat!;
  }

  /** GELU: exact x·Φ(x), or the tanh approximation x·σ(2u), u = √(2/π)(x + 0.044715x³). */
  gelu(x: Value, kind: 'exact' | 'tanh'): Value {
    const { g } = this;
    if (kind === 'exact') {
      const out = g.geluExact(x);
      this.tape.record([x], [out], ([dy]) => {
        // d/dx x·Φ(x) = Φ(x) + x·φ(x),  Φ = ½(1 + erf(x/√2)),  φ = exp(−x²/2)/√(2π)
        const cdf = g.mul(g.add(g.unary('Erf', g.scale(x, Math.SQRT1_2)), g.scalar(1)), g.scalar(0.5));
        const pdf = g.mul(g.unary('Exp', g.mul(g.mul(x, x), g.scalar(-0.5))), g.scalar(1 / Math.sqrt(2 * Math.PI)));
        return [g.mul(dy!, g.add(cdf, g.mul(x, pdf)))];
      });
      return out;
    }
    const c = Math.sqrt(2 / Math.PI);
    const x2 = g.mul(x, x);
    const u = g.mul(g.mul(x, g.add(g.scale(x2, 0.044715), g.scalar(1))), g.scalar(c));
    const s = g.unary('Sigmoid', g.scale(u, 2));
    const out = g.mul(x, s);
    this.tape.record([x], [out], ([dy]) => {
      // d/dx [x·s(2u)] = s + x · 2s(1 − s) · du/dx,  du/dx = √(2/π)(1 + 3·0.044715x²)
      const du = g.mul(g.add(g.scale(x2, 3 * 0.044715), g.scalar(1)), g.scalar(c));
      const ds = g.mul(g.scale(g.mul(s, g.sub(g.scalar(1), s)), 2), du);
      return [g.mul(dy!, g.add(s, g.mul(x, ds)))];
    });
    return out;
  }

  /** Softmax over the last axis. Backward: dx = y·(dy − Σ dy·y). */
  softmax(x: Value): Value {
    const { g } = this;
    const y = g.softmax(x);
    this.tape.record([x], [y], ([dy]) => {
      const last = [x.shape.length - 1];
      return [g.mul(y, g.sub(dy!, g.reduceSum(g.mul(dy!, y), last, true)))];
    });
    return y;
  }

  /** x [B·T, D] with sample b's rows scaled by scales[b] (drop-path); scales is data. */
  scaleRowsPerSample(x: Value, scales: Value): Value {
    const { g } = this;
    const batch = scales.shape[0]!;
    const perSample = (t: Value) => g.reshape(g.mul(g.reshape(t, [batch, sizeOf(t.shape) / batch]), g.reshape(scales, [batch, 1])), t.shape);
    const out = perSample(x);
    this.tape.record([x], [out], ([dy]) => [perSample(dy!)]);
    return out;
  }
}
