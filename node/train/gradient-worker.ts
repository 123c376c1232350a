// One data-parallel worker: its own tfjs wasm instance and a replica of the network.
// Per step it reloads the weights from shared memory when they changed, differentiates
// the loss of its slice of the batch (engine lossAndGradients, the same code the local
// strategy runs), and writes the gradients into its shared gradient buffer.

import { parentPort, workerData } from 'node:worker_threads';
import '../../engine/tf-env.js';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-wasm';
import '../../engine/gradients.js';
import { copyTensorInto, wasmKernelsActive } from '../../engine/kernels/wasm-kernels.js';
import { networkFromSpec } from '../../engine/model/spec.js';
import { forward, type Network, type Params } from '../../engine/model/vit.js';
import { convertImages, type PixelFormat } from '../../engine/data/convert.js';
import { lossAndGradients } from '../../engine/train/gradients.js';
import type { FromWorker, TensorLayout, ToWorker, WorkerInit } from './worker-protocol.js';

const port = parentPort!;
const init = workerData as WorkerInit;

function post(message: FromWorker, transfer: ArrayBuffer[] = []): void {
  port.postMessage(message, transfer);
}

function paramsFrom(layout: TensorLayout, buffer: SharedArrayBuffer): Params {
  const all = new Float32Array(buffer);
  const params: Params = new Map();
  for (const e of layout.entries) params.set(e.name, tf.variable(tf.tensor(all.subarray(e.offset, e.offset + e.size), e.shape), true));
  return params;
}

async function main(): Promise<void> {
  if (!(await tf.setBackend('wasm'))) throw new Error('the wasm backend did not initialize in a gradient worker');
  await tf.ready();
  const params = paramsFrom(init.paramLayout, init.params);
  const network = networkFromSpec(init.spec, params);
  const trainable = new Map(init.gradLayout.entries.map((e) => [e.name, params.get(e.name)!] as const));
  const paramView = new Float32Array(init.params);
  const gradView = new Float32Array(init.grads);
  let teacher: { network: Network; from: PixelFormat; to: PixelFormat } | null = null;
  if (init.teacher) {
    teacher = { network: networkFromSpec(init.teacher.spec, paramsFrom(init.teacher.layout, init.teacher.weights)), from: init.teacher.from, to: init.teacher.to };
  }
  let version = -1;
  const reload = (next: number) => {
    if (next === version) return;
    // In a tidy: Variable.assign keeps a reference to the new value's data, so the
    // temporary tensor must be disposed or every reload leaks a copy of the weights.
    tf.tidy(() => {
      for (const e of init.paramLayout.entries) {
        params.get(e.name)!.assign(tf.tensor(paramView.subarray(e.offset, e.offset + e.size), e.shape));
      }
    });
    version = next;
  };
  const teacherLogits = (images: Float32Array, size: number): Float32Array => {
    const t = teacher!;
    const converted = convertImages(images, size, t.from, t.to);
    const { channels, imageSize } = t.network.config;
    return tf.tidy(() => forward(t.network, tf.tensor4d(converted, [size, channels, imageSize, imageSize]), { training: false }).dataSync() as Float32Array);
  };

  port.on('message', (message: ToWorker) => {
    try {
      if (message.type === 'logits') {
        reload(message.version);
        const { channels, imageSize } = network.config;
        const values = tf.tidy(() => forward(network, tf.tensor4d(message.images, [message.size, channels, imageSize, imageSize]), { training: false }).dataSync() as Float32Array);
        post({ type: 'logits', id: message.id, values }, [values.buffer as ArrayBuffer]);
        return;
      }
      reload(message.version);
      const batch = { images: message.images, labels: message.labels, size: message.size };
      const computedTeacher = message.runTeacher ? teacherLogits(message.images, message.size) : null;
      const logitValues = message.teacherLogits ?? computedTeacher;
      const teacherTensor = logitValues ? tf.tensor2d(logitValues, [message.size, logitValues.length / message.size]) : null;
      // lossAndGradients is async only for reading values back; on wasm it completes synchronously in effect.
      void lossAndGradients({
        network,
        trainable,
        batch,
        dropPath: message.dropPath,
        teacherLogits: teacherTensor,
        labelSmoothing: message.labelSmoothing,
        distill: message.distill,
      }).then(
        ({ losses, grads }) => {
          teacherTensor?.dispose();
          for (const e of init.gradLayout.entries) {
            const g = grads.get(e.name);
            if (g) copyTensorInto(g, gradView, e.offset);
            else gradView.fill(0, e.offset, e.offset + e.size);
          }
          tf.dispose([...grads.values()]);
          post({ type: 'step', id: message.id, losses, teacherLogits: computedTeacher });
        },
        (error: unknown) => {
          teacherTensor?.dispose();
          post({ type: 'error', id: message.id, message: (error as Error).message ?? String(error), stack: (error as Error).stack });
        },
      );
    } catch (error) {
      post({ type: 'error', id: message.id, message: (error as Error).message ?? String(error), stack: (error as Error).stack });
    }
  });
  post({ type: 'ready', backend: tf.getBackend(), detail: wasmKernelsActive() ? 'wasm + SIMD kernels' : 'wasm' });
}

main().catch((error: unknown) => {
  post({ type: 'error', id: null, message: `gradient worker failed to start: ${(error as Error).message ?? String(error)}`, stack: (error as Error).stack });
});
