// Messages between the data-parallel gradient pool (parallel.ts) and its workers
// (gradient-worker.ts). Weights and gradients travel through SharedArrayBuffers laid
// out by `TensorLayout`; images, labels and small arrays are copied in the messages.

import type { DistillLossConfig } from '../../shared/config.js';
import type { NetworkSpec } from '../../engine/model/spec.js';
import type { DropPathScales } from '../../engine/model/vit.js';
import type { PixelFormat } from '../../engine/data/convert.js';

export interface LayoutEntry {
  name: string;
  shape: number[];
  /** Offset in floats. */
  offset: number;
  size: number;
}

export interface TensorLayout {
  entries: LayoutEntry[];
  /** Total floats. */
  floats: number;
}

export function layoutOf(shapes: Iterable<[string, readonly number[]]>): TensorLayout {
  const entries: LayoutEntry[] = [];
  let offset = 0;
  for (const [name, shape] of shapes) {
    const size = shape.reduce((a, b) => a * b, 1);
    entries.push({ name, shape: [...shape], offset, size });
    // 4-float alignment keeps every tensor's view 16-byte aligned
    offset += Math.ceil(size / 4) * 4;
  }
  return { entries, floats: offset };
}

export interface WorkerInit {
  spec: NetworkSpec;
  /** Every network parameter, in `params`. */
  paramLayout: TensorLayout;
  params: SharedArrayBuffer;
  /** The trainable parameters, in this worker's `grads`. */
  gradLayout: TensorLayout;
  grads: SharedArrayBuffer;
  /** A replica of the teacher, when it is one of our networks (frozen weights, sent once). */
  teacher: { spec: NetworkSpec; layout: TensorLayout; weights: SharedArrayBuffer; from: PixelFormat; to: PixelFormat } | null;
}

export type ToWorker =
  | {
      type: 'step';
      id: number;
      /** Parameter version: the worker reloads weights when it changes. */
      version: number;
      images: Float32Array;
      labels: Int32Array;
      size: number;
      dropPath: DropPathScales | null;
      /** Teacher logits of this slice [size·K], or null to run the replica teacher (or no teacher). */
      teacherLogits: Float32Array | null;
      runTeacher: boolean;
      labelSmoothing: number;
      distill: DistillLossConfig & { reduction?: 'batchmean' | 'numel' };
    }
  | { type: 'logits'; id: number; version: number; images: Float32Array; size: number };

export type FromWorker =
  | { type: 'ready'; backend: string; detail: string }
  | { type: 'step'; id: number; losses: Record<string, number>; teacherLogits: Float32Array | null }
  | { type: 'logits'; id: number; values: Float32Array }
  | { type: 'error'; id: number | null; message: string; stack?: string };
