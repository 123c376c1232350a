// Parameter counts as pure arithmetic on a ViTConfig: what the Stages step of the studio
// shows (teacher vs learngene vs descendants) before anything is trained. Matches the
// shapes of engine/model/vit.ts (tested against vitParamShapes) without importing tfjs.

import { type AuxKind, type ViTConfig, attnDim, mlpHidden, numTokens } from './config.js';

/** One transformer block: norm1, qkv, proj, norm2, fc1, fc2. */
export function blockParamCount(config: Pick<ViTConfig, 'dim' | 'heads' | 'headDim' | 'mlpRatio' | 'qkvBias'>): number {
  const d = config.dim;
  const a = attnDim(config);
  const h = mlpHidden(config);
  const norms = 2 * (2 * d);
  const qkv = 3 * d * a + (config.qkvBias ? 3 * a : 0);
  const proj = a * d + d;
  const mlp = d * h + h + h * d + d;
  return norms + qkv + proj + mlp;
}

/** Everything outside the blocks except the head: patch embedding, position embedding, class token, final norm. */
export function stemParamCount(config: ViTConfig): number {
  const d = config.dim;
  const patch = config.channels * config.patchSize * config.patchSize * d + d;
  const pos = numTokens(config) * d;
  const cls = config.pooling === 'cls' ? d : 0;
  return patch + pos + cls + 2 * d;
}

export function headParamCount(config: Pick<ViTConfig, 'dim' | 'numClasses'>): number {
  return config.dim * config.numClasses + config.numClasses;
}

/** A plain ViT of config.depth layers. */
export function vitParamCount(config: ViTConfig): number {
  return stemParamCount(config) + config.depth * blockParamCount(config) + headParamCount(config);
}

/**
 * What a learngene stores: one block per stage (SWS) or θA and θB (TLEG), the stem, and
 * the head only when kept.
 */
export function learngeneParamCount(config: ViTConfig, stages: number[], kind: AuxKind = 'sws', keepHead = false): number {
  const blocks = kind === 'sws' ? stages.length : 2;
  return stemParamCount(config) + blocks * blockParamCount(config) + (keepHead ? headParamCount(config) : 0);
}

/** A descendant of `depth` layers grown from an Aux-Net of `config` (same width, its own class count). */
export function descendantParamCount(config: ViTConfig, depth: number, numClasses = config.numClasses): number {
  return vitParamCount({ ...config, depth, numClasses });
}

/** 1234567 → "1.23 M", 12345 → "12.3 k", 999 → "999". */
export function formatParams(n: number): string {
  if (n >= 1e9) return `${(n / 1e9).toPrecision(3)} G`;
  if (n >= 1e6) return `${(n / 1e6).toPrecision(3)} M`;
  if (n >= 1e3) return `${(n / 1e3).toPrecision(3)} k`;
  return String(n);
}
