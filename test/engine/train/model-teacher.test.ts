// Our own model as a teacher: the student's batch is converted to the teacher's preprocess.

import { describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import type { ViTConfig } from '../../../shared/config.js';
import { convertImages, pixelFormatOf } from '../../../engine/data/convert.js';
import type { Preprocess } from '../../../engine/data/types.js';
import { createViT, disposeParams, forward } from '../../../engine/model/vit.js';
import { NetworkTeacher } from '../../../engine/train/model-teacher.js';
import { maxAbsDiff, useBackend } from '../../helpers/fixtures.js';

const config: ViTConfig = { imageSize: 16, channels: 3, patchSize: 4, dim: 16, depth: 1, heads: 2, mlpRatio: 2, qkvBias: true, pooling: 'cls', layerNormEps: 1e-6, gelu: 'exact', dropPath: 0, numClasses: 5 };
const teacherPreprocess: Preprocess = { imageSize: 16, channels: 3, mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225] };

describe('NetworkTeacher', () => {
  it('runs the student batch unchanged when preprocesses agree, converted otherwise', async () => {
    await useBackend('wasm');
    const net = createViT(config, 5);
    const same = new NetworkTeacher(net, teacherPreprocess, teacherPreprocess);
    const images = Float32Array.from({ length: 2 * 3 * 16 * 16 }, (_, i) => Math.sin(i * 0.7));
    const direct = tf.tidy(() => forward(net, tf.tensor4d(images, [2, 3, 16, 16]), { training: false }).dataSync());
    const fromSame = await same.logits({ images, labels: new Int32Array(2), size: 2 });
    expect(maxAbsDiff(fromSame.dataSync(), direct)).toBe(0);

    const student: Preprocess = { imageSize: 8, channels: 1, mean: [0.5], std: [0.5] };
    const gray = Float32Array.from({ length: 2 * 64 }, (_, i) => Math.cos(i * 0.3));
    const converted = convertImages(gray, 2, pixelFormatOf(student), pixelFormatOf(teacherPreprocess));
    const expected = tf.tidy(() => forward(net, tf.tensor4d(converted, [2, 3, 16, 16]), { training: false }).dataSync());
    const teacher = new NetworkTeacher(net, teacherPreprocess, student);
    expect(teacher.numClasses).toBe(5);
    const fromStudent = await teacher.logits({ images: gray, labels: new Int32Array(2), size: 2 });
    expect(fromStudent.shape).toEqual([2, 5]);
    expect(maxAbsDiff(fromStudent.dataSync(), expected)).toBe(0);
    tf.dispose([fromSame, fromStudent]);
    disposeParams(net.params);
  });
});
