// The pure parts of `npm run bench:sws`: FLOPs from shapes; rows with seed means and 95%
// intervals from measured trials; paired differences; the measured cost ratio; ablation
// rows; the acceptance checks and the paper-claims verdicts; and the report writer on a
// small synthetic result (JSON keys the issue requires, Markdown, SVGs that sharp renders).

import { describe, expect, it } from 'vitest';
import sharp from 'sharp';
import { defaultViTConfig, type ViTConfig } from '../../../shared/config.js';
import { blockMacs, distillTrainFlops, formatFlops, stemMacs, vitForwardFlops, vitTrainFlops } from '../../../shared/flops.js';
import { descendantParamCount, learngeneParamCount } from '../../../shared/param-count.js';
import {
  ablationRows,
  acceptance,
  type AblationRecord,
  type BenchRow,
  type CellRecord,
  checkResultShape,
  comparisons,
  costSize,
  type CostSize,
  measuredCost,
  initializationFindings,
  paperClaims,
  regimeFindings,
  scratchRunScore,
  sizesForRatio,
  renderCostSvg,
  renderMarkdown,
  renderSvg,
  rowFromCell,
  type SeedRun,
  type SwsBenchResult,
  trialBudget,
} from '../../../node/bench/sws-report.js';

// Fashion-MNIST ViT of the bench: 28×28×1, patch 7 → 16 tokens, dim 64, MLP 256, 10 classes, mean pooling.
const FM = (depth: number, numClasses = 10): ViTConfig => defaultViTConfig({ depth, dim: 64, heads: 4, patchSize: 7, numClasses });

describe('FLOPs from a ViTConfig', () => {
  it('matches a hand computation for the bench ViT', () => {
    // One block, per image: T·(3D² qkv + D² proj + 2·D·H mlp) + 2·T²·D attention
    //   = 16·(12288 + 4096 + 32768) + 2·256·64 = 786432 + 32768 = 819200 multiply-adds.
    expect(blockMacs(FM(1))).toBe(819_200);
    // Patch embedding 16·49·64 = 50176, head 64·10 = 640.
    expect(stemMacs(FM(1))).toBe(50_816);
    // Depth 2: 2 FLOPs per multiply-add.
    expect(vitForwardFlops(FM(2))).toBe(2 * (50_816 + 2 * 819_200));
    expect(vitTrainFlops(FM(2))).toBe(3 * 2 * (50_816 + 2 * 819_200));
    // A class token adds a 17th token everywhere in the blocks.
    const cls = defaultViTConfig({ ...FM(1), pooling: 'cls' });
    expect(blockMacs(cls)).toBe(17 * 49_152 + 2 * 17 * 17 * 64);
  });

  it('reproduces the published cost of DeiT-Ti / ViT-Ti/16 (≈ 1.25 G multiply-adds)', () => {
    const tiny = defaultViTConfig({ imageSize: 224, patchSize: 16, channels: 3, dim: 192, heads: 3, depth: 12, numClasses: 1000, pooling: 'cls' });
    const macs = vitForwardFlops(tiny) / 2;
    expect(macs).toBeGreaterThan(1.24e9);
    expect(macs).toBeLessThan(1.27e9);
    expect(formatFlops(vitForwardFlops(tiny))).toBe('2.51 GFLOP');
  });

  it('a distillation step is the student\'s training step plus the teacher\'s forward pass', () => {
    expect(distillTrainFlops(FM(8), FM(8))).toBe(vitTrainFlops(FM(8)) + vitForwardFlops(FM(8)));
    // Shared blocks save parameters, not compute: an 8-layer Aux-Net costs an 8-layer ViT.
    expect(vitTrainFlops(FM(8)) / vitTrainFlops(FM(4))).toBeCloseTo((50_816 + 8 * 819_200) / (50_816 + 4 * 819_200), 12);
  });
});

const seedRuns = (test1ep: number[], testFinal: number[]): SeedRun[] =>
  test1ep.map((t, i) => ({ seed: i, val: testFinal[i]! - 0.01, test1ep: t, testFinal: testFinal[i]!, trainSeconds: 10 + i, images: 4000 }));

