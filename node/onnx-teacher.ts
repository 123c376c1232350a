// ONNX image classifiers (CNN, hybrid, ViT — anything with one image input and logits
// out) run through onnxruntime-node: as a distillation teacher (the engine `Teacher`
// interface), for `predict`, and described for `inspect`. The input's layout (NCHW or
// NHWC), size and channels are read from the model; the student's batch is converted to
// them (engine/data/convert.ts) with a configurable normalization.

import { promises as fs } from 'node:fs';
import * as tf from '@tensorflow/tfjs-core';
import * as ort from 'onnxruntime-node';
import onnxProto from 'onnx-proto';
import {
  convertImages,
  type Layout,
  type NormalizationSpec,
  type PixelFormat,
  pixelFormatOf,
  resolveNormalization,
} from '../engine/data/convert.js';
import type { Batch, Preprocess } from '../engine/data/types.js';
import { FormatError } from '../engine/io/errors.js';
import type { Teacher } from '../engine/train/loop.js';
import { decodeOnnx } from './export/onnx.js';
import { sha256 } from './model-store.js';
import { inferenceSessionOptions } from './train/onnx-runtime.js';

/** Prefix of the metadata_props our ONNX export writes (see node/export/index.ts). */
export const ONNX_METADATA_PREFIX = 'learngene.';

export interface OnnxValueInfo {
  name: string;
  /** e.g. "float32"; "unknown" for non-tensor values. */
  type: string;
  /** Sizes, or names of symbolic dimensions (e.g. "batch"). */
  shape: (number | string)[];
}

export interface OnnxDescription {
  path: string;
  sha256: string;
  bytes: number;
  irVersion: number;
  /** Version of the default ("ai.onnx") opset; null if absent. */
  opset: number | null;
  opsets: { domain: string; version: number }[];
  producer: { name: string; version: string };
  graphName: string;
  inputs: OnnxValueInfo[];
  outputs: OnnxValueInfo[];
  /** Classes from the first output's last dimension when it is fixed. */
  numClasses: number | null;
  /** metadata_props as written (our exports: learngene.config, .preprocess, .classNames, .provenance). */
  metadata: Record<string, string>;
  /** Node count by op type. */
  ops: Record<string, number>;
}

const ELEM_TYPES: Record<number, string> = {
  1: 'float32', 2: 'uint8', 3: 'int8', 4: 'uint16', 5: 'int16', 6: 'int32', 7: 'int64', 8: 'string',
  9: 'bool', 10: 'float16', 11: 'float64', 12: 'uint32', 13: 'uint64', 16: 'bfloat16',
};

function toNumber(value: unknown): number {
  return typeof value === 'number' ? value : Number(String(value));
}

function valueInfoOf(info: onnxProto.onnx.IValueInfoProto): OnnxValueInfo {
  const tensor = info.type?.tensorType;
  return {
    name: info.name ?? '',
    type: tensor ? (ELEM_TYPES[tensor.elemType ?? 0] ?? `elem_type ${tensor.elemType}`) : 'unknown',
    shape: (tensor?.shape?.dim ?? []).map((d) => (d.dimParam ? d.dimParam : d.dimValue != null ? toNumber(d.dimValue) : '?')),
  };
}

/** Reads an ONNX file's header facts with the ONNX protobuf schema (no session needed). */
export async function describeOnnx(path: string): Promise<OnnxDescription> {
  return describeOnnxBytes(new Uint8Array(await fs.readFile(path)), path);
}

