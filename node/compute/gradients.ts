// Training steps on a compute host (WebGPU in Chromium or a hidden Electron window):
// the GradientComputer that sends the weights that changed and the batch, and gets the
// loss and gradients back. The Trainer here keeps the weights, AdamW, checkpoints and
// hooks, so every Trainer feature works unchanged; the host only differentiates.

import * as tf from '@tensorflow/tfjs-core';
import type { WireTensors } from '../../engine/compute/service.js';
import { networkSpec } from '../../engine/model/spec.js';
import type { Batch } from '../../engine/data/types.js';
import type { Network } from '../../engine/model/vit.js';
import type { GradientComputer, StepGradients, StepRequest } from '../../engine/train/gradients.js';
import { NetworkTeacher } from '../../engine/train/model-teacher.js';
import { CachedTeacher, resolveTeacherLogits } from '../../engine/train/teacher-cache.js';
import type { ComputeHost } from './host.js';

let sessions = 0;
/** Several job workers may share one host (the studio's window or page): their session names must not meet. */
const prefix = Math.random().toString(36).slice(2, 10);

export class ComputeHostGradients implements GradientComputer {
  private readonly session = `s${prefix}-${++sessions}`;
  private opened = false;
  private sent = new Map<string, object>();
  private hasTeacher = false;

  constructor(readonly host: ComputeHost, readonly network: Network) {
    if (!networkSpec(network)) throw new Error('compute host: this network kind cannot be rebuilt in the host');
  }

  get description(): string {
    const a = this.host.info.adapter;
    return `${this.host.info.backend}${a ? ` on ${[a.vendor, a.architecture].filter(Boolean).join(' ')}` : ''} (compute host)`;
  }

  /** The parameters whose values changed since they were last sent (all on the first call). */
  private changedWeights(): WireTensors {
    const out: WireTensors = {};
    for (const [name, v] of this.network.params) {
      if (this.sent.get(name) === v.dataId) continue;
      out[name] = { shape: v.shape.slice(), data: v.dataSync() as Float32Array };
      this.sent.set(name, v.dataId);
    }
    return out;
  }

  private async open(request: StepRequest): Promise<void> {
    const base = request.teacher instanceof CachedTeacher ? request.teacher.inner : request.teacher;
    const teacherSpec = base instanceof NetworkTeacher ? networkSpec(base.network) : null;
    let teacher = null;
    if (base instanceof NetworkTeacher && teacherSpec) {
      const weights: WireTensors = {};
      for (const [name, v] of base.network.params) weights[name] = { shape: v.shape.slice(), data: v.dataSync() as Float32Array };
      teacher = { spec: teacherSpec, weights, from: base.from, to: base.to };
      this.hasTeacher = true;
    }
    await this.host.call('open', { session: this.session, spec: networkSpec(this.network), weights: this.changedWeights(), trainable: [...request.trainable.keys()], teacher });
    this.opened = true;
  }

  async compute(request: StepRequest): Promise<StepGradients> {
    if (request.network !== this.network) throw new Error('compute host: one ComputeHostGradients per network');
    if (!this.opened) await this.open(request);
    const { batch } = request;
    const { teacherLogits, runTeacher } = await resolveTeacherLogits(request.teacher, batch, () => this.hasTeacher);
    const result = await this.host.call<{ losses: Record<string, number>; grads: WireTensors }>('gradients', {
      session: this.session,
      weights: this.changedWeights(),
      images: batch.images,
      labels: batch.labels,
      size: batch.size,
      dropPath: request.dropPath,
      teacherLogits,
      runTeacher,
      labelSmoothing: request.labelSmoothing,
      distill: request.distill,
    });
    const grads = new Map<string, tf.Tensor>();
    for (const [name, g] of Object.entries(result.grads)) grads.set(name, tf.tensor(g.data, g.shape));
    return { losses: result.losses, grads };
  }

  async logits(network: Network, batch: Batch): Promise<Float32Array> {
    if (network !== this.network || !this.opened) {
      const { channels, imageSize } = network.config;
      const { forward } = await import('../../engine/model/vit.js');
      const out = tf.tidy(() => forward(network, tf.tensor4d(batch.images, [batch.size, channels, imageSize, imageSize]), { training: false }));
      const values = (await out.data()) as Float32Array;
      out.dispose();
      return values;
    }
    return this.host.call<Float32Array>('logits', { session: this.session, weights: this.changedWeights(), images: batch.images, size: batch.size });
  }

  dispose(): void {
    if (this.opened) void this.host.call('close', { session: this.session }).catch(() => undefined);
    this.opened = false;
  }
}

/**
 * A ComputeHostGradients whose host is started on the first step and closed with the
 * strategy (Trainer.dispose): the default strategy of the 'webgpu' backend.
 */
export class LaunchedHostGradients implements GradientComputer {
  private inner: Promise<ComputeHostGradients> | null = null;
  private host: Promise<ComputeHost> | null = null;
  private current: ComputeHostGradients | null = null;

  constructor(readonly network: Network, private readonly launch: () => Promise<ComputeHost>) {}

  get description(): string {
    return this.current?.description ?? 'webgpu compute host (starting on the first step)';
  }

  private start(): Promise<ComputeHostGradients> {
    this.host ??= this.launch();
    this.inner ??= this.host.then((h) => (this.current = new ComputeHostGradients(h, this.network)));
    return this.inner;
  }

  async compute(request: StepRequest): Promise<StepGradients> {
    return (await this.start()).compute(request);
  }

  async logits(network: Network, batch: Batch): Promise<Float32Array> {
    return (await this.start()).logits(network, batch);
  }

  dispose(): void {
    this.current?.dispose();
    const host = this.host;
    this.host = null;
    this.inner = null;
    this.current = null;
    void host?.then((h) => h.close()).catch(() => undefined);
  }
}
