// The auxiliary network (Aux-Net) whose few parameter sets become the learngene.
//  - SWS: stage s owns ONE block `stages.{s}.*`; all its layers read those variables, so
//    autodiff adds every layer's gradient onto the shared block.
//  - TLEG: one pair of parameter sets; layer l of L computes θA + (l/L)·θB
//    (`theta_a.*`, `theta_b.*`), as the TLEG reference's weight_base / weight_ilayer.
// Everything outside the blocks (patch/position embedding, final norm, head) is a normal
// ViT stem and runs through the same forward.

import * as tf from '@tensorflow/tfjs-core';
import { type AuxNetConfig, assertValid, validateAuxNetConfig } from '../../shared/config.js';
import {
  blockAt,
  blockParamShapes,
  type BlockParams,
  initParams,
  type Network,
  type Params,
  stemParamShapes,
} from '../model/vit.js';
import { stageOfLayer } from './layers-source.js';

export const TLEG_A = 'theta_a.';
export const TLEG_B = 'theta_b.';

export function stagePrefix(stage: number): string {
  return `stages.${stage}.`;
}

/** Every Aux-Net parameter with its memory-layout shape. */
export function auxParamShapes(config: AuxNetConfig): Map<string, number[]> {
  const shapes = stemParamShapes(config.vit);
  const block = blockParamShapes(config.vit);
  const prefixes = config.kind === 'sws' ? config.stages.map((_, s) => stagePrefix(s)) : [TLEG_A, TLEG_B];
  for (const prefix of prefixes) {
    for (const [name, shape] of block) shapes.set(prefix + name, shape);
  }
  return shapes;
}

/** θA + (l/L)·θB for one block. */
export function linearExpansionBlock(params: Params, layer: number, depth: number, qkvBias: boolean): BlockParams {
  const a = blockAt(params, TLEG_A, qkvBias);
  const b = blockAt(params, TLEG_B, qkvBias);
  const ratio = layer / depth;
  const mix = <T extends tf.Tensor>(x: T, y: T): T => tf.add(x, tf.mul(y, ratio)) as T;
  const pair = <K extends keyof BlockParams>(key: K): BlockParams[K] => {
    const pa = a[key] as { weight: tf.Tensor; bias?: tf.Tensor };
    const pb = b[key] as { weight: tf.Tensor; bias?: tf.Tensor };
    return {
      weight: mix(pa.weight, pb.weight),
      ...(pa.bias && pb.bias ? { bias: mix(pa.bias, pb.bias) } : {}),
    } as BlockParams[K];
  };
  return {
    norm1: pair('norm1'),
    q: pair('q'),
    k: pair('k'),
    v: pair('v'),
    proj: pair('proj'),
    norm2: pair('norm2'),
    fc1: pair('fc1'),
    fc2: pair('fc2'),
  };
}

export class AuxNet implements Network {
  readonly config;
  private readonly layerStage: number[];

  constructor(readonly aux: AuxNetConfig, readonly params: Params) {
    assertValid(validateAuxNetConfig(aux));
    this.config = aux.vit;
    this.layerStage = stageOfLayer(aux.stages);
  }

  blockForLayer(layer: number): BlockParams {
    if (this.aux.kind === 'tleg') return linearExpansionBlock(this.params, layer, this.config.depth, this.config.qkvBias);
    return blockAt(this.params, stagePrefix(this.layerStage[layer]!), this.config.qkvBias);
  }
}

/**
 * A fresh Aux-Net. TLEG's θB starts at zero for norms and biases and trunc_normal(0.02)
 * for matrices, as the TLEG reference initializes weight_ilayer / bias_ilayer.
 */
export function createAuxNet(aux: AuxNetConfig, seed: number): AuxNet {
  assertValid(validateAuxNetConfig(aux));
  const params = initParams(auxParamShapes(aux), seed, aux.vit);
  if (aux.kind === 'tleg') {
    for (const [name, variable] of params) {
      if (name.startsWith(TLEG_B) && variable.shape.length === 1) variable.assign(tf.zerosLike(variable));
    }
  }
  return new AuxNet(aux, params);
}
