// One of our ViTs as a distillation teacher, run by onnxruntime-node instead of tfjs: the
// network is exported to ONNX in memory (the same graph `learngene export` writes) and
// its session uses every core (on the active backend's execution provider). For a frozen teacher that is ~3× faster than our wasm
// forward pass (bench/results), and it frees the training workers from the teacher.
// Falls back to the tfjs teacher when onnxruntime or the export is unavailable.

import * as tf from '@tensorflow/tfjs-core';
import { convertImages } from '../../engine/data/convert.js';
import type { Batch } from '../../engine/data/types.js';
import { buildInferenceGraph } from '../../engine/export/graph.js';
import { toStorageLayout } from '../../engine/model/params.js';
import { networkSpec } from '../../engine/model/spec.js';
import { tensorsFromParams } from '../../engine/model/vit.js';
import type { Teacher } from '../../engine/train/loop.js';
import { NetworkTeacher } from '../../engine/train/model-teacher.js';
import { CachedTeacher } from '../../engine/train/teacher-cache.js';
import { inferenceSessionOptions } from './onnx-runtime.js';

type OrtModule = typeof import('onnxruntime-node');
type Session = Awaited<ReturnType<OrtModule['InferenceSession']['create']>>;

export class OnnxNetworkTeacher implements Teacher {
  private constructor(
    private readonly ort: OrtModule,
    private readonly session: Session,
    readonly source: NetworkTeacher,
  ) {}

  /** An onnxruntime session for a plain-ViT NetworkTeacher; throws when it cannot be built. */
  static async create(teacher: NetworkTeacher, options: { threads?: number } = {}): Promise<OnnxNetworkTeacher> {
    const spec = networkSpec(teacher.network);
    if (spec?.kind !== 'vit') throw new Error('only a plain ViT teacher can be exported to ONNX');
    const ort = await import('onnxruntime-node');
    const { encodeOnnx } = await import('../export/onnx.js');
    const config = teacher.network.config;
    const bytes = encodeOnnx(buildInferenceGraph(config, toStorageLayout(tensorsFromParams(teacher.network.params), config)));
    const session = await ort.InferenceSession.create(bytes, { ...inferenceSessionOptions(), ...(options.threads ? { intraOpNumThreads: options.threads } : {}) });
    return new OnnxNetworkTeacher(ort, session, teacher);
  }

  get numClasses(): number {
    return this.source.numClasses;
  }

  async logits(batch: Batch): Promise<tf.Tensor2D> {
    const { channels, imageSize } = this.source.network.config;
    const images = convertImages(batch.images, batch.size, this.source.from, this.source.to);
    const input = new this.ort.Tensor('float32', images, [batch.size, channels, imageSize, imageSize]);
    const out = await this.session.run({ [this.session.inputNames[0]!]: input });
    const logits = out[this.session.outputNames[0]!]!;
    const values = (logits.data as Float32Array).slice();
    logits.dispose?.();
    return tf.tensor2d(values, [batch.size, this.numClasses]);
  }

  async dispose(): Promise<void> {
    await this.session.release();
  }
}

/**
 * The fastest way to run a teacher here: our plain ViTs in onnxruntime (inside a
 * CachedTeacher too), anything else as given. `log` hears why onnxruntime was not used.
 */
export async function fastTeacher(teacher: Teacher, log: (message: string) => void = () => undefined): Promise<Teacher> {
  const inner = teacher instanceof CachedTeacher ? teacher.inner : teacher;
  if (!(inner instanceof NetworkTeacher) || networkSpec(inner.network)?.kind !== 'vit') return teacher;
  try {
    const onnx = await OnnxNetworkTeacher.create(inner);
    return teacher instanceof CachedTeacher ? new CachedTeacher(onnx) : onnx;
  } catch (error) {
    log(`teacher stays in tfjs (onnxruntime unavailable: ${(error as Error).message})`);
    return teacher;
  }
}