/** describeOnnx of a model held in memory (`path`: what messages call it). */
export function describeOnnxBytes(bytes: Uint8Array, path: string): OnnxDescription {
  let model: onnxProto.onnx.ModelProto;
  try {
    model = decodeOnnx(bytes);
  } catch (error) {
    throw new FormatError(path, `is not an ONNX model (${(error as Error).message})`);
  }
  const graph = model.graph;
  if (!graph) throw new FormatError(path, 'is an ONNX file without a graph');
  // Before IR 4 initializers were also listed as inputs; they are not inputs to feed.
  const initializers = new Set((graph.initializer ?? []).map((t) => t.name));
  const inputs = (graph.input ?? []).filter((i) => !initializers.has(i.name ?? '')).map(valueInfoOf);
  const outputs = (graph.output ?? []).map(valueInfoOf);
  const opsets = (model.opsetImport ?? []).map((o) => ({ domain: o.domain ?? '', version: toNumber(o.version) }));
  const defaultOpset = opsets.find((o) => o.domain === '' || o.domain === 'ai.onnx');
  const last = outputs[0]?.shape[outputs[0].shape.length - 1];
  const ops: Record<string, number> = {};
  for (const node of graph.node ?? []) ops[node.opType ?? '?'] = (ops[node.opType ?? '?'] ?? 0) + 1;
  return {
    path,
    sha256: sha256(bytes),
    bytes: bytes.byteLength,
    irVersion: toNumber(model.irVersion),
    opset: defaultOpset ? defaultOpset.version : null,
    opsets,
    producer: { name: model.producerName ?? '', version: model.producerVersion ?? '' },
    graphName: graph.name ?? '',
    inputs,
    outputs,
    numClasses: typeof last === 'number' && last > 0 ? last : null,
    metadata: Object.fromEntries((model.metadataProps ?? []).map((p) => [p.key ?? '', p.value ?? ''])),
    ops,
  };
}

// ---------------------------------------------------------------------------------------

export interface OnnxModelOptions {
  /**
   * The normalization the model expects of [0,1] pixels. Default: the preprocess recorded
   * by our own export, else ImageNet mean/std for 3 channels and 0.5/0.5 otherwise.
   */
  normalization?: NormalizationSpec;
  /** Overrides the layout guessed from the input shape (needed when it is ambiguous). */
  layout?: Layout;
  /** Height = width to feed when the model's spatial dimensions are dynamic. */
  imageSize?: number;
  /** Used for dynamic spatial dimensions when neither `imageSize` nor our export's metadata gives a size. */
  fallbackImageSize?: number;
  /** Channels to feed when the model's channel dimension is dynamic (default 3). */
  channels?: number;
  inputName?: string;
  outputName?: string;
  /** onnxruntime intra-op threads (default: onnxruntime's choice). */
  threads?: number;
}

/** What the model's image input looks like after resolving dynamic dimensions. */
export interface OnnxInputSpec {
  name: string;
  layout: Layout;
  /** A fixed batch size, or null when the batch dimension is dynamic. */
  batch: number | null;
  channels: number;
  height: number;
  width: number;
  /** The declared shape, symbolic dimensions as strings. */
  declared: (number | string)[];
}

const isChannelCount = (d: number | string | undefined) => d === 1 || d === 3;
const fixed = (d: number | string | undefined): d is number => typeof d === 'number' && d > 0;

/** Layout and sizes of a rank-4 image input; layout from where the 1/3-channel axis is. */
export function resolveInputSpec(name: string, declared: (number | string)[], options: OnnxModelOptions, source: string): OnnxInputSpec {
  if (declared.length !== 4) {
    throw new FormatError(source, `input "${name}" has shape [${declared.join(', ')}]; an image classifier takes a rank-4 batch (NCHW or NHWC)`);
  }
  let layout = options.layout;
  if (!layout) {
    const nchw = isChannelCount(declared[1]);
    const nhwc = isChannelCount(declared[3]);
    if (nchw && !nhwc) layout = 'NCHW';
    else if (nhwc && !nchw) layout = 'NHWC';
    else if (!nchw && !nhwc && (fixed(declared[1]) || fixed(declared[3]))) {
      throw new FormatError(source, `input "${name}" has shape [${declared.join(', ')}]: neither axis 1 nor axis 3 holds 1 or 3 channels; only grayscale and RGB inputs are supported`);
    } else layout = 'NCHW'; // fully dynamic (or both 1/3): PyTorch exports are NCHW
  }
  const [c, h, w] = layout === 'NCHW' ? [declared[1], declared[2], declared[3]] : [declared[3], declared[1], declared[2]];
  const channels = fixed(c) ? c : options.channels ?? 3;
  if (channels !== 1 && channels !== 3) throw new FormatError(source, `input "${name}" wants ${channels} channels; only 1 (grayscale) and 3 (RGB) are supported`);
  const size = (d: number | string | undefined, what: string): number => {
    if (fixed(d)) return d;
    if (options.imageSize) return options.imageSize;
    throw new FormatError(source, `input "${name}" has a dynamic ${what} ([${declared.join(', ')}]); give the image size to feed`);
  };
  return { name, layout, batch: fixed(declared[0]) ? declared[0] : null, channels, height: size(h, 'height'), width: size(w, 'width'), declared };
}

