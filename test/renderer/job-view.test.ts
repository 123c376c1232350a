// The window's pure modules, tested in Node (they import only shared/ types).
import { describe, expect, it } from 'vitest';
import { applyEvent, countPoints, emptyView, phaseProgress } from '../../renderer/src/lib/job-view.js';
import { accuracySeries, agreementSeries, lrSeries } from '../../renderer/src/lib/series.js';
import { baseName, commonParent, dirName, joinPath, slug } from '../../renderer/src/lib/paths.js';
import { duration, parseDepths, percent } from '../../renderer/src/lib/format.js';
import { PRESETS, presetSettings } from '../../renderer/src/lib/presets.js';
import { validateOptimConfig, validateDistillLoss } from '../../shared/config.js';
import type { ProgressEvent } from '../../shared/events.js';

const at = (time: number, event: Record<string, unknown>) => ({ jobId: 'j', time, ...event }) as ProgressEvent;
const step = (time: number, epoch: number, s: number, total: number) =>
  at(time, { type: 'step', phase: 'aux-sws', epoch, epochs: 2, step: s, stepsPerEpoch: 4, losses: { total, kd: total }, lr: 1e-3, imagesPerSec: 100, etaSeconds: 3 });

describe('job view reducer', () => {
  it('builds curves, progress and status from events', () => {
    let view = emptyView({ id: 'j', kind: 'distill', status: 'queued', runDir: '' });
    const events = [
      at(1, { type: 'queued', kind: 'distill' }),
      at(2, { type: 'started', kind: 'distill', runDir: '/p/runs/j' }),
      step(3, 0, 0, 2.0),
      step(4, 0, 3, 1.5),
      at(5, { type: 'epoch', phase: 'aux-sws', epoch: 0, epochs: 2, trainLoss: 1.7, val: { loss: 1.2, top1: 0.6, top5: 1, n: 10 }, seconds: 1 }),
      at(6, { type: 'checkpoint', path: '/p/runs/j/phases/aux-sws/checkpoint-4.safetensors', epoch: 1, step: 4 }),
      step(7, 1, 1, 1.0),
    ];
    for (const e of events) view = applyEvent(view, e);
    expect(view.status).toBe('running');
    expect(view.runDir).toBe('/p/runs/j');
    expect(view.phases).toEqual(['aux-sws']);
    expect(view.loss['aux-sws']).toEqual([{ x: 0.25, y: 2 }, { x: 1, y: 1.5 }, { x: 1.5, y: 1 }]);
    expect(view.valTop1['aux-sws']).toEqual([{ x: 1, y: 0.6 }]);
    expect(countPoints(view.loss)).toBe(3);
    expect(phaseProgress(view)).toBeCloseTo(0.75);
    expect(view.checkpoint).toMatch(/checkpoint-4/);
    view = applyEvent(view, at(8, { type: 'cancelled', checkpoint: '/c' }));
    expect(view).toMatchObject({ status: 'cancelled', checkpoint: '/c' });
    view = applyEvent(view, at(9, { type: 'queued', kind: 'distill' }));
    view = applyEvent(view, at(10, { type: 'error', message: 'out of memory', file: '/x' }));
    expect(view).toMatchObject({ status: 'error', error: { message: 'out of memory', file: '/x' } });
    view = applyEvent(view, at(11, { type: 'done', result: { out: '/p/learngene' } }));
    expect(view).toMatchObject({ status: 'done', result: { out: '/p/learngene' }, updatedAt: 11 });
  });

  it('thins long curves and keeps logs bounded', () => {
    let view = emptyView({ id: 'j', kind: 'train', status: 'running', runDir: '' });
    for (let i = 0; i < 5000; i++) view = applyEvent(view, at(i, { type: 'step', phase: 'train', epoch: 0, epochs: 1, step: i, stepsPerEpoch: 5000, losses: { total: 1 }, lr: 1, imagesPerSec: 1, etaSeconds: 1 }));
    for (let i = 0; i < 500; i++) view = applyEvent(view, at(i, { type: 'log', level: 'info', message: `line ${i}` }));
    expect(view.loss.train!.length).toBeLessThanOrEqual(2000);
    expect(view.loss.train!.at(-1)!.x).toBe(1);
    expect(view.logs).toHaveLength(200);
    expect(view.logs.at(-1)!.message).toBe('line 499');
  });
});

