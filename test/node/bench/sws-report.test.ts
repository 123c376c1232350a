// The pure parts of `npm run bench:sws`: FLOPs from shapes, the stored-parameter ratio,
// scratch-to-target and cost arithmetic, acceptance checks, and the report writer on a
// tiny synthetic result (JSON keys the issue requires, Markdown tables, an SVG that sharp renders).

import { describe, expect, it } from 'vitest';
import sharp from 'sharp';
import { defaultViTConfig, type ViTConfig } from '../../../shared/config.js';
import { blockMacs, distillTrainFlops, formatFlops, stemMacs, vitForwardFlops, vitTrainFlops } from '../../../shared/flops.js';
import {
  acceptance,
  type BenchRow,
  checkResultShape,
  costSummary,
  type PretrainPhase,
  renderMarkdown,
  renderSvg,
  scratchToTarget,
  storedParams,
  type SwsBenchResult,
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

describe('stored parameters', () => {
  it('one learngene vs depths 6..15 stored separately', () => {
    // Block: norms 4·64 + qkv 3·64·64+3·64 + proj 64·64+64 + mlp 64·256+256+256·64+64 = 49984.
    // Stem: patch 49·64+64 + pos 16·64 + final norm 2·64 = 4352. Head: 64·10+10 = 650.
    const s = storedParams(FM(8), [2, 2, 2, 2], [6, 7, 8, 9, 10, 11, 12, 13, 14, 15], true);
    expect(s.learngene).toBe(4352 + 4 * 49_984 + 650);
    expect(s.separate).toBe(10 * (4352 + 650) + (6 + 7 + 8 + 9 + 10 + 11 + 12 + 13 + 14 + 15) * 49_984);
    expect(s.ratio).toBeCloseTo(5_298_340 / 204_938, 10);
    expect(s.ratio).toBeGreaterThan(20);
    expect(s.sizes).toBe(10);
    // Without the head the learngene is smaller, the separate models are not.
    expect(storedParams(FM(8), [2, 2, 2, 2], [6], false).learngene).toBe(4352 + 4 * 49_984);
  });
});

const row = (setting: BenchRow['setting'], depth: number, method: BenchRow['method'], top1_1ep: number, top1_final: number, extra: Partial<BenchRow> = {}): BenchRow => ({
  setting, depth, method, params: 4352 + 650 + depth * 49_984, top1_1ep, top1_final, top1ByEpoch: [top1_1ep, top1_final], lr: 5e-4, epochs: 2,
  head: method === 'scratch' ? 'fresh' : 'inherited', images: 2000, flops: 2000 * vitTrainFlops(FM(depth)), seconds: 10 * depth, secondsAllLrs: 10 * depth, ...extra,
});

function syntheticRows(): BenchRow[] {
  const rows: BenchRow[] = [];
  for (const setting of ['same-labels', 'transfer'] as const) {
    for (const depth of [2, 4]) {
      rows.push(row(setting, depth, 'sws', 0.8, 0.85));
      rows.push(row(setting, depth, 'teacher-copy', 0.78, 0.845));
      rows.push(row(setting, depth, 'tleg', 0.7, 0.8));
      rows.push(row(setting, depth, 'scratch', 0.7, 0.8, { lr: 1e-3, lrsTried: [{ lr: 1e-3, top1_1ep: 0.7, top1_final: 0.8 }, { lr: 2e-3, top1_1ep: 0.68, top1_final: 0.79 }] }));
    }
  }
  return rows;
}

const phase = (name: PretrainPhase['name'], flops: number, seconds: number): PretrainPhase => ({
  setting: 'same-labels', name, config: FM(8), epochs: 1, trainImages: 1000, images: 1000, flopsPerImage: flops / 1000, flops, seconds, top1: 0.8,
  ...(name === 'teacher' ? {} : { stages: [2, 2, 2, 2], learngeneParams: 204_938 }),
});

describe('scratch to target and cost', () => {
  it('takes the first epoch at or above the target, or the whole cap as a lower bound', () => {
    const reached = scratchToTarget({ setting: 'same-labels', depth: 2, lr: 1e-3, target: 0.85, config: FM(2), trainImages: 1000, top1ByEpoch: [0.7, 0.84, 0.85, 0.86], secondsByEpoch: [5, 6, 7, 8] });
    expect(reached.reachedAtEpoch).toBe(3);
    expect(reached.images).toBe(3000);
    expect(reached.flops).toBe(3000 * vitTrainFlops(FM(2)));
    expect(reached.seconds).toBe(18);
    expect(reached.lowerBound).toBe(false);
    const never = scratchToTarget({ setting: 'same-labels', depth: 2, lr: 1e-3, target: 0.9, config: FM(2), trainImages: 1000, top1ByEpoch: [0.7, 0.84], secondsByEpoch: [5, 6] });
    expect(never.reachedAtEpoch).toBeNull();
    expect(never.lowerBound).toBe(true);
    expect(never.images).toBe(2000);
    expect(never.seconds).toBe(11);
  });

  it('cost ratio = scratch to target / (learngene + SWS fine-tuning) over the measured depths', () => {
    const rows = syntheticRows();
    const target = scratchToTarget({ setting: 'same-labels', depth: 2, lr: 1e-3, target: 0.85, config: FM(2), trainImages: 2000, top1ByEpoch: [0.7, 0.8, 0.85], secondsByEpoch: [10, 10, 10] });
    const phases = [phase('teacher', 1e12, 100), phase('aux-sws', 5e11, 50), phase('aux-tleg', 5e11, 50)];
    const c = costSummary('same-labels', phases, rows, [target])!;
    const swsFinetune = 2000 * vitTrainFlops(FM(2));
    expect(c.depths).toEqual([2]);
    expect(c.swsFinetune.flops).toBe(swsFinetune);
    expect(c.scratch.flops).toBe(6000 * vitTrainFlops(FM(2)));
    expect(c.costRatio).toBeCloseTo(c.scratch.flops / (5e11 + swsFinetune), 12);
    expect(c.costRatioWithTeacher).toBeCloseTo(c.scratch.flops / (1.5e12 + swsFinetune), 12);
    expect(c.wallRatio).toBeCloseTo(30 / (50 + 20), 12);
    expect(c.lowerBound).toBe(false);
    // Each size saves (6000 − 2000) images' worth of training: the learngene pays off after learngene / saving sizes.
    expect(c.breakEvenSizes).toBeCloseTo(5e11 / (4000 * vitTrainFlops(FM(2))), 9);
    expect(costSummary('transfer', phases, rows, [target])).toBeNull();
  });
});

describe('acceptance and the report', () => {
  it('checks the issue\'s criteria per setting', () => {
    const stored = storedParams(FM(8), [2, 2, 2, 2], [6, 7, 8, 9, 10, 11, 12, 13, 14, 15], true);
    const checks = acceptance(syntheticRows(), stored, 2);
    const byId = new Map(checks.map((c) => [c.id, c]));
    expect(byId.get('same-labels:sws-vs-scratch-1ep')!.pass).toBe(true); // +10 points
    expect(byId.get('same-labels:sws-vs-scratch-final')!.pass).toBe(true);
    expect(byId.get('same-labels:sws-vs-teacher-copy')!.pass).toBe(true); // +0.5
    expect(byId.get('stored-params')!.pass).toBe(true);
    expect(byId.get('scratch-lrs')!.pass).toBe(true);
    const behind = syntheticRows().map((r) => (r.method === 'teacher-copy' && r.setting === 'transfer' && r.depth === 4 ? { ...r, top1_final: 0.87 } : r));
    const failed = acceptance(behind, stored, 1);
    expect(failed.find((c) => c.id === 'transfer:sws-vs-teacher-copy')!.pass).toBe(false); // −2 points
    expect(failed.find((c) => c.id === 'transfer:sws-vs-teacher-copy')!.detail).toContain('d4 -2.00');
    expect(failed.find((c) => c.id === 'scratch-lrs')!.pass).toBe(false);
  });

  function synthetic(): SwsBenchResult {
    const rows = syntheticRows();
    const stored = storedParams(FM(8), [2, 2, 2, 2], [6, 7, 8, 9, 10, 11, 12, 13, 14, 15], true);
    const target = scratchToTarget({ setting: 'same-labels', depth: 2, lr: 1e-3, target: 0.85, config: FM(2), trainImages: 2000, top1ByEpoch: [0.7, 0.8], secondsByEpoch: [10, 10] });
    const phases = [phase('teacher', 1e12, 100), phase('aux-sws', 5e11, 50)];
    const cost = costSummary('same-labels', phases, rows, [target])!;
    return {
      command: 'npm run bench:sws -- --quick', mode: 'quick', date: '2026-11-27T00:00:00.000Z', seeds: { data: 0, init: 0 }, rows,
      stored_params_ratio: stored.ratio, cost_ratio: cost.costRatio, cost_ratio_lower_bound: cost.lowerBound, storedParams: stored,
      storedParamsTrainedDepths: storedParams(FM(8), [2, 2, 2, 2], [2, 4], true), pretrain: phases, scratchToTarget: [target], costs: [cost],
      acceptance: acceptance(rows, stored, 2), config: {}, timings: { totalSeconds: 60, phases: {} }, machine: { cpu: 'test', cores: 2, backend: 'wasm' },
      loadAverage: { start: [0.1, 0.1, 0.1], end: [1, 1, 1] }, notes: ['synthetic'],
    };
  }

  it('the JSON has every key the issue asks for (and the shape check notices a missing one)', () => {
    const result = JSON.parse(JSON.stringify(synthetic()));
    expect(checkResultShape(result)).toEqual([]);
    for (const key of ['command', 'rows', 'stored_params_ratio', 'cost_ratio', 'seeds', 'config', 'timings', 'machine', 'loadAverage']) expect(result).toHaveProperty(key);
    for (const key of ['setting', 'depth', 'method', 'params', 'top1_1ep', 'top1_final']) expect(result.rows[0]).toHaveProperty(key);
    delete result.cost_ratio;
    result.rows[1].method = 'magic';
    expect(checkResultShape(result)).toEqual(['missing "cost_ratio"', '"cost_ratio" is neither a number nor null', 'rows[1].method is "magic"']);
  });

  it('writes Markdown tables for both settings, the cost lines and the acceptance table', () => {
    const md = renderMarkdown(synthetic(), { discussion: ['It works.'], tried: ['Nothing else.'], recipe: ['Tiny.'] });
    expect(md).toContain('## Descendants: same-labels');
    expect(md).toContain('## Descendants: transfer');
    expect(md).toMatch(/\| 2 \| 104,970 \| 80\.00 \| 78\.00 \| 70\.00 \| 70\.00 \| 85\.00 \| 84\.50 \| 80\.00 \| 80\.00 \(lr 0\.001\) \| \+10\.00 \| \+5\.00 \| \+0\.50 \|/);
    expect(md).toContain('stored_params_ratio = 25.9×');
    expect(md).toContain('cost_ratio (scratch / SWS) = ≥ ');
    expect(md).toContain('| 2 | 85.00 | 0.001 | 70.0 80.0 | not within 2 |');
    expect(md).toContain('It works.');
    expect(md).toContain('- Nothing else.');
  });

  it('draws an SVG chart that sharp turns into a PNG', async () => {
    const svg = renderSvg({ rows: synthetic().rows, title: 'test' });
    expect(svg.startsWith('<svg')).toBe(true);
    expect(svg.match(/<path d="M[^"]*" fill="none"/g)!.length).toBe(4 * 2 * 2); // 4 methods × 2 settings × 2 panels
    for (const name of ['SWS', 'teacher-copy', 'TLEG', 'scratch (best lr)']) expect(svg).toContain(`>${name}</text>`);
    const png = await sharp(Buffer.from(svg)).png().toBuffer();
    const meta = await sharp(png).metadata();
    expect(meta.format).toBe('png');
    expect(meta.width).toBeGreaterThan(800);
  });
});
