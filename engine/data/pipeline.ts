// From an ImageSource to model batches: splits, class subsets, the per-epoch order,
// augmentation and normalization. Every random choice is a pure function of
// (seed, purpose, counters) via Rng.derive, so a run resumed at (epoch, step) gets the
// bytes the uninterrupted run got; nothing here keeps generator state between calls.

import type { AugmentConfig } from '../../shared/config.js';
import { Rng } from '../rng.js';
import type { Batch, ImageSource, Preprocess } from './types.js';

/** 0, 1, ..., n-1. */
export function rangeIndices(n: number): Int32Array {
  const out = new Int32Array(n);
  for (let i = 0; i < n; i++) out[i] = i;
  return out;
}

/** Positions of `candidates` grouped by label; classes in ascending order, positions kept in order. */
function groupByClass(labels: Int32Array, candidates: ArrayLike<number>): Map<number, number[]> {
  const groups = new Map<number, number[]>();
  for (let i = 0; i < candidates.length; i++) {
    const index = candidates[i]!;
    const label = labels[index]!;
    let group = groups.get(label);
    if (!group) groups.set(label, (group = []));
    group.push(index);
  }
  return new Map([...groups.entries()].sort((a, b) => a[0] - b[0]));
}

/** `group` reordered by a seeded permutation. */
function shuffled(group: number[], rng: Rng): number[] {
  const order = rng.permutation(group.length);
  const out = new Array<number>(group.length);
  for (let i = 0; i < group.length; i++) out[i] = group[order[i]!]!;
  return out;
}

function sortedInt32(values: number[]): Int32Array {
  return Int32Array.from(values).sort();
}

/**
 * Stratified split: in every class, round(count × valFraction) images (but never the
 * class's last one), chosen by a permutation seeded with (seed, 'split', class), go to
 * validation. Both index lists come back in ascending order.
 */
export function splitTrainVal(labels: Int32Array, valFraction: number, seed: number): { train: Int32Array; val: Int32Array } {
  if (!Number.isFinite(valFraction) || valFraction < 0 || valFraction >= 1) {
    throw new RangeError(`splitTrainVal: valFraction must be in [0, 1), got ${valFraction}`);
  }
  const train: number[] = [];
  const val: number[] = [];
  for (const [label, group] of groupByClass(labels, rangeIndices(labels.length))) {
    // Training keeps at least one image of every class it has.
    const nVal = Math.min(Math.round(group.length * valFraction), group.length - 1);
    const order = shuffled(group, Rng.derive(seed, 'split', label));
    for (let i = 0; i < order.length; i++) (i < nVal ? val : train).push(order[i]!);
  }
  return { train: sortedInt32(train), val: sortedInt32(val) };
}

export interface SelectOptions {
  /** Keep only these labels. */
  classes?: readonly number[];
  /** At most this many images per class, chosen at random (seeded). */
  perClass?: number;
  /** At most this many images in total, spread evenly over the classes (round robin). */
  limit?: number;
  seed: number;
  /** Choose among these indices instead of all (e.g. a training split). */
  from?: ArrayLike<number>;
}

/**
 * Indices of a class-filtered, class-balanced subset, ascending. Within a class the
 * images are taken in the order of a permutation seeded with (seed, 'select', class),
 * so a smaller `perClass` or `limit` picks a subset of what a larger one picks.
 */