function parseJsonRecord<T>(metadata: Record<string, string>, key: string): T | undefined {
  const text = metadata[ONNX_METADATA_PREFIX + key];
  if (text === undefined) return undefined;
  try {
    return JSON.parse(text) as T;
  } catch {
    return undefined;
  }
}

/** An ONNX image classifier in onnxruntime-node. */
export class OnnxClassifier {
  private constructor(
    private readonly session: ort.InferenceSession,
    readonly description: OnnxDescription,
    readonly input: OnnxInputSpec,
    readonly outputName: string,
    /** The pixels the model is fed: its size, channels, layout and normalization. */
    readonly format: PixelFormat,
    readonly numClasses: number,
    readonly classNames: string[],
    /** The preprocess recorded by our own ONNX export, if this is one. */
    readonly recordedPreprocess: Preprocess | undefined,
  ) {}

  /** Loads an ONNX file, or a model held in memory (`{ bytes, path }`, e.g. our inference graph of a model). */
  static async load(source: string | { bytes: Uint8Array; path: string }, options: OnnxModelOptions = {}): Promise<OnnxClassifier> {
    const path = typeof source === 'string' ? source : source.path;
    const description = typeof source === 'string' ? await describeOnnx(source) : describeOnnxBytes(source.bytes, source.path);
    let session: ort.InferenceSession;
    try {
      const sessionOptions = { ...inferenceSessionOptions(), ...(options.threads ? { intraOpNumThreads: options.threads } : {}) };
      session = typeof source === 'string' ? await ort.InferenceSession.create(source, sessionOptions) : await ort.InferenceSession.create(source.bytes, sessionOptions);
    } catch (error) {
      throw new FormatError(path, `onnxruntime could not load it: ${(error as Error).message}`);
    }
    try {
      const inputName = options.inputName ?? session.inputNames[0];
      const meta = session.inputMetadata.find((m) => m.name === inputName);
      if (!inputName || !meta) throw new FormatError(path, `has no input ${JSON.stringify(options.inputName)} (inputs: ${session.inputNames.join(', ')})`);
      if (session.inputNames.length > 1 && !options.inputName) {
        throw new FormatError(path, `has ${session.inputNames.length} inputs (${session.inputNames.join(', ')}); an image classifier takes one image input`);
      }
      if (!meta.isTensor || meta.type !== 'float32') {
        throw new FormatError(path, `input "${inputName}" is ${meta.isTensor ? meta.type : 'not a tensor'}; only float32 image inputs are supported`);
      }
      const recordedPreprocess = parseJsonRecord<Preprocess>(description.metadata, 'preprocess');
      const spec = resolveInputSpec(inputName, meta.shape as (number | string)[], { ...options, imageSize: options.imageSize ?? recordedPreprocess?.imageSize ?? options.fallbackImageSize }, path);
      const outputName = options.outputName ?? session.outputNames[0]!;
      if (!session.outputNames.includes(outputName)) throw new FormatError(path, `has no output "${outputName}" (outputs: ${session.outputNames.join(', ')})`);
      const normalization = options.normalization
        ?? (recordedPreprocess && recordedPreprocess.channels === spec.channels ? { mean: recordedPreprocess.mean, std: recordedPreprocess.std } : undefined)
        ?? (spec.channels === 3 ? 'imagenet' : { mean: [0.5], std: [0.5] });
      const format: PixelFormat = { height: spec.height, width: spec.width, channels: spec.channels, layout: spec.layout, ...resolveNormalization(normalization, spec.channels) };
      const declaredOut = description.outputs.find((o) => o.name === outputName)?.shape ?? [];
      const last = declaredOut[declaredOut.length - 1];
      let numClasses = typeof last === 'number' && last > 0 ? last : 0;
      const partial = new OnnxClassifier(session, description, spec, outputName, format, numClasses, [], recordedPreprocess);
      if (numClasses === 0) {
        // Dynamic class dimension: one forward on a blank image tells it.
        const probe = await partial.runRaw(new Float32Array(spec.channels * spec.height * spec.width), 1);
        numClasses = probe.length;
      }
      const recordedNames = parseJsonRecord<string[]>(description.metadata, 'classNames');
      const classNames = recordedNames?.length === numClasses ? recordedNames : Array.from({ length: numClasses }, (_, i) => String(i));
      return new OnnxClassifier(session, description, spec, outputName, format, numClasses, classNames, recordedPreprocess);
    } catch (error) {
      await session.release();
      throw error;
    }
  }

