// The pure half of `npm run bench:compression`: the acceptance checks and the
// report, on synthetic numbers where each check is known to pass or fail.

import { describe, expect, it } from 'vitest';
import { acceptance, checkResultShape, type CompressionResult, type CompressionRow, mainTable, renderMarkdown } from '../../../node/bench/compression-report.js';

function row(depth: number, variant: CompressionRow['variant'], fileBytes: number, top1: number, b64: number, extra: Partial<CompressionRow> = {}): CompressionRow {
  return { depth, variant, params: variant.startsWith('pruned') ? 50_000 : 100_000, fileBytes, top1, latencyMs: { b1: 0.5, b64 }, ...extra };
}

const good: CompressionRow[] = [
  row(2, 'fp32', 400_000, 0.8, 10, { engineTop1: 0.8 }),
  row(2, 'int8', 118_000, 0.795, 8, { checker: 'ok' }),
  row(2, 'int8-dynamic', 117_000, 0.797, 7),
  row(2, 'pruned', 210_000, 0.785, 6, { engineTop1: 0.785 }),
  row(2, 'pruned-int8', 66_000, 0.781, 5, { checker: 'ok' }),
];

describe('compression acceptance checks', () => {
  it('pass when every claim holds', () => {
    const checks = acceptance(good);
    expect(checks.map((c) => c.claim)).toEqual([
      'int8 file ≤ 30% of fp32',
      'int8 top-1 drop ≤ 1.0 point',
      'int8 batch-64 latency below fp32',
      'int8 passes onnx.checker (full_check)',
      'pruned 50% + 1 epoch within 2 points of the unpruned descendant',
    ]);
    expect(checks.every((c) => c.pass)).toBe(true);
    expect(checks[0]!.value).toBe('29.5%');
    expect(checks[1]!.value).toBe('-0.50 points vs fp32');
    expect(checks[2]!.value).toBe('8.00 vs 10.00 ms (0.80× in paired rounds)');
    expect(checks[4]!.value).toBe('-1.50 points vs unpruned');
  });

  it('fail on a file over 30%, a drop over a point, a slower int8, a failed check, a pruned model 2+ points down', () => {
    const bad = good.map((r) => ({ ...r, latencyMs: { ...r.latencyMs } }));
    bad[1] = { ...bad[1]!, fileBytes: 121_000, top1: 0.789, latencyMs: { b1: 0.5, b64: 10 }, checker: 'ValidationError: bad' };
    bad[3] = { ...bad[3]!, top1: 0.779 };
    expect(acceptance(bad).map((c) => c.pass)).toEqual([false, false, false, false, false]);
  });
});

describe('compression report', () => {
  const result: CompressionResult = {
    command: 'npm run bench:compression',
    date: '2026-01-01T00:00:00.000Z',
    importance: 'taylor',
    rows: good,
    importanceRows: [
      { depth: 2, importance: 'weight', top1Pruned: 0.7, top1Healed: 0.78 },
      { depth: 2, importance: 'taylor', top1Pruned: 0.65, top1Healed: 0.785 },
    ],
    extraEpoch: [{ depth: 2, top1: 0.81 }],
    config: {},
    machine: { cpu: 'test cpu', cores: 2, memoryGb: 24, platform: 'linux', node: 'v20', onnxruntime: '1.30.0', git: 'abc1234', gitDirty: false },
    timings: { totalSeconds: 600, phases: {} },
    notes: ['a note'],
  };

  it('has the keys the issue asks for', () => {
    expect(checkResultShape(result)).toEqual([]);
    expect(checkResultShape({ ...result, rows: [{ depth: 2, variant: 'int4' }] })).toEqual([
      'row 0 lacks "params"', 'row 0 lacks "fileBytes"', 'row 0 lacks "top1"', 'row 0 lacks "latencyMs"', 'row 0 has unknown variant "int4"',
    ]);
  });

  it('renders every variant against its fp32 row, the checks, and the importance table', () => {
    const table = mainTable(good);
    expect(table.split('\n')).toHaveLength(7);
    expect(table).toContain('| 2 | int8 (static QDQ) | 100,000 | 115 KiB | 29.5% | 79.50% | -0.50 | 0.500 ms | 8.00 ms | 0.80× |');
    expect(table).toContain('| 2 | fp32 | 100,000 | 391 KiB | 100.0% | 80.00% | — | 0.500 ms | 10.00 ms | — |');
    const md = renderMarkdown(result, { recipe: ['the recipe'] });
    expect(md).toContain('Measured with `npm run bench:compression` on 2026-01-01 (10 min), commit abc1234.');
    expect(md).toContain('| 2 | int8 batch-64 latency below fp32 | 8.00 vs 10.00 ms (0.80× in paired rounds) | yes |');
    // The paired-round ratio, when measured, is what the table and the check use.
    const paired = good.map((r) => (r.variant === 'int8' ? { ...r, latencyVsFp32: { b1: 1.1, b64: 1.02 } } : r));
    expect(mainTable(paired)).toContain('| 8.00 ms | 1.02× |');
    expect(acceptance(paired)[2]).toMatchObject({ pass: false, value: '8.00 vs 10.00 ms (1.02× in paired rounds)' });
    expect(md).toContain('| 2 | 80.00% | 81.00% | 70.00% | 78.00% | 65.00% | 78.50% |');
    expect(md).toContain('- the recipe');
    expect(md).toContain('- a note');
    const resumed = renderMarkdown({ ...result, timings: { ...result.timings, reusedPhases: ['demo [train]', 'demo [aux-sws]'] } });
    expect(resumed).toContain('(10 min, reusing 2 training phases an earlier run of the same command had finished), commit abc1234.');
  });
});
