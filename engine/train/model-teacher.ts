// One of our own models as a distillation teacher. The student's batch is converted to
// the teacher's preprocess (size, channels, normalization) first, with the same code the
// ONNX teacher uses, so a teacher trained at 224 px on ImageNet statistics can teach a
// 32 px grayscale student.

import * as tf from '@tensorflow/tfjs-core';
import type { Batch, Preprocess } from '../data/types.js';
import { convertImages, pixelFormatOf, type PixelFormat } from '../data/convert.js';
import { forward, type Network } from '../model/vit.js';
import type { Teacher } from './loop.js';

export class NetworkTeacher implements Teacher {
  /** The student's pixel format (what batches arrive in) and the teacher's. */
  readonly from: PixelFormat;
  readonly to: PixelFormat;

  constructor(
    readonly network: Network,
    teacherPreprocess: Preprocess,
    studentPreprocess: Preprocess,
  ) {
    this.from = pixelFormatOf(studentPreprocess);
    this.to = pixelFormatOf(teacherPreprocess);
  }

  get numClasses(): number {
    return this.network.config.numClasses;
  }

  async logits(batch: Batch): Promise<tf.Tensor2D> {
    const images = convertImages(batch.images, batch.size, this.from, this.to);
    const { channels, imageSize } = this.network.config;
    return tf.tidy(() => forward(this.network, tf.tensor4d(images, [batch.size, channels, imageSize, imageSize]), { training: false }));
  }
}