function cell(method: CellRecord['method'], depth: number, test1ep: number[], testFinal: number[], extra: Partial<CellRecord> = {}): CellRecord {
  return {
    setting: 'same-labels', teacher: method === 'scratch' ? null : 'cnn-onnx', method, depth, params: descendantParamCount(FM(8), depth), epochs: 2, trainImages: 2000,
    flopsPerImage: vitTrainFlops(FM(depth)), head: method === 'scratch' ? 'fresh' : 'inherited', lrCentre: method === 'scratch' ? 2e-3 : 5e-4,
    trials: (method === 'scratch' ? [1e-3, 2e-3, 4e-3, 8e-3] : [2.5e-4, 5e-4, 1e-3, 2e-3]).map((lr, i) => ({ lr, val: [0.8, 0.85, 0.83, 0.7][i]!, diverged: false, trainSeconds: 5, images: 4000 })),
    seedRuns: seedRuns(test1ep, testFinal), ...extra,
  };
}

describe('rows from measured cells', () => {
  it('means, 95% intervals, the chosen lr and whether it is interior', () => {
    const row = rowFromCell(cell('sws', 4, [0.8, 0.82, 0.84], [0.86, 0.86, 0.89]), 'cnn-onnx');
    expect(row.top1_1ep_mean).toBeCloseTo(0.82, 12);
    expect(row.top1_1ep).toBe(row.top1_1ep_mean);
    expect(row.top1_1ep_ci95[0]).toBeCloseTo(0.82 - (4.303 * 0.02) / Math.sqrt(3), 12);
    expect(row.top1_final_mean).toBeCloseTo(0.87, 12);
    // sd of 0.86, 0.86, 0.89 = √(0.0003) → half-width 4.303·√0.0003/√3 = 0.04303.
    expect(row.top1_final_ci95[1] - row.top1_final_mean).toBeCloseTo(0.04303, 10);
    expect(row.lr_chosen).toBe(5e-4);
    expect(row.lr).toBe(5e-4);
    expect(row.lr_grid).toEqual([2.5e-4, 5e-4, 1e-3, 2e-3]);
    expect(row.lr_chosen_on).toBe('val');
    expect(row.lr_interior).toBe(true);
    // 4 search trials + seeds 1 and 2; the flops of one final run.
    expect(row.runs).toBe(6);
    expect(row.secondsAllRuns).toBe(4 * 5 + 11 + 12);
    expect(row.seconds).toBe(11);
    expect(row.flops).toBe(4000 * vitTrainFlops(FM(4)));
    // A best value at the edge of the grid is flagged.
    const edge = rowFromCell(cell('sws', 4, [0.8, 0.8, 0.8], [0.8, 0.8, 0.8], { trials: [1e-3, 2e-3, 4e-3].map((lr, i) => ({ lr, val: 0.8 + i / 100, diverged: false, trainSeconds: 1, images: 1 })) }), 'vit');
    expect(edge.lr_chosen).toBe(4e-3);
    expect(edge.lr_interior).toBe(false);
    expect(edge.teacher).toBe('vit');
  });

  it('SWS − other methods, paired by seed, per depth and metric', () => {
    const rows = [
      rowFromCell(cell('sws', 2, [0.8, 0.81, 0.82], [0.85, 0.86, 0.87]), 'cnn-onnx'),
      rowFromCell(cell('scratch', 2, [0.7, 0.7, 0.7], [0.84, 0.87, 0.85]), 'cnn-onnx', true),
      rowFromCell(cell('tleg', 2, [0.79, 0.81, 0.83], [0.85, 0.86, 0.87]), 'cnn-onnx'),
    ];
    const cs = comparisons(rows);
    expect(cs).toHaveLength(4);
    const s1 = cs.find((c) => c.b === 'scratch' && c.metric === 'top1_1ep')!;
    expect(s1.mean).toBeCloseTo(0.11, 12);
    expect(s1.called).toBe(true);
    expect(s1.sign).toBe(1);
    // Final: differences +0.01, −0.01, +0.02 → not called.
    const sN = cs.find((c) => c.b === 'scratch' && c.metric === 'top1_final')!;
    expect(sN.mean).toBeCloseTo(0.02 / 3, 12);
    expect(sN.called).toBe(false);
    // Identical finals: a zero-width interval at 0 is not a difference.
    expect(cs.find((c) => c.b === 'tleg' && c.metric === 'top1_final')!.called).toBe(false);
    expect(rows[1]!.sharedAcrossTeachers).toBe(true);
  });
});