export function selectIndices(labels: Int32Array, options: SelectOptions): Int32Array {
  const { classes, perClass, limit, seed } = options;
  for (const [name, value] of [['perClass', perClass], ['limit', limit]] as const) {
    if (value !== undefined && (!Number.isInteger(value) || value < 0)) {
      throw new RangeError(`selectIndices: ${name} must be a non-negative integer, got ${value}`);
    }
  }
  let candidates: ArrayLike<number> = options.from ?? rangeIndices(labels.length);
  if (classes) {
    const wanted = new Set(classes);
    const kept: number[] = [];
    for (let i = 0; i < candidates.length; i++) if (wanted.has(labels[candidates[i]!]!)) kept.push(candidates[i]!);
    candidates = kept;
  }
  if (perClass === undefined && limit === undefined) return sortedInt32(Array.from(candidates));
  const queues: number[][] = [];
  for (const [label, group] of groupByClass(labels, candidates)) {
    const order = shuffled(group, Rng.derive(seed, 'select', label));
    queues.push(perClass === undefined ? order : order.slice(0, perClass));
  }
  if (limit === undefined) return sortedInt32(queues.flat());
  const picked: number[] = [];
  for (let round = 0; picked.length < limit; round++) {
    let tookAny = false;
    for (const queue of queues) {
      if (round < queue.length && picked.length < limit) {
        picked.push(queue[round]!);
        tookAny = true;
      }
    }
    if (!tookAny) break;
  }
  return sortedInt32(picked);
}

/** Label l → its position in `classes`, or -1 when l is not kept. */
export function remapLabels(labels: Int32Array, classes: readonly number[]): Int32Array {
  const position = new Map(classes.map((c, i) => [c, i]));
  const out = new Int32Array(labels.length);
  for (let i = 0; i < labels.length; i++) out[i] = position.get(labels[i]!) ?? -1;
  return out;
}

/**
 * The images of `classes` only, relabelled 0..k-1 in the order given (e.g. classes
 * 5..9 of Fashion-MNIST become a 5-class dataset) with their class names kept.
 */
export function subsetSource(source: ImageSource, classes: readonly number[]): ImageSource & { readonly baseIndices: Int32Array } {
  if (classes.length === 0) throw new RangeError(`${source.name}: a class subset needs at least one class`);
  const seen = new Set<number>();
  for (const c of classes) {
    if (!Number.isInteger(c) || c < 0 || c >= source.classNames.length) {
      throw new RangeError(`${source.name}: class ${c} is outside 0..${source.classNames.length - 1}`);
    }
    if (seen.has(c)) throw new RangeError(`${source.name}: class ${c} is listed twice`);
    seen.add(c);
  }
  const remapped = remapLabels(source.labels, classes);
  const baseIndices = selectIndices(source.labels, { classes, seed: 0 });
  const labels = new Int32Array(baseIndices.length);
  for (let i = 0; i < baseIndices.length; i++) labels[i] = remapped[baseIndices[i]!]!;
  const name = `${source.name} [classes ${classes.join(',')}]`;
  return {
    name,
    classNames: classes.map((c) => source.classNames[c]!),
    labels,
    channels: source.channels,
    storedSize: source.storedSize,
    baseIndices,
    read(indices, height, width, channels) {
      const mapped = new Int32Array(indices.length);
      for (let i = 0; i < indices.length; i++) {
        const index = indices[i]!;
        if (!Number.isInteger(index) || index < 0 || index >= baseIndices.length) {
          throw new RangeError(`${name}: image index ${index} is outside 0..${baseIndices.length - 1}`);
        }
        mapped[i] = baseIndices[index]!;
      }
      return source.read(mapped, height, width, channels);
    },
  };
}

/** Images per class, indexed by label. */
export function classCounts(labels: ArrayLike<number>, numClasses: number, indices?: ArrayLike<number>): number[] {
  const counts = new Array<number>(numClasses).fill(0);
  const n = indices ? indices.length : labels.length;
  for (let i = 0; i < n; i++) {
    const label = labels[indices ? indices[i]! : i]!;
    if (label >= 0 && label < numClasses) counts[label]!++;
  }
  return counts;
}

function validatePreprocess(preprocess: Preprocess): void {
  const { imageSize, channels, mean, std } = preprocess;
  if (!Number.isInteger(imageSize) || imageSize <= 0) throw new RangeError(`preprocess.imageSize must be a positive integer, got ${imageSize}`);
  if (channels !== 1 && channels !== 3) throw new RangeError(`preprocess.channels must be 1 or 3, got ${channels}`);
  if (mean.length !== channels || std.length !== channels) {
    throw new RangeError(`preprocess.mean and .std need ${channels} entries (one per channel), got ${mean.length} and ${std.length}`);
  }
  if (std.some((s) => !(s > 0))) throw new RangeError(`preprocess.std entries must be positive, got [${std.join(', ')}]`);
}