describe('window helpers', () => {
  it('joins and splits paths without node:path', () => {
    expect(joinPath('/p/', 'descendants', 'sws-d2')).toBe('/p/descendants/sws-d2');
    expect(baseName('/p/exports/sws-d2.onnx')).toBe('sws-d2.onnx');
    expect(baseName('C:\\data\\mnist\\')).toBe('mnist');
    expect(dirName('/p/a/b')).toBe('/p/a');
    expect(commonParent(['/d/mnist/train-images-idx3-ubyte.gz', '/d/mnist/train-labels-idx1-ubyte.gz'])).toBe('/d/mnist');
    expect(commonParent(['/d/cifar.zip'])).toBe('/d/cifar.zip');
    expect(slug(' my model! ')).toBe('my-model');
  });

  it('parses depth lists and formats numbers', () => {
    expect(parseDepths('2, 4,6')).toEqual([2, 4, 6]);
    expect(parseDepths('2, x')).toBeNull();
    expect(parseDepths('0')).toBeNull();
    expect(percent(0.9123)).toBe('91.2%');
    expect(duration(3725)).toBe('1h 02m');
  });

  it('every preset passes the job service\'s validation', () => {
    for (const name of Object.keys(PRESETS) as (keyof typeof PRESETS)[]) {
      const s = presetSettings(name);
      expect(validateOptimConfig(s.optim)).toEqual([]);
      expect(validateDistillLoss(s)).toEqual([]);
    }
    expect(presetSettings('paper').optim).toMatchObject({ lr: 5e-4, batchSize: 512, weightDecay: 0.05, warmupEpochs: 5 });
  });
});

describe('chart series of training batches', () => {
  it('keeps train top-1, agreement with the teacher and the learning rate per phase, step by step', () => {
    let view = emptyView({ id: 'j', kind: 'distill', status: 'running', runDir: '' });
    const withMetrics = (time: number, s: number, trainTop1: number, agreement: number, lr: number) =>
      at(time, { type: 'step', phase: 'aux-sws', epoch: 0, epochs: 1, step: s, stepsPerEpoch: 2, losses: { total: 1 }, lr, trainTop1, agreement, imagesPerSec: 1, etaSeconds: 1 });
    view = applyEvent(view, withMetrics(1, 0, 0.25, 0.5, 1e-3));
    view = applyEvent(view, withMetrics(2, 1, 0.75, 0.875, 5e-4));
    view = applyEvent(view, at(3, { type: 'epoch', phase: 'aux-sws', epoch: 0, epochs: 1, trainLoss: 1, val: { loss: 1, top1: 0.6, top5: 1, n: 4 }, seconds: 1 }));
    expect(accuracySeries(view)).toEqual([
      { label: 'aux-sws', points: [{ x: 1, y: 0.6 }] },
      { label: 'aux-sws · train batches', points: [{ x: 0.5, y: 0.25 }, { x: 1, y: 0.75 }], dashed: true },
    ]);
    expect(agreementSeries(view)[0]!.points).toEqual([{ x: 0.5, y: 0.5 }, { x: 1, y: 0.875 }]);
    expect(lrSeries(view)[0]!.points.map((p) => p.y)).toEqual([1e-3, 5e-4]);
    // A plain training run has no agreement series.
    let plain = emptyView({ id: 'k', kind: 'train', status: 'running', runDir: '' });
    plain = applyEvent(plain, step(1, 0, 0, 2));
    expect(agreementSeries(plain)).toEqual([]);
  });
});
