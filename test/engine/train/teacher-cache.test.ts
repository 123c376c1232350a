// The teacher-logit cache: keyed by dataset index, only for unaugmented batches,
// memory-bounded, and returning exactly what the teacher returned.

import { describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import type { Batch } from '../../../engine/data/types.js';
import type { Teacher } from '../../../engine/train/loop.js';
import { CachedTeacher } from '../../../engine/train/teacher-cache.js';
import { useBackend } from '../../helpers/fixtures.js';

await useBackend('wasm');

/** A teacher whose logits are a function of the image, counting the images it sees. */
class CountingTeacher implements Teacher {
  readonly numClasses = 3;
  seen = 0;
  async logits(batch: Batch): Promise<tf.Tensor2D> {
    this.seen += batch.size;
    const per = batch.images.length / batch.size;
    const out = new Float32Array(batch.size * 3);
    for (let i = 0; i < batch.size; i++) for (let k = 0; k < 3; k++) out[i * 3 + k] = batch.images[i * per]! * (k + 1);
    return tf.tensor2d(out, [batch.size, 3]);
  }
}

function batchOf(indices: number[], augmented = false): Batch {
  return {
    images: Float32Array.from(indices.flatMap((i) => [i + 0.5, 0])),
    labels: new Int32Array(indices.length),
    size: indices.length,
    indices: Int32Array.from(indices),
    augmented,
  };
}

describe('CachedTeacher', () => {
  it('serves a batch from the cache once every image in it was seen, with the logits the teacher gave', async () => {
    const inner = new CountingTeacher();
    const cached = new CachedTeacher(inner);
    const first = (await cached.logits(batchOf([3, 1, 4]))).arraySync();
    expect(inner.seen).toBe(3);
    // 9 is new: the whole batch goes to the teacher (as without a cache)
    const mixed = (await cached.logits(batchOf([4, 9, 3]))).arraySync();
    expect(inner.seen).toBe(6);
    expect(mixed[0]).toEqual(first[2]);
    expect(mixed[2]).toEqual(first[0]);
    expect(mixed[1]).toEqual([9.5, 19, 28.5]);
    // all seen: no teacher call
    const again = (await cached.logits(batchOf([9, 1, 3]))).arraySync();
    expect(inner.seen).toBe(6);
    expect(again).toEqual([mixed[1], first[1], first[0]]);
    expect(cached.lookup(batchOf([1, 9]))).not.toBeNull();
    expect(cached.stats).toMatchObject({ entries: 4, misses: 4 });
  });

  it('always asks the teacher for augmented batches or batches without indices', async () => {
    const inner = new CountingTeacher();
    const cached = new CachedTeacher(inner);
    await cached.logits(batchOf([1, 2], true));
    await cached.logits(batchOf([1, 2], true));
    const { indices: _unused, ...plain } = batchOf([1, 2]);
    await cached.logits(plain);
    expect(inner.seen).toBe(6);
    expect(cached.stats.entries).toBe(0);
    expect(cached.lookup(batchOf([1, 2], true))).toBeNull();
  });

  it('stops adding entries at its memory bound', async () => {
    const inner = new CountingTeacher();
    const cached = new CachedTeacher(inner, { maxBytes: 2 * (3 * 4 + 64) });
    await cached.logits(batchOf([0, 1, 2, 3]));
    expect(cached.stats.entries).toBe(2);
    await cached.logits(batchOf([0, 1, 2, 3]));
    expect(inner.seen).toBe(8); // 2 and 3 are not cached: the batch runs again
    await cached.logits(batchOf([1, 0]));
    expect(inner.seen).toBe(8); // 0 and 1 are
  });
});
