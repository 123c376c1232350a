// The desktop comforts of long runs (main/long-runs.ts), driven by job events through a
// fake Electron: the power-save blocker holds exactly while training jobs run, the
// taskbar progress follows the steps and is removed at the end, every ending notifies.

import { describe, expect, it } from 'vitest';
import type { ProgressEvent } from '../../shared/events.js';
import { stepFraction, watchLongRuns, type LongRunElectron } from '../../main/long-runs.js';

function fakes() {
  const calls: string[] = [];
  let next = 40;
  const electron: LongRunElectron = {
    powerSaveBlocker: {
      start: (type) => (calls.push(`block ${type}`), ++next),
      stop: (id) => void calls.push(`unblock ${id}`),
    },
    Notification: class {
      static isSupported() {
        return true;
      }
      constructor(private readonly options: { title: string; body: string }) {}
      show() {
        calls.push(`notify ${this.options.body}`);
      }
    },
  };
  const progress: number[] = [];
  let listener: ((event: ProgressEvent) => void) | null = null;
  const api = { on: (l: (event: ProgressEvent) => void) => ((listener = l), () => (listener = null)) };
  const window = { setProgressBar: (p: number) => void progress.push(Number(p.toFixed(3))) };
  const stop = watchLongRuns(electron, api, () => window);
  const emit = (event: Record<string, unknown>) => listener!({ time: 0, ...event } as ProgressEvent);
  return { calls, progress, emit, stop, listening: () => listener !== null };
}

const step = (jobId: string, epoch: number, s: number) => ({ type: 'step', jobId, phase: 'train', epoch, epochs: 2, step: s, stepsPerEpoch: 4, losses: { total: 1 }, lr: 1e-3, imagesPerSec: 1, etaSeconds: 1 });

describe('long runs on the desktop', () => {
  it('blocks suspension while training jobs run, shows their progress, notifies at each end', () => {
    const f = fakes();
    f.emit({ type: 'queued', jobId: 'a', kind: 'distill' });
    f.emit({ type: 'started', jobId: 'a', kind: 'distill' });
    f.emit(step('a', 0, 1));
    f.emit({ type: 'queued', jobId: 'b', kind: 'train' });
    f.emit({ type: 'started', jobId: 'b', kind: 'train' });
    f.emit(step('b', 1, 3));
    f.emit({ type: 'done', jobId: 'a', result: { kind: 'distill' } });
    f.emit({ type: 'error', jobId: 'b', message: 'loss became NaN' });
    expect(f.calls).toEqual(['block prevent-app-suspension', 'notify Distillation finished.', 'unblock 41', 'notify Training failed: loss became NaN']);
    expect(f.progress).toEqual([0, 0.25, 0, 1, -1]);
    f.stop();
    expect(f.listening()).toBe(false);
  });

  it('says nothing for quick jobs (export, evaluate), and a cancelled run can be resumed', () => {
    const f = fakes();
    f.emit({ type: 'started', jobId: 'x', kind: 'export' });
    f.emit({ type: 'done', jobId: 'x', result: { kind: 'export' } });
    expect(f.calls).toEqual([]);
    f.emit({ type: 'started', jobId: 'c', kind: 'compare' });
    f.emit({ type: 'cancelled', jobId: 'c', checkpoint: '/p/runs/c/phases/x/checkpoint-3.safetensors' });
    expect(f.calls).toEqual(['block prevent-app-suspension', 'unblock 41', 'notify Growing and fine-tuning descendants was stopped (it can be resumed).']);
  });

  it('releases the blocker when the window goes away mid-run', () => {
    const f = fakes();
    f.emit({ type: 'started', jobId: 'a', kind: 'train' });
    f.stop();
    expect(f.calls).toEqual(['block prevent-app-suspension', 'unblock 41']);
  });

  it('measures a step as the fraction of its phase', () => {
    expect(stepFraction(step('a', 0, 3) as never)).toBe(0.5);
    expect(stepFraction(step('a', 1, 3) as never)).toBe(1);
  });
});
