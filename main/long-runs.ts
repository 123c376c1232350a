// The desktop comforts of long runs, driven by the jobs' own events: while a training job
// runs the system may not suspend the app (a power-save blocker), the taskbar / dock shows
// its progress, and when a job ends a desktop notification says how. The same events the
// window gets (node/studio backend → main → window); nothing here computes anything.

import type { StudioApi } from '../shared/api.js';
import type { JobKind, ProgressEvent } from '../shared/events.js';

/** What this needs of Electron (tests pass fakes). */
export interface LongRunElectron {
  powerSaveBlocker: { start(type: 'prevent-app-suspension'): number; stop(id: number): void };
  Notification: { isSupported(): boolean; new (options: { title: string; body: string; silent?: boolean }): { show(): void } };
}

/** The window's taskbar / dock progress: 0..1, or -1 to remove it. */
export interface ProgressTarget {
  setProgressBar(progress: number): void;
  isDestroyed?(): boolean;
}

/** Jobs that train (and so run long); the others end in seconds and say nothing. */
const TRAINING: ReadonlySet<JobKind> = new Set<JobKind>(['train', 'distill', 'finetune', 'compare', 'demo']);

const WHAT: Record<JobKind, string> = {
  train: 'Training', distill: 'Distillation', finetune: 'Fine-tuning', compare: 'Growing and fine-tuning descendants', demo: 'The demo',
  grow: 'Growing', evaluate: 'Evaluation', export: 'The export', import: 'The import', prune: 'Pruning',
};

/** Fraction of a job's current phase done, from a step event. */
export function stepFraction(event: Extract<ProgressEvent, { type: 'step' }>): number {
  if (event.epochs <= 0 || event.stepsPerEpoch <= 0) return 0;
  return Math.min(1, (event.epoch + (event.step + 1) / event.stepsPerEpoch) / event.epochs);
}

export function watchLongRuns(electron: LongRunElectron, api: Pick<StudioApi, 'on'>, window: () => ProgressTarget | null): () => void {
  const kinds = new Map<string, JobKind>();
  const running = new Set<string>();
  let blocker: number | null = null;

  const progress = (value: number) => {
    const target = window();
    if (target && !target.isDestroyed?.()) target.setProgressBar(value);
  };
  const notify = (body: string) => {
    if (!electron.Notification.isSupported()) return;
    new electron.Notification({ title: 'Learngene Studio', body }).show();
  };

  const unsubscribe = api.on((event) => {
    if (event.type === 'queued' || event.type === 'started') kinds.set(event.jobId, event.kind);
    const kind = kinds.get(event.jobId);
    if (!kind || !TRAINING.has(kind)) return;
    switch (event.type) {
      case 'started':
        running.add(event.jobId);
        blocker ??= electron.powerSaveBlocker.start('prevent-app-suspension');
        progress(0);
        break;
      case 'step':
        progress(stepFraction(event));
        break;
      case 'done':
      case 'error':
      case 'cancelled': {
        running.delete(event.jobId);
        kinds.delete(event.jobId);
        if (running.size === 0) {
          if (blocker !== null) electron.powerSaveBlocker.stop(blocker);
          blocker = null;
          progress(-1);
        }
        const what = WHAT[kind];
        notify(event.type === 'done' ? `${what} finished.` : event.type === 'error' ? `${what} failed: ${event.message}` : `${what} was stopped${event.checkpoint ? ' (it can be resumed)' : ''}.`);
        break;
      }
    }
  });

  return () => {
    unsubscribe();
    if (blocker !== null) electron.powerSaveBlocker.stop(blocker);
    blocker = null;
  };
}
