// A network as plain data (config only), so another thread or page can rebuild the
// same Network around its own copy of the weights: data-parallel workers, the WebGPU
// compute page. Custom Network implementations have no spec and train locally.

import type { AuxNetConfig, ViTConfig } from '../../shared/config.js';
import { AuxNet } from '../sws/auxnet.js';
import { type Network, type Params, VisionTransformer } from './vit.js';

export type NetworkSpec = { kind: 'vit'; config: ViTConfig } | { kind: 'aux'; aux: AuxNetConfig };

/** The spec of one of our networks, or null for a Network this module does not know. */
export function networkSpec(network: Network): NetworkSpec | null {
  if (network instanceof AuxNet) return { kind: 'aux', aux: structuredClone(network.aux) };
  if (network instanceof VisionTransformer) return { kind: 'vit', config: structuredClone(network.config) };
  return null;
}

/** The network a spec describes, reading `params` (which must hold every parameter it needs). */
export function networkFromSpec(spec: NetworkSpec, params: Params): Network {
  return spec.kind === 'aux' ? new AuxNet(spec.aux, params) : new VisionTransformer(spec.config, params);
}
