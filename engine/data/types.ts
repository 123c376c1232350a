// What the training loop needs from a dataset. Sources (IDX files, CIFAR binaries,
// image folders, an uploaded archive in a page) live outside the engine core and
// implement `ImageSource`; the engine turns them into normalized float batches.

/** A labelled image collection with random access to pixels. */
export interface ImageSource {
  /** Where it came from (a path, a file name), for messages. */
  readonly name: string;
  readonly classNames: readonly string[];
  /** One label per image, in 0..classNames.length-1. */
  readonly labels: Int32Array;
  /** Channels the images are stored with: 1 (grayscale) or 3 (RGB). */
  readonly channels: number;
  /** The stored size when every image shares it (IDX, CIFAR); null for folders. */
  readonly storedSize: { height: number; width: number } | null;
  /**
   * Reads the images at `indices` as uint8, NHWC, resized to height × width and
   * converted to `channels` (1 or 3). Errors name the offending file.
   */
  read(indices: ArrayLike<number>, height: number, width: number, channels: number): Promise<Uint8Array>;
}

/** A dataset as found on disk: a training source and, when it ships one, a test source. */
export interface Dataset {
  /** e.g. "idx", "cifar10", "cifar100", "folder". */
  readonly format: string;
  readonly root: string;
  readonly train: ImageSource;
  readonly test: ImageSource | null;
}

/** How images become model input. Stored with every model so evaluation matches training. */
export interface Preprocess {
  imageSize: number;
  channels: number;
  /** Per-channel mean and std of [0,1]-scaled pixels. */
  mean: number[];
  std: number[];
}

/** One batch ready for the model: NCHW float32 and integer labels. */
export interface Batch {
  images: Float32Array;
  labels: Int32Array;
  size: number;
  /** Dataset indices of the images, when known (keys of the teacher-logit cache). */
  indices?: Int32Array;
  /** True when random augmentation changed the images (their teacher logits are not reusable). */
  augmented?: boolean;
}