/** lut[c * 256 + v] = (v / 255 - mean[c]) / std[c], computed once per loader. */
export function normalizationTable(preprocess: Preprocess): Float32Array {
  const table = new Float32Array(preprocess.channels * 256);
  for (let c = 0; c < preprocess.channels; c++) {
    for (let v = 0; v < 256; v++) table[c * 256 + v] = (v / 255 - preprocess.mean[c]!) / preprocess.std[c]!;
  }
  return table;
}

/** Where sample `position` of `epoch` is cropped and whether it is flipped. */
export interface AugmentDraw {
  /** Top-left corner of the crop in the padded image, 0..2·padding. */
  offsetY: number;
  offsetX: number;
  flip: boolean;
}

/** The augmentation of one sample: a pure function of (seed, epoch, position). */
export function augmentDraw(augment: AugmentConfig, seed: number, epoch: number, position: number): AugmentDraw {
  const rng = Rng.derive(seed, 'augment', epoch, position);
  const span = 2 * augment.cropPadding + 1;
  // Always draw in this order so a config change never shifts the other draws.
  const offsetY = rng.int(span);
  const offsetX = rng.int(span);
  const flip = rng.next() < 0.5;
  return { offsetY, offsetX, flip: augment.horizontalFlip && flip };
}

/**
 * One HWC uint8 image → CHW float32 at `outOffset`, through torchvision's
 * RandomCrop(size, padding) (zero padding, i.e. black before normalization) then
 * RandomHorizontalFlip, then the normalization table.
 */
export function writeNormalized(
  pixels: Uint8Array, pixelOffset: number, size: number, channels: number,
  padding: number, draw: AugmentDraw | null, table: Float32Array,
  out: Float32Array, outOffset: number,
): void {
  const plane = size * size;
  const shiftY = draw ? draw.offsetY - padding : 0;
  const shiftX = draw ? draw.offsetX - padding : 0;
  const flip = draw ? draw.flip : false;
  for (let c = 0; c < channels; c++) {
    const lut = c * 256;
    const black = table[lut]!;
    const planeOut = outOffset + c * plane;
    for (let y = 0; y < size; y++) {
      const sy = y + shiftY;
      const rowOut = planeOut + y * size;
      if (sy < 0 || sy >= size) {
        out.fill(black, rowOut, rowOut + size);
        continue;
      }
      const rowIn = pixelOffset + sy * size * channels + c;
      for (let x = 0; x < size; x++) {
        const sx = (flip ? size - 1 - x : x) + shiftX;
        out[rowOut + x] = sx < 0 || sx >= size ? black : table[lut + pixels[rowIn + sx * channels]!]!;
      }
    }
  }
}

export interface BatchLoaderOptions {
  source: ImageSource;
  /** The images this loader iterates over (e.g. a training split). */
  indices: Int32Array;
  preprocess: Preprocess;
  /** Defaults to no augmentation. */
  augment?: AugmentConfig;
  batchSize: number;
  seed: number;
  shuffle: boolean;
  /** Drop the last, smaller batch of an epoch (training); keep it for evaluation. */
  dropLast: boolean;
  /** Start reading the next batch while the caller computes (default true). */
  prefetch?: boolean;
}

/**
 * Batches by (epoch, step). The order of an epoch is Rng.derive(seed, 'order', epoch)
 * .permutation (or the given order when not shuffling); augmentation depends only on
 * (seed, epoch, position in the epoch). Random access: any (epoch, step) can be asked
 * for in any order and gives the same batch.
 */
