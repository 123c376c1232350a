// Which learngene stage initializes each layer of a descendant.

import { validateLayersSource, ConfigError } from '../../shared/config.js';

/**
 * The default layer → stage mapping for a descendant of `depth` layers grown from an
 * Aux-Net with `stages` (layers per stage). Deterministic rule:
 *  - depth ≥ stages.length: every stage gets its share depth·n_s/L, at least 1; counts
 *    start at max(1, floor(share)); missing layers go to the largest remainders
 *    (share − count), surplus is taken from the largest over-allocations; ties go to the
 *    earlier stage. Stages stay in order, so the result is non-decreasing.
 *    Examples: stages 3,3,4,3,3 → depth 16: the Aux-Net's own layout; depth 12:
 *    0,0,0,1,1,2,2,2,3,3,4,4; depth 5: 0,1,2,3,4.
 *  - depth < stages.length: a stage cannot get a layer each, so `depth` stages are
 *    picked evenly spaced from first to last: round(i·(S−1)/(depth−1)).
 *    Example: stages 2,2,2,2 → depth 2: 0,3; depth 3: 0,2,3 (1.5 rounds up).
 */
export function defaultLayersSource(stages: number[], depth: number): number[] {
  if (!Number.isInteger(depth) || depth < 1) {
    throw new ConfigError([{ field: 'depth', message: `must be a positive integer, got ${JSON.stringify(depth)}` }]);
  }
  const numStages = stages.length;
  if (depth < numStages) {
    if (depth === 1) return [0];
    return Array.from({ length: depth }, (_, i) => Math.round((i * (numStages - 1)) / (depth - 1)));
  }
  const total = stages.reduce((a, b) => a + b, 0);
  const shares = stages.map((n) => (depth * n) / total);
  const counts = shares.map((s) => Math.max(1, Math.floor(s)));
  let sum = counts.reduce((a, b) => a + b, 0);
  while (sum < depth) {
    let best = 0;
    for (let s = 1; s < numStages; s++) if (shares[s]! - counts[s]! > shares[best]! - counts[best]!) best = s;
    counts[best]! += 1;
    sum += 1;
  }
  while (sum > depth) {
    let best = -1;
    for (let s = 0; s < numStages; s++) {
      if (counts[s]! <= 1) continue;
      if (best < 0 || counts[s]! - shares[s]! > counts[best]! - shares[best]!) best = s;
    }
    counts[best]! -= 1;
    sum -= 1;
  }
  return counts.flatMap((count, stage) => Array<number>(count).fill(stage));
}

/** The user's list when given (validated), else the default. */
export function resolveLayersSource(stages: number[], depth: number, given?: number[]): number[] {
  if (given === undefined) return defaultLayersSource(stages, depth);
  const issues = validateLayersSource(given, stages.length, depth, 'layersSource');
  if (issues.length > 0) throw new ConfigError(issues);
  return given;
}

/** Stage index of every Aux-Net layer: stages 2,3 → 0,0,1,1,1. */
export function stageOfLayer(stages: number[]): number[] {
  return stages.flatMap((count, stage) => Array<number>(count).fill(stage));
}
