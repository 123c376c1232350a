// Teachers behind one interface ("images → logits"): a model of ours (trained here or
// imported from timm / Hugging Face / torchvision) runs in tfjs; an ONNX classifier runs
// in onnxruntime-node.

import * as tf from '@tensorflow/tfjs-core';
import type { Batch, Preprocess } from '../../engine/data/types.js';
import { forward, type Network } from '../../engine/model/vit.js';
import type { Teacher } from '../../engine/train/loop.js';
import type { ModelMeta } from '../../engine/io/model-file.js';

/** Runs one of our ViTs in inference mode on the student's batch. */
export class NetworkTeacher implements Teacher {
  readonly numClasses: number;
  constructor(readonly network: Network, readonly preprocess: Preprocess) {
    this.numClasses = network.config.numClasses;
  }

  async logits(batch: Batch): Promise<tf.Tensor2D> {
    const { channels, imageSize } = this.network.config;
    return tf.tidy(() => forward(this.network, tf.tensor4d(batch.images, [batch.size, channels, imageSize, imageSize]), { training: false }));
  }
}

export interface LoadedTeacher {
  teacher: Teacher;
  /** The teacher as one of our models, when it is one (teacher-copy needs its blocks). */
  model: { network: Network; meta: ModelMeta } | null;
  /** The preprocessing the teacher was trained with, when known. */
  preprocess: Preprocess | null;
  classNames: string[] | null;
  fingerprint: { path: string; sha256?: string; format: string };
  dispose(): void;
}

/** Loads a teacher from a model folder/file of ours. (Foreign checkpoints and ONNX: see loadTeacherAny.) */
export async function loadTeacher(teacherPath: string): Promise<LoadedTeacher> {
  const { loadModel } = await import('../model-store.js');
  const loaded = await loadModel(teacherPath);
  return {
    teacher: new NetworkTeacher(loaded.network, loaded.meta.preprocess),
    model: { network: loaded.network, meta: loaded.meta },
    preprocess: loaded.meta.preprocess,
    classNames: loaded.meta.classNames,
    fingerprint: { path: loaded.file, sha256: loaded.sha256, format: 'learngene-model' },
    dispose: () => {
      for (const v of loaded.network.params.values()) v.dispose();
    },
  };
}
