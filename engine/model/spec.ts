// A network as plain data (config only): what the ONNX training graph builder
// (engine/onnx/) needs to describe the same network the tfjs engine runs. Custom Network
// implementations have no spec and train on the tfjs executor.

import type { AuxNetConfig, ViTConfig } from '../../shared/config.js';
import { AuxNet } from '../sws/auxnet.js';
import { type Network, VisionTransformer } from './vit.js';

export type NetworkSpec = { kind: 'vit'; config: ViTConfig } | { kind: 'aux'; aux: AuxNetConfig };

/** The spec of one of our networks, or null for a Network this module does not know. */
export function networkSpec(network: Network): NetworkSpec | null {
  if (network instanceof AuxNet) return { kind: 'aux', aux: structuredClone(network.aux) };
  if (network instanceof VisionTransformer) return { kind: 'vit', config: structuredClone(network.config) };
  return null;
}
