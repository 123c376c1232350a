// An ImageSource over uint8 HWC pixels held in memory: what IDX and CIFAR files become
// after loading, and what a browser page builds from an uploaded archive. Reading a
// batch at the stored size is a few `set` calls; other sizes go through image.ts.

import { resizeAndConvert } from './image.js';
import type { ImageSource } from './types.js';

export interface MemoryImageSourceInit {
  name: string;
  classNames: readonly string[];
  labels: Int32Array;
  /** N × height × width × channels, uint8. */
  pixels: Uint8Array;
  height: number;
  width: number;
  /** 1 or 3. */
  channels: number;
}

export class MemoryImageSource implements ImageSource {
  readonly name: string;
  readonly classNames: readonly string[];
  readonly labels: Int32Array;
  readonly channels: number;
  readonly storedSize: { height: number; width: number };
  readonly pixels: Uint8Array;

  constructor(init: MemoryImageSourceInit) {
    const { name, classNames, labels, pixels, height, width, channels } = init;
    if (channels !== 1 && channels !== 3) throw new RangeError(`${name}: images must have 1 or 3 channels, got ${channels}`);
    const imageBytes = height * width * channels;
    if (pixels.length !== labels.length * imageBytes) {
      throw new RangeError(`${name}: ${labels.length} labels need ${labels.length * imageBytes} pixel bytes (${height}x${width}x${channels} each), got ${pixels.length}`);
    }
    for (let i = 0; i < labels.length; i++) {
      const label = labels[i]!;
      if (label < 0 || label >= classNames.length) {
        throw new RangeError(`${name}: label ${label} of image ${i} is outside 0..${classNames.length - 1}`);
      }
    }
    this.name = name;
    this.classNames = classNames;
    this.labels = labels;
    this.pixels = pixels;
    this.channels = channels;
    this.storedSize = { height, width };
  }

  get length(): number {
    return this.labels.length;
  }

  async read(indices: ArrayLike<number>, height: number, width: number, channels: number): Promise<Uint8Array> {
    return this.readSync(indices, height, width, channels);
  }

  /** Same as `read`, without the promise (the data is already in memory). */
  readSync(indices: ArrayLike<number>, height: number, width: number, channels: number): Uint8Array {
    const { height: h, width: w } = this.storedSize;
    const c = this.channels;
    const inBytes = h * w * c;
    const outBytes = height * width * channels;
    const out = new Uint8Array(indices.length * outBytes);
    const n = this.labels.length;
    const direct = h === height && w === width && c === channels;
    for (let k = 0; k < indices.length; k++) {
      const index = indices[k]!;
      if (!Number.isInteger(index) || index < 0 || index >= n) {
        throw new RangeError(`${this.name}: image index ${index} is outside 0..${n - 1}`);
      }
      if (direct) {
        out.set(this.pixels.subarray(index * inBytes, (index + 1) * inBytes), k * outBytes);
      } else {
        resizeAndConvert(this.pixels, index * inBytes, h, w, c, height, width, channels, out, k * outBytes);
      }
    }
    return out;
  }
}