describe('measured cost', () => {
  const scratchRun = (target: number, curve: number[]) => ({ lr: 2e-3, target, capEpochs: 2, evalsPerEpoch: 4, imagesPerEval: 1000, top1ByEval: curve, trainSecondsByEval: curve.map(() => 3) });
  const size = (depth: number, target: number, curve: number[]): CostSize => costSize({ depth, params: descendantParamCount(FM(8), depth), flopsPerImage: vitTrainFlops(FM(depth)), sws: { lr: 5e-4, val: target, images: 800, trainSeconds: 2 }, scratch: scratchRun(target, curve) });

  it('scratch cost is read at the first validation at or above the target; a miss is a lower bound', () => {
    const hit = size(2, 0.8, [0.5, 0.7, 0.8, 0.9]);
    expect(hit.reachedAtEpochs).toBe(0.75);
    expect(hit.scratchImages).toBe(3000);
    expect(hit.scratchFlops).toBe(3000 * vitTrainFlops(FM(2)));
    expect(hit.scratchSeconds).toBe(9);
    expect(hit.poolImages).toBe(4000);
    expect(hit.capEpochs).toBe(2);
    expect(hit.lowerBound).toBe(false);
    expect(hit.swsFlops).toBe(800 * vitTrainFlops(FM(2)));
    const miss = size(2, 0.95, [0.5, 0.7, 0.8, 0.9]);
    expect(miss.reachedAtEpochs).toBeNull();
    expect(miss.lowerBound).toBe(true);
    expect(miss.scratchImages).toBe(4000);
    expect(miss.scratchBest).toBe(0.9);
  });

  it('ranks scratch runs for the lr choice: reached beats missed, fewer images first, then the top-1 there', () => {
    const at = (curve: number[]) => scratchRunScore(size(2, 0.8, curve));
    // Reached after 3 of 8 evaluations (0.75 of the 2-epoch cap): 2 − 3000/8000 + 0.8/1000.
    expect(at([0.5, 0.7, 0.8, 0.9])).toBeCloseTo(2 - 3000 / 8000 + 0.8 / 1000, 12);
    expect(at([0.5, 0.8])).toBeGreaterThan(at([0.5, 0.7, 0.8]));
    expect(at([0.5, 0.7, 0.85])).toBeGreaterThan(at([0.5, 0.7, 0.8]));
    // Missed: its best top-1, below any run that reached.
    expect(at([0.5, 0.79])).toBe(0.79);
    expect(at([0.5, 0.79])).toBeLessThan(at([0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.8]));
  });

  it('ratios with and without the teacher, by number of sizes, break-even, parameters stored', () => {
    const sizes = [size(1, 0.8, [0.5, 0.8]), size(2, 0.8, [0.5, 0.6, 0.8])];
    const learngene = { flops: 1e11, seconds: 100 };
    const teacher = { flops: 5e10, seconds: 40 };
    const lgParams = learngeneParamCount(FM(8), [2, 2, 2, 2], 'sws', true);
    const c = measuredCost({ teacher: 'cnn-onnx', learngene, teacherTraining: teacher, learngeneParams: lgParams, sizes });
    const scratchFlops = 2000 * vitTrainFlops(FM(1)) + 3000 * vitTrainFlops(FM(2));
    const ftFlops = 800 * vitTrainFlops(FM(1)) + 800 * vitTrainFlops(FM(2));
    expect(c.scratch.flops).toBe(scratchFlops);
    expect(c.finetune.flops).toBe(ftFlops);
    expect(c.costRatio).toBeCloseTo(scratchFlops / (1e11 + ftFlops), 12);
    expect(c.costRatioWithTeacher).toBeCloseTo(scratchFlops / (1.5e11 + ftFlops), 12);
    expect(c.wallRatio).toBeCloseTo((6 + 9) / (100 + 4), 12);
    expect(c.wallRatioWithTeacher).toBeCloseTo(15 / 144, 12);
    expect(c.pretrainRatio).toBeCloseTo(scratchFlops / 1e11, 12);
    expect(c.bySizes[0]!.costRatio).toBeCloseTo(2000 * vitTrainFlops(FM(1)) / (1e11 + 800 * vitTrainFlops(FM(1))), 12);
    expect(c.bySizes[1]!.costRatio).toBeCloseTo(c.costRatio, 12);
    expect(c.breakEvenSizes).toBeCloseTo(1e11 / ((scratchFlops - ftFlops) / 2), 9);
    expect(c.lowerBound).toBe(false);
    // Stored: block 49,984, stem 4,352, head 650 → learngene 4352 + 4·49984 + 650; sizes 1 and 2.
    expect(c.storedParams.learngene).toBe(4352 + 4 * 49_984 + 650);
    expect(c.storedParams.separate).toBe(2 * (4352 + 650) + 3 * 49_984);
    expect(c.storedParams.ratio).toBeCloseTo(c.storedParams.separate / c.storedParams.learngene, 12);
    // Fine-tuning dearer than scratch per size: the learngene never pays for itself.
    const never = measuredCost({ teacher: 'cnn-onnx', learngene, teacherTraining: teacher, learngeneParams: lgParams, sizes: [costSize({ depth: 1, params: 1, flopsPerImage: 1, sws: { lr: 1, val: 0.5, images: 5000, trainSeconds: 1 }, scratch: scratchRun(0.5, [0.6]) })] });
    expect(never.breakEvenSizes).toBeNull();
    // k·S / (L + k·F) = r  ⇔  k = r·L / (S − r·F), with S and F the mean per-size costs.
    const s = scratchFlops / 2;
    const f = ftFlops / 2;
    expect(sizesForRatio(c, 2)).toBeCloseTo((2 * 1e11) / (s - 2 * f), 9);
    expect(sizesForRatio(c, s / f + 1)).toBeNull();
  });
});

