// The statistics and the learning-rate search of `npm run bench:sws`: t quantiles against
// the standard table, intervals computed by hand, the paired difference's call, and the
// grid search's sequence of trials on made-up validation curves.

import { describe, expect, it } from 'vitest';
import { bestTrial, initialLrGrid, isInterior, type LrTrial, meanCi95, nextLr, pairedDifference, roundLr, sampleSd, tQuantile975 } from '../../../node/bench/sws-stats.js';

describe('Student t intervals', () => {
  it('uses the two-sided 95% quantiles of the t table', () => {
    expect(tQuantile975(1)).toBe(12.706);
    expect(tQuantile975(2)).toBe(4.303);
    expect(tQuantile975(4)).toBe(2.776);
    expect(tQuantile975(30)).toBe(2.042);
    expect(tQuantile975(200)).toBe(1.96);
    expect(() => tQuantile975(0)).toThrow(/df must be a positive integer/);
  });

  it('mean ± t·sd/√n, by hand for three seeds', () => {
    // 0.80, 0.82, 0.84: mean 0.82, sd 0.02, half-width 4.303 · 0.02 / √3 = 0.049687…
    const r = meanCi95([0.8, 0.82, 0.84]);
    expect(r.mean).toBeCloseTo(0.82, 12);
    expect(r.sd).toBeCloseTo(0.02, 12);
    expect(r.ci95[0]).toBeCloseTo(0.82 - (4.303 * 0.02) / Math.sqrt(3), 12);
    expect(r.ci95[1]).toBeCloseTo(0.82 + (4.303 * 0.02) / Math.sqrt(3), 12);
    expect(r.n).toBe(3);
    // One sample has no interval.
    const single = meanCi95([0.5]);
    expect(single.mean).toBe(0.5);
    expect(single.ci95.every(Number.isNaN)).toBe(true);
    expect(sampleSd([1])).toBeNaN();
  });

  it('a paired difference is called only when its interval excludes 0', () => {
    // Differences 0.10, 0.12, 0.11: mean 0.11, sd 0.01 → [0.0852, 0.1348]: called, positive.
    const ahead = pairedDifference([0.9, 0.92, 0.91], [0.8, 0.8, 0.8]);
    expect(ahead.mean).toBeCloseTo(0.11, 12);
    expect(ahead.ci95[0]).toBeCloseTo(0.11 - (4.303 * 0.01) / Math.sqrt(3), 12);
    expect(ahead.called).toBe(true);
    expect(ahead.sign).toBe(1);
    // Differences +0.02, −0.01, +0.005: the interval straddles 0.
    const level = pairedDifference([0.82, 0.79, 0.805], [0.8, 0.8, 0.8]);
    expect(level.called).toBe(false);
    expect(level.sign).toBe(0);
    const behind = pairedDifference([0.7, 0.71, 0.705], [0.8, 0.8, 0.8]);
    expect(behind.called).toBe(true);
    expect(behind.sign).toBe(-1);
    // Pairs must match.
    expect(() => pairedDifference([1, 2], [1])).toThrow(/pairs must match/);
  });
});

describe('learning-rate search', () => {
  const opts = { factor: 2, trials: 4, maxTrials: 7 };
  /** Runs the search against a validation curve; returns the lrs in the order tried. */
  function search(centre: number, val: (lr: number) => number, options = opts): LrTrial[] {
    const trials = initialLrGrid(centre, options.factor).map((lr) => ({ lr, val: val(lr) }));
    for (let next = nextLr(trials, options); next !== null; next = nextLr(trials, options)) trials.push({ lr: next, val: val(next) });
    return trials;
  }
  // A bump peaking at `peak` (in log2 units).
  const bump = (peak: number) => (lr: number) => 0.9 - 0.01 * (Math.log2(lr) - Math.log2(peak)) ** 2;

  it('starts with a ×2 grid of three and rounds so ×2 and ÷2 meet exactly', () => {
    expect(initialLrGrid(5e-4, 2)).toEqual([2.5e-4, 5e-4, 1e-3]);
    expect(roundLr(1e-3 / 2 / 2)).toBe(2.5e-4);
    expect(roundLr(0.1 + 0.2)).toBe(0.3);
  });

  it('already interior: one more step beyond the better edge, then stop (4 trials)', () => {
    const trials = search(1e-3, bump(1.2e-3));
    expect(trials.map((t) => t.lr)).toEqual([5e-4, 1e-3, 2e-3, 4e-3]);
    expect(bestTrial(trials).lr).toBe(1e-3);
    expect(isInterior(1e-3, trials.map((t) => t.lr))).toBe(true);
  });

  it('optimum above the grid: widens upward until the best is interior', () => {
    const trials = search(5e-4, bump(3.9e-3));
    expect(trials.map((t) => t.lr)).toEqual([2.5e-4, 5e-4, 1e-3, 2e-3, 4e-3, 8e-3]);
    expect(bestTrial(trials).lr).toBe(4e-3);
    expect(isInterior(4e-3, trials.map((t) => t.lr))).toBe(true);
  });

  it('optimum below the grid: widens downward', () => {
    const trials = search(2e-3, bump(2.6e-4));
    expect(trials.map((t) => t.lr)).toEqual([1e-3, 2e-3, 4e-3, 5e-4, 2.5e-4, 1.25e-4]);
    expect(bestTrial(trials).lr).toBe(2.5e-4);
  });

  it('stops at maxTrials even when the best is still at an edge (reported as not interior)', () => {
    const trials = search(5e-4, (lr) => lr, { factor: 2, trials: 4, maxTrials: 5 });
    expect(trials).toHaveLength(5);
    expect(isInterior(bestTrial(trials).lr, trials.map((t) => t.lr))).toBe(false);
  });

  it('a diverged run counts as 0 and ties go to the lower lr', () => {
    const trials = [{ lr: 1e-3, val: 0.8 }, { lr: 2e-3, val: 0.8 }, { lr: 4e-3, val: 0 }];
    expect(bestTrial(trials).lr).toBe(1e-3);
    // Best at the low edge: the next trial goes below it.
    expect(nextLr(trials, opts)).toBe(5e-4);
    expect(() => nextLr(trials.slice(0, 2), opts)).toThrow(/3-point grid/);
    expect(isInterior(2e-3, [1e-3, 2e-3])).toBe(false);
  });
});
