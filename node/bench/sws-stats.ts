// Statistics and the learning-rate search of `npm run bench:sws`, as pure functions:
// Student-t 95% intervals over seeds (a mean, a paired difference), and the grid search
// that picks a learning rate on the validation split, widening the grid until the chosen
// value is interior. test/node/bench/sws-stats.test.ts checks them against hand and
// table values.

/** Two-sided 97.5% quantiles of Student's t for 1..30 degrees of freedom (standard tables). */
const T975 = [
  12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228,
  2.201, 2.179, 2.16, 2.145, 2.131, 2.12, 2.11, 2.101, 2.093, 2.086,
  2.08, 2.074, 2.069, 2.064, 2.06, 2.056, 2.052, 2.048, 2.045, 2.042,
];

/** t quantile for a two-sided 95% interval with `df` degrees of freedom (normal 1.96 beyond 30). */
export function tQuantile975(df: number): number {
  if (!Number.isInteger(df) || df < 1) throw new RangeError(`tQuantile975: df must be a positive integer, got ${df}`);
  return df <= T975.length ? T975[df - 1]! : 1.96;
}

export function mean(xs: readonly number[]): number {
  if (xs.length === 0) return NaN;
  return xs.reduce((a, b) => a + b, 0) / xs.length;
}

/** Sample standard deviation (n − 1); NaN for fewer than 2 values. */
export function sampleSd(xs: readonly number[]): number {
  if (xs.length < 2) return NaN;
  const m = mean(xs);
  return Math.sqrt(xs.reduce((a, x) => a + (x - m) ** 2, 0) / (xs.length - 1));
}

export interface Interval {
  mean: number;
  /** [low, high] of the 95% interval of the mean; [NaN, NaN] with fewer than 2 values. */
  ci95: [number, number];
  n: number;
  sd: number;
}

/** Mean and 95% t-interval of the mean (seeds are the samples). */
export function meanCi95(xs: readonly number[]): Interval {
  const n = xs.length;
  const m = mean(xs);
  const sd = sampleSd(xs);
  if (n < 2) return { mean: m, ci95: [NaN, NaN], n, sd };
  const half = tQuantile975(n - 1) * (sd / Math.sqrt(n));
  return { mean: m, ci95: [m - half, m + half], n, sd };
}

/**
 * A − B over paired samples (same seed: same fine-tuning images and batch order), with
 * the 95% t-interval of the mean difference. `called` is true only when the interval
 * excludes 0; `sign` then tells which side.
 */
export function pairedDifference(a: readonly number[], b: readonly number[]): Interval & { called: boolean; sign: -1 | 0 | 1 } {
  if (a.length !== b.length) throw new RangeError(`pairedDifference: ${a.length} vs ${b.length} samples (pairs must match)`);
  const diff = meanCi95(a.map((x, i) => x - b[i]!));
  const [lo, hi] = diff.ci95;
  const called = Number.isFinite(lo) && (lo > 0 || hi < 0);
  return { ...diff, called, sign: called ? (lo > 0 ? 1 : -1) : 0 };
}

// ------------------------------------------------------------------ learning-rate search

export interface LrTrial {
  lr: number;
  /** Validation top-1 (fraction) at the end of the run; 0 when the run diverged. */
  val: number;
}

export interface LrSearchOptions {
  /** Geometric step between neighbouring grid points (2: ×2 steps). */
  factor: number;
  /** Trials every (method, depth) gets: a 3-point grid, then widening toward the better edge. */
  trials: number;
  /** Trials at most; more only while the best stays at an edge. */
  maxTrials: number;
}

/** The starting 3-point grid around a prior centre: centre/factor, centre, centre·factor. */
export function initialLrGrid(centre: number, factor: number): number[] {
  return [centre / factor, centre, centre * factor].map(roundLr);
}

/** Learning rates kept to 4 significant digits so grids built by ×2 and ÷2 meet exactly. */
export function roundLr(lr: number): number {
  return Number(lr.toPrecision(4));
}

/** The trial with the highest validation top-1 (the lower lr on a tie). */
export function bestTrial(trials: readonly LrTrial[]): LrTrial {
  if (trials.length === 0) throw new RangeError('bestTrial: no trials');
  return [...trials].sort((a, b) => a.lr - b.lr).reduce((best, t) => (t.val > best.val ? t : best));
}

/** True when `lr` is neither the smallest nor the largest learning rate tried. */
export function isInterior(lr: number, grid: readonly number[]): boolean {
  return grid.length >= 3 && lr > Math.min(...grid) && lr < Math.max(...grid);
}

/**
 * The next learning rate to try, or null when the search is done. Every search runs
 * `trials` trials: the 3-point grid, then one step beyond the edge the best value sits
 * at (or, when it is already interior, beyond the better of the two edges). Past that
 * it widens only while the best is at an edge, up to `maxTrials`.
 */
export function nextLr(trials: readonly LrTrial[], options: LrSearchOptions): number | null {
  if (trials.length < 3) throw new RangeError('nextLr: start from the 3-point grid');
  const grid = trials.map((t) => t.lr);
  const lo = Math.min(...grid);
  const hi = Math.max(...grid);
  const best = bestTrial(trials);
  const valAt = (lr: number) => trials.find((t) => t.lr === lr)!.val;
  const atLow = best.lr === lo;
  const atHigh = best.lr === hi;
  if (trials.length >= options.maxTrials) return null;
  if (trials.length >= options.trials && !atLow && !atHigh) return null;
  if (atLow) return roundLr(lo / options.factor);
  if (atHigh) return roundLr(hi * options.factor);
  // Interior but short of the equal budget: extend toward the better edge.
  return valAt(hi) > valAt(lo) ? roundLr(hi * options.factor) : roundLr(lo / options.factor);
}