describe('ablations, acceptance, claims', () => {
  const record = (variant: string, changed: AblationRecord['changed'], finals: number[]): AblationRecord => ({
    variant, changed, teacher: 'cnn-onnx', stages: [2, 2, 2, 2], alpha: 1, tau: 1, depth: 4, lr: 5e-4, auxVal: 0.85, learngeneParams: 205_000, distill: { flops: 1, seconds: 1 },
    seedRuns: seedRuns([0.8, 0.8, 0.8], finals),
  });

  it('each variant against the reference at the same depth, paired by seed', () => {
    const rows = ablationRows([record('reference', 'reference', [0.85, 0.86, 0.87]), record('τ = 2', 'tau', [0.83, 0.84, 0.86])]);
    expect(rows[0]!.vsReference).toBeNull();
    const tau = rows[1]!.vsReference!;
    expect(tau.top1_final.mean).toBeCloseTo(-0.05 / 3, 12);
    expect(tau.top1_final.called).toBe(true); // −0.02, −0.02, −0.01
    expect(tau.top1_final.sign).toBe(-1);
    expect(rows[1]!.top1_final_mean).toBeCloseTo(2.53 / 3, 12);
  });

  function synthetic(): SwsBenchResult {
    const rows: BenchRow[] = [];
    for (const teacher of ['cnn-onnx', 'vit'] as const) {
      for (const depth of [2, 4]) {
        rows.push(rowFromCell(cell('sws', depth, [0.8, 0.81, 0.82], [0.85, 0.86, 0.87]), teacher));
        rows.push(rowFromCell(cell('scratch', depth, [0.7, 0.7, 0.71], [0.83, 0.84, 0.84]), teacher, true));
        rows.push(rowFromCell(teacher === 'vit' ? { ...cell('teacher-copy', depth, [0.81, 0.8, 0.83], [0.85, 0.87, 0.86]), teacher } : cell('tleg', depth, [0.78, 0.8, 0.8], [0.84, 0.85, 0.87]), teacher));
      }
    }
    const sizes = Array.from({ length: 10 }, (_, i) => costSize({ depth: i + 1, params: descendantParamCount(FM(8), i + 1), flopsPerImage: vitTrainFlops(FM(i + 1)), sws: { lr: 5e-4, val: 0.85, images: 8000, trainSeconds: 5 }, scratch: { lr: 2e-3, target: 0.85, capEpochs: 2, evalsPerEpoch: 4, imagesPerEval: 13_750, top1ByEval: i === 0 ? [0.8, 0.82, 0.83] : [0.8, 0.84, 0.86], trainSecondsByEval: [10, 10, 10] } }));
    const cost = measuredCost({ teacher: 'cnn-onnx', learngene: { flops: 2e13, seconds: 100 }, teacherTraining: { flops: 1e12, seconds: 40 }, learngeneParams: learngeneParamCount(FM(8), [2, 2, 2, 2], 'sws', true), sizes });
    const ablations = ablationRows([record('reference', 'reference', [0.85, 0.86, 0.87]), record('stages 4,4', 'stages', [0.84, 0.86, 0.87]), record('α = 0.5', 'alpha', [0.85, 0.85, 0.87]), record('τ = 2', 'tau', [0.83, 0.84, 0.86])]);
    const base = {
      command: 'npm run bench:sws -- --quick', mode: 'quick' as const, date: '2026-11-29T00:00:00.000Z', seeds: [0, 1, 2], rows, comparisons: comparisons(rows),
      stored_params_ratio: cost.storedParams.ratio, cost_ratio: cost.costRatio, cost_ratio_lower_bound: cost.lowerBound, cost_ratio_measured: cost.costRatio, cost_ratio_measured_with_teacher: cost.costRatioWithTeacher,
      sizes_measured: 10, storedParams: cost.storedParams, pretrain: [], costs: [cost], ablations, trialBudget: trialBudget(rows, 9, 20), acceptance: [], claims: [],
      config: {}, timings: { totalSeconds: 60, phases: {} }, machine: { cpu: 'test', cores: 2, backend: 'onnxruntime' }, loadAverage: { start: [0.1, 0.1, 0.1], end: [1, 1, 1] }, notes: ['synthetic'],
    };
    return { ...base, acceptance: acceptance(base), claims: paperClaims(base) };
  }

  it('checks what the issue says the report must show', () => {
    const r = synthetic();
    const byId = new Map(r.acceptance.map((c) => [c.id, c]));
    expect(byId.get('seeds')!.pass).toBe(true);
    expect(byId.get('cnn-onnx:sws-vs-scratch-1ep')!.pass).toBe(true); // +10.67 points, interval above 0
    expect(byId.get('vit:sws-vs-scratch-1ep')!.detail).toMatch(/^d2 \+10\.67 \[\+\d/);
    expect(byId.get('lr-interior')!.pass).toBe(true);
    expect(byId.get('sizes-measured')!.pass).toBe(true);
    expect(byId.get('ablations')!.pass).toBe(true);
    // A scratch row too close at one depth fails the +5 check; an edge lr fails the interior check.
    const close = r.rows.map((row) => (row.method === 'scratch' && row.depth === 4 && row.teacher === 'cnn-onnx' ? rowFromCell(cell('scratch', 4, [0.78, 0.78, 0.79], [0.8, 0.8, 0.8]), 'cnn-onnx') : row));
    const edge = close.map((row, i) => (i === 0 ? { ...row, lr_interior: false } : row));
    const failed = new Map(acceptance({ ...r, rows: edge, comparisons: comparisons(edge), sizes_measured: 3, ablations: r.ablations.slice(0, 2) }).map((c) => [c.id, c]));
    expect(failed.get('cnn-onnx:sws-vs-scratch-1ep')!.pass).toBe(false);
    expect(failed.get('cnn-onnx:sws-vs-scratch-1ep')!.detail).toContain('d4 +2.67 [+1.23, +4.10]');
    expect(failed.get('vit:sws-vs-scratch-1ep')!.pass).toBe(true);
    expect(failed.get('lr-interior')!.pass).toBe(false);
    expect(failed.get('lr-interior')!.detail).toContain('cnn-onnx sws d2');
    expect(failed.get('sizes-measured')!.pass).toBe(false);
    expect(failed.get('ablations')!.pass).toBe(false);
  });

  it('gives each paper claim a verdict from the numbers', () => {
    const claims = new Map(synthetic().claims.map((c) => [c.id, c]));
    // After 1 epoch SWS wins everywhere; at the end +2.33 with seeds (0.02, 0.02, 0.03) → called everywhere.
    expect(claims.get('better-than-scratch')!.verdict).toBe('holds');
    const cost = synthetic().costs[0]!;
    expect(cost.lowerBound).toBe(true); // depth 1 never reaches 0.85
    expect(claims.get('training-cost')!.measured).toMatch(/^≥ \d/);
    expect(claims.get('training-cost')!.verdict).toBe(cost.costRatio >= 6.6 ? 'holds' : cost.costRatio > 1 ? 'partly' : 'does not hold');
    expect(claims.get('stored-params')!.verdict).toBe(cost.storedParams.ratio >= 20 ? 'holds' : cost.storedParams.ratio >= 10 ? 'partly' : 'does not hold');
    expect(claims.get('stored-params')!.measured).toContain('depths 1–10');
    expect(claims.get('pre-training')!.verdict).toBe(cost.pretrainRatio >= 10 ? 'holds' : cost.pretrainRatio > 1 ? 'partly' : 'does not hold');
    // Here the learngene costs more than scratch to target over all 10 sizes.
    expect(claims.get('training-cost')!.verdict).toBe('does not hold');
  });

  it('reads where the learngene pays the most: few images against the main setting, and more sizes', () => {
    const r = synthetic();
    const fewRows = [
      rowFromCell({ ...cell('sws', 2, [0.7, 0.72, 0.74], [0.75, 0.76, 0.77]), setting: 'few-images', trainImages: 960 }, 'cnn-onnx'),
      rowFromCell({ ...cell('scratch', 2, [0.5, 0.5, 0.5], [0.6, 0.6, 0.6]), setting: 'few-images', trainImages: 960 }, 'cnn-onnx'),
    ];
    const lines = regimeFindings({ ...r, rows: [...r.rows, ...fewRows], comparisons: comparisons([...r.rows, ...fewRows]) });
    expect(lines[0]).toBe('Fewer fine-tuning images (960 vs 2,000 per epoch, CNN teacher (ONNX)), SWS − scratch after 1 epoch: depth 2: +22.00 [+17.03, +26.97] with few images vs +10.67 [+9.23, +12.10] in the main setting.');
    expect(lines[1]).toContain('at the end: depth 2: +16.00 [+13.52, +18.48] with few images vs +2.33 [+0.90, +3.77]');
    const c = r.costs[0]!;
    expect(lines[2]).toContain(`to ≥ ${c.bySizes.at(-1)!.costRatio.toFixed(2)}× for 10`);
    expect(lines[2]).toContain(`tends to ≥ ${(c.scratch.flops / c.finetune.flops).toFixed(1)}×`);
  });

  it('says where SWS is ahead of, behind or level with the other initializations', () => {
    const lines = initializationFindings(synthetic().comparisons);
    expect(lines).toHaveLength(2);
    // CNN: SWS − TLEG at the end +0.01, +0.01, 0 → level; after 1 epoch +0.02, +0.01, +0.02 → ahead.
    expect(lines[0]).toBe('CNN teacher (ONNX), SWS − TLEG: at the end d2 +0.67, d4 +0.67 — level (interval includes 0) at depth 2, 4; after 1 epoch d2 +1.67, d4 +1.67 — ahead at depth 2, 4.');
    expect(lines[1]).toMatch(/^ViT teacher, SWS − teacher-copy: at the end d2 \+0\.00, d4 \+0\.00 — level/);
  });

  it('counts the trial budget per method, a shared scratch search once', () => {
    const b = synthetic().trialBudget;
    // Per depth: SWS ×2 teachers, TLEG, teacher-copy, scratch once (listed under both teachers).
    expect(b.searches).toBe(2 * 5);
    expect(b.perMethod.sws).toEqual({ searches: 4, trials: 16 });
    expect(b.perMethod.scratch).toEqual({ searches: 2, trials: 8 });
    expect(b.searchTrials).toBe(40);
    expect(b.extraSeedRuns).toBe(20);
  });

  it('the JSON has every key the issue asks for (and the shape check notices a missing one)', () => {
    const result = JSON.parse(JSON.stringify(synthetic()));
    expect(checkResultShape(result)).toEqual([]);
    for (const key of ['seeds', 'cost_ratio_measured', 'cost_ratio_measured_with_teacher', 'sizes_measured', 'ablations', 'stored_params_ratio', 'cost_ratio']) expect(result).toHaveProperty(key);
    for (const key of ['top1_1ep_mean', 'top1_1ep_ci95', 'top1_final_mean', 'top1_final_ci95', 'lr_grid', 'lr_chosen', 'lr_chosen_on', 'teacher']) expect(result.rows[0]).toHaveProperty(key);
    delete result.cost_ratio_measured;
    result.rows[1].teacher = 'lenet';
    result.rows[2].lr_chosen_on = 'test';
    expect(checkResultShape(result)).toEqual(['missing "cost_ratio_measured"', '"cost_ratio_measured" is neither a number nor null', 'rows[1].teacher is "lenet"', 'rows[2].lr_chosen_on is "test"']);
  });

  it('writes the verdicts, both teachers\' tables with intervals, the searches, cost and ablations', () => {
    const md = renderMarkdown(synthetic(), { recipe: ['Tiny.'], trimmed: ['Less.'] });
    expect(md).toContain('## What held and what did not');
    expect(md).toContain('**Holds** — SWS descendants beat training from scratch');
    expect(md).toContain('## Descendants: same-labels, CNN teacher (ONNX)');
    expect(md).toContain('## Descendants: same-labels, ViT teacher');
    // depth | params | SWS 1 ep | TLEG 1 ep | scratch 1 ep | … | SWS − scratch 1 ep …
    expect(md).toMatch(/\| 2 \| 104,970 \| 81\.00 ± 2\.48 \| 79\.33 ± 2\.87 \| 70\.33 ± 1\.43 \|/);
    // SWS − TLEG after 1 epoch: +0.02, +0.01, +0.02 → called; after 2: +0.01, +0.01, 0 → not.
    expect(md).toContain('| +1.67 [+0.23, +3.10] | +0.67 [-0.77, +2.10] ≈ |');
    expect(md).toContain('| same-labels | both (shared) | scratch | 2 | 0.001 → 80.00, 0.002 → 85.00, 0.004 → 83.00, 0.008 → 70.00 | 0.002 | yes |');
    expect(md).toMatch(/\*\*cost_ratio_measured = ≥ \d+\.\d\d×\*\*/);
    expect(md).toContain('| τ = 2 | 4 | 0.0005 | 85.00 | 205,000 |');
    expect(md).toContain('- Less.');
    expect(md).toContain('Trial budget: 10 learning-rate searches with 40 trials');
  });

  it('draws SVG charts that sharp turns into PNGs', async () => {
    const r = synthetic();
    const svg = renderSvg({ rows: r.rows, title: 'test' });
    // 3 methods × 2 teachers × 2 panels lines; an interval bar per point.
    expect(svg.match(/<path d="M[^"]*" fill="none"/g)!.length).toBe(3 * 2 * 2);
    expect(svg.match(/<line class="ci"/g)!.length).toBe(3 * 2 * 2 * 2);
    for (const name of ['SWS', 'teacher-copy', 'TLEG', 'scratch (own lr)']) expect(svg).toContain(`>${name}</text>`);
    const cost = renderCostSvg(r.costs[0]!);
    expect(cost.match(/<path d="M[^"]*" fill="none"/g)!.length).toBe(3);
    // Depth 1 missed its target: an open circle from there on for scratch.
    expect(cost.match(/fill="none" stroke="#555555" stroke-width="2"\/>/g)!.length).toBe(10);
    for (const s of [svg, cost]) {
      const meta = await sharp(await sharp(Buffer.from(s)).png().toBuffer()).metadata();
      expect(meta.format).toBe('png');
      expect(meta.width).toBeGreaterThan(800);
    }
  });
});
