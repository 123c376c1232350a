// Teacher logits cached by dataset index. Without augmentation a training image is the
// same tensor at every epoch, so its teacher logits are too: after the first epoch the
// teacher need not run at all. Batches say which dataset images they hold
// (`Batch.indices`) and whether they were augmented; an augmented batch, or one without
// indices, always goes to the teacher. A batch runs from the cache only when every image
// is in it; otherwise the whole batch goes to the teacher (so resumed runs stay
// bit-exact). Memory-bounded: logits are kept until `maxBytes` is reached, after which
// further images are computed each time (never evicted, so the cached set is stable and
// a long run does not thrash).

import * as tf from '@tensorflow/tfjs-core';
import type { Batch } from '../data/types.js';
import type { Teacher } from './loop.js';

export interface TeacherCacheOptions {
  /** Upper bound on the cached logits, in bytes (default 256 MiB). */
  maxBytes?: number;
}

export interface TeacherCacheStats {
  hits: number;
  misses: number;
  entries: number;
  bytes: number;
}

export class CachedTeacher implements Teacher {
  private readonly rows = new Map<number, Float32Array>();
  private readonly maxEntries: number;
  readonly stats: TeacherCacheStats = { hits: 0, misses: 0, entries: 0, bytes: 0 };

  constructor(readonly inner: Teacher, options: TeacherCacheOptions = {}) {
    const rowBytes = inner.numClasses * 4 + 64; // + Map entry overhead, roughly
    this.maxEntries = Math.floor((options.maxBytes ?? 256 * 1024 * 1024) / rowBytes);
  }

  get numClasses(): number {
    return this.inner.numClasses;
  }

  /** Whether a batch's logits may come from (and go to) the cache. */
  static cacheable(batch: Batch): batch is Batch & { indices: Int32Array } {
    return batch.indices !== undefined && batch.indices.length === batch.size && batch.augmented !== true;
  }

  /** All logits [B·K] of the batch when every image is cached, else null (counts nothing). */
  lookup(batch: Batch): Float32Array | null {
    if (!CachedTeacher.cacheable(batch)) return null;
    const k = this.numClasses;
    const out = new Float32Array(batch.size * k);
    for (let i = 0; i < batch.size; i++) {
      const row = this.rows.get(batch.indices[i]!);
      if (!row) return null;
      out.set(row, i * k);
    }
    this.stats.hits += batch.size;
    return out;
  }

  /** Keeps the logits [B·K] of a batch computed elsewhere (e.g. by a replica of the teacher). */
  store(batch: Batch, logits: Float32Array): void {
    if (!CachedTeacher.cacheable(batch)) return;
    const k = this.numClasses;
    for (let i = 0; i < batch.size; i++) {
      const index = batch.indices[i]!;
      if (this.rows.has(index) || this.rows.size >= this.maxEntries) continue;
      this.rows.set(index, logits.slice(i * k, (i + 1) * k));
    }
    this.stats.entries = this.rows.size;
    this.stats.bytes = this.rows.size * k * 4;
  }

  async logits(batch: Batch): Promise<tf.Tensor2D> {
    if (!CachedTeacher.cacheable(batch)) {
      this.stats.misses += batch.size;
      return this.inner.logits(batch);
    }
    const cached = this.lookup(batch);
    if (cached) return tf.tensor2d(cached, [batch.size, this.numClasses]);
    // Any image missing: the whole batch goes to the teacher, exactly as without a cache.
    // Teachers may round differently at other batch sizes (onnxruntime does), so computing
    // only the missing images would make a resumed run (whose cache starts empty) differ
    // from an uninterrupted one; whole batches keep every logit a function of the image.
    const computed = await this.inner.logits(batch);
    const values = (await computed.data()) as Float32Array;
    let fresh = 0;
    for (let i = 0; i < batch.size; i++) if (!this.rows.has(batch.indices[i]!)) fresh++;
    this.stats.misses += fresh;
    this.stats.hits += batch.size - fresh;
    this.store(batch, values);
    return computed;
  }
}