export class BatchLoader {
  readonly source: ImageSource;
  readonly indices: Int32Array;
  readonly preprocess: Preprocess;
  readonly augment: AugmentConfig;
  readonly batchSize: number;
  readonly seed: number;
  readonly shuffle: boolean;
  readonly dropLast: boolean;
  readonly prefetch: boolean;
  readonly stepsPerEpoch: number;
  private readonly table: Float32Array;
  private cachedOrder: { epoch: number; order: Int32Array } | null = null;
  private pending: { epoch: number; step: number; pixels: Promise<Uint8Array> } | null = null;

  constructor(options: BatchLoaderOptions) {
    const { source, indices, preprocess, batchSize } = options;
    validatePreprocess(preprocess);
    if (!Number.isInteger(batchSize) || batchSize <= 0) throw new RangeError(`batchSize must be a positive integer, got ${batchSize}`);
    const augment = options.augment ?? { cropPadding: 0, horizontalFlip: false };
    if (!Number.isInteger(augment.cropPadding) || augment.cropPadding < 0) {
      throw new RangeError(`augment.cropPadding must be a non-negative integer, got ${augment.cropPadding}`);
    }
    const n = source.labels.length;
    for (let i = 0; i < indices.length; i++) {
      const index = indices[i]!;
      if (index < 0 || index >= n) throw new RangeError(`${source.name}: index ${index} (entry ${i}) is outside 0..${n - 1}`);
    }
    if (indices.length === 0) throw new RangeError(`${source.name}: no images to load (empty index list)`);
    this.stepsPerEpoch = options.dropLast ? Math.floor(indices.length / batchSize) : Math.ceil(indices.length / batchSize);
    if (this.stepsPerEpoch === 0) {
      throw new RangeError(`${source.name}: ${indices.length} images make no full batch of ${batchSize}; lower the batch size`);
    }
    this.source = source;
    this.indices = indices;
    this.preprocess = preprocess;
    this.augment = augment;
    this.batchSize = batchSize;
    this.seed = options.seed;
    this.shuffle = options.shuffle;
    this.dropLast = options.dropLast;
    this.prefetch = options.prefetch ?? true;
    this.table = normalizationTable(preprocess);
  }

  /** Number of images one epoch yields. */
  get imagesPerEpoch(): number {
    return Math.min(this.indices.length, this.stepsPerEpoch * this.batchSize);
  }

  /** Dataset indices in the order of `epoch`. */
  epochOrder(epoch: number): Int32Array {
    if (!this.shuffle) return this.indices;
    if (this.cachedOrder?.epoch === epoch) return this.cachedOrder.order;
    const permutation = Rng.derive(this.seed, 'order', epoch).permutation(this.indices.length);
    const order = new Int32Array(permutation.length);
    for (let i = 0; i < order.length; i++) order[i] = this.indices[permutation[i]!]!;
    this.cachedOrder = { epoch, order };
    return order;
  }

  /** Dataset indices of batch (epoch, step). */
  batchIndices(epoch: number, step: number): Int32Array {
    if (!Number.isInteger(epoch) || epoch < 0) throw new RangeError(`epoch must be a non-negative integer, got ${epoch}`);
    if (!Number.isInteger(step) || step < 0 || step >= this.stepsPerEpoch) {
      throw new RangeError(`step ${step} is outside 0..${this.stepsPerEpoch - 1} (${this.stepsPerEpoch} steps per epoch)`);
    }
    const start = step * this.batchSize;
    return this.epochOrder(epoch).subarray(start, Math.min(start + this.batchSize, this.indices.length));
  }

  private readPixels(epoch: number, step: number): Promise<Uint8Array> {
    const { imageSize, channels } = this.preprocess;
    // slice(): the source may hold on to the array while it reads asynchronously.
    return this.source.read(this.batchIndices(epoch, step).slice(), imageSize, imageSize, channels);
  }

  private startPrefetch(epoch: number, step: number): void {
    const next = step + 1 < this.stepsPerEpoch ? { epoch, step: step + 1 } : { epoch: epoch + 1, step: 0 };
    const pixels = this.readPixels(next.epoch, next.step);
    // The error surfaces when that batch is asked for; a batch nobody asks for stays silent.
    pixels.catch(() => undefined);
    this.pending = { ...next, pixels };
  }