  /**
   * The model's input as one of our preprocesses (NCHW, square), for loading images for
   * `predict`; null when the input is not square.
   */
  get preprocess(): Preprocess | null {
    const f = this.format;
    return f.height === f.width ? { imageSize: f.height, channels: f.channels, mean: [...f.mean], std: [...f.std] } : null;
  }

  /** Runs images already in `format` (count × format-sized); returns logits [count, K] flattened. */
  private async runRaw(images: Float32Array, count: number): Promise<Float32Array> {
    const { input } = this;
    const perImage = input.channels * input.height * input.width;
    const dims = input.layout === 'NCHW' ? [input.channels, input.height, input.width] : [input.height, input.width, input.channels];
    // A model exported with a fixed batch is fed in chunks of that size (the last one zero-padded).
    const chunk = input.batch ?? count;
    const outputs: Float32Array[] = [];
    let perOutput = 0;
    for (let start = 0; start < count; start += chunk) {
      const n = Math.min(chunk, count - start);
      let data = images.subarray(start * perImage, (start + n) * perImage);
      if (n < chunk) {
        const padded = new Float32Array(chunk * perImage);
        padded.set(data);
        data = padded;
      }
      const feeds = { [input.name]: new ort.Tensor('float32', data, [chunk, ...dims]) };
      const result = await this.session.run(feeds, [this.outputName]);
      const out = result[this.outputName]!;
      if (out.type !== 'float32') throw new FormatError(this.description.path, `output "${this.outputName}" is ${out.type}; expected float32 logits`);
      perOutput = out.dims.slice(1).reduce((a, b) => a * b, 1);
      if (out.dims[0] !== chunk) throw new FormatError(this.description.path, `output "${this.outputName}" has shape [${out.dims.join(', ')}] for a batch of ${chunk}; expected [batch, classes]`);
      outputs.push((out.data as Float32Array).slice(0, n * perOutput));
      out.dispose();
    }
    if (count > 0 && this.numClasses > 0 && perOutput !== this.numClasses) {
      throw new FormatError(this.description.path, `output "${this.outputName}" gives ${perOutput} values per image; expected ${this.numClasses} logits`);
    }
    const all = new Float32Array(count * perOutput);
    let offset = 0;
    for (const o of outputs) {
      all.set(o, offset);
      offset += o.length;
    }
    return all;
  }

  /** Logits [count, K] (flattened) for images in this model's own pixel format. */
  async run(images: Float32Array, count: number): Promise<Float32Array> {
    return this.runRaw(images, count);
  }

  /** Logits for images in another pixel format (e.g. a student's preprocess), converted first. */
  async predict(images: Float32Array, count: number, from: PixelFormat | Preprocess): Promise<Float32Array> {
    const source = 'layout' in from ? from : pixelFormatOf(from);
    return this.runRaw(convertImages(images, count, source, this.format), count);
  }

  private released: Promise<void> | null = null;

  /** Releases the session; later calls are no-ops (the distill job's teacher and its opener both dispose it). */
  dispose(): Promise<void> {
    this.released ??= this.session.release();
    return this.released;
  }
}

/** An ONNX classifier as the engine's distillation teacher for a student with `studentPreprocess`. */
export class OnnxTeacher implements Teacher {
  private readonly from: PixelFormat;

  constructor(readonly classifier: OnnxClassifier, studentPreprocess: Preprocess) {
    this.from = pixelFormatOf(studentPreprocess);
  }

  /** Loads a model; dynamic spatial dimensions default to the student's image size. */
  static async load(path: string, studentPreprocess: Preprocess, options: OnnxModelOptions = {}): Promise<OnnxTeacher> {
    const classifier = await OnnxClassifier.load(path, { fallbackImageSize: studentPreprocess.imageSize, ...options });
    return new OnnxTeacher(classifier, studentPreprocess);
  }

  get numClasses(): number {
    return this.classifier.numClasses;
  }

  async logits(batch: Batch): Promise<tf.Tensor2D> {
    const values = await this.classifier.predict(batch.images, batch.size, this.from);
    return tf.tensor2d(values, [batch.size, this.numClasses]);
  }

  async dispose(): Promise<void> {
    await this.classifier.dispose();
  }
}