  async batch(epoch: number, step: number): Promise<Batch> {
    const indices = this.batchIndices(epoch, step);
    const pending = this.pending;
    this.pending = null;
    const pixels = await (pending && pending.epoch === epoch && pending.step === step ? pending.pixels : this.readPixels(epoch, step));
    if (this.prefetch) this.startPrefetch(epoch, step);
    return this.assemble(pixels, indices, epoch, step * this.batchSize);
  }

  /** Batches of one epoch from `fromStep` on (a resumed run starts mid-epoch). */
  async *epoch(epoch: number, fromStep = 0): AsyncGenerator<Batch & { step: number }> {
    for (let step = fromStep; step < this.stepsPerEpoch; step++) yield { ...(await this.batch(epoch, step)), step };
  }

  /** NHWC uint8 pixels of a batch → NCHW normalized floats, augmenting per sample position. */
  private assemble(pixels: Uint8Array, indices: Int32Array, epoch: number, firstPosition: number): Batch {
    const { imageSize: size, channels } = this.preprocess;
    const count = indices.length;
    const imageBytes = size * size * channels;
    if (pixels.length !== count * imageBytes) {
      throw new RangeError(`${this.source.name}: read returned ${pixels.length} bytes for ${count} images of ${size}x${size}x${channels}`);
    }
    const images = new Float32Array(count * imageBytes);
    const labels = new Int32Array(count);
    const augmenting = this.augment.cropPadding > 0 || this.augment.horizontalFlip;
    for (let i = 0; i < count; i++) {
      labels[i] = this.source.labels[indices[i]!]!;
      const draw = augmenting ? augmentDraw(this.augment, this.seed, epoch, firstPosition + i) : null;
      writeNormalized(pixels, i * imageBytes, size, channels, this.augment.cropPadding, draw, this.table, images, i * imageBytes);
    }
    return { images, labels, size: count, indices: indices.slice(), augmented: augmenting };
  }
}

/**
 * Per-channel mean and std (population) of [0,1] pixels over at most `maxImages` of
 * `indices`, taken evenly spaced so the estimate is deterministic and spans the set.
 */
export async function computeChannelStats(
  source: ImageSource, indices: ArrayLike<number>, imageSize: number, channels: number, maxImages = 2000,
): Promise<{ mean: number[]; std: number[] }> {
  const total = indices.length;
  if (total === 0) throw new RangeError(`${source.name}: no images to compute channel statistics from`);
  const count = Math.min(total, Math.max(1, maxImages));
  const chosen = new Int32Array(count);
  for (let i = 0; i < count; i++) chosen[i] = indices[Math.floor((i * total) / count)]!;
  const sum = new Float64Array(channels);
  const sumSquares = new Float64Array(channels);
  const chunk = 256;
  for (let start = 0; start < count; start += chunk) {
    const pixels = await source.read(chosen.subarray(start, Math.min(start + chunk, count)), imageSize, imageSize, channels);
    // Integer sums per chunk are exact; scale to [0,1] once at the end.
    const s = new Float64Array(channels);
    const s2 = new Float64Array(channels);
    for (let i = 0; i < pixels.length; i += channels) {
      for (let c = 0; c < channels; c++) {
        const v = pixels[i + c]!;
        s[c] += v;
        s2[c] += v * v;
      }
    }
    for (let c = 0; c < channels; c++) {
      sum[c] += s[c]!;
      sumSquares[c] += s2[c]!;
    }
  }
  const n = count * imageSize * imageSize;
  const mean: number[] = [];
  const std: number[] = [];
  for (let c = 0; c < channels; c++) {
    const m = sum[c]! / n / 255;
    const variance = Math.max(0, sumSquares[c]! / n / (255 * 255) - m * m);
    mean.push(m);
    // A constant channel would divide by zero; 1 leaves it merely centred.
    std.push(variance > 0 ? Math.sqrt(variance) : 1);
  }
  return { mean, std };
}
