// A job as the window shows it, built from its progress events by a pure reducer
// (so it can be tested without a DOM, and replayed from events() after a restart).
import type { JobInfo, JobRequest, JobStatus } from '../../../shared/api.js';
import type { ProgressEvent } from '../../../shared/events.js';
import type { JobResult } from '../../../shared/results.js';

export interface Point {
  x: number;
  y: number;
}

export type StepEvent = Extract<ProgressEvent, { type: 'step' }>;

export interface JobView {
  id: string;
  kind: JobInfo['kind'];
  status: JobStatus;
  request: JobRequest | null;
  runDir: string;
  /** Phases in the order they started ("teacher", "aux-net", "sws-d2" …). */
  phases: string[];
  phase: string | null;
  /** Training loss by phase; x = epochs done (fractional), y = total loss. */
  loss: Record<string, Point[]>;
  /** Validation top-1 (fraction) by phase; x = epoch (1-based). */
  valTop1: Record<string, Point[]>;
  /** Validation loss by phase; x = epoch (1-based). */
  valLoss: Record<string, Point[]>;
  /** Top-1 on the training batches by phase; x = epochs done (fractional). */
  trainTop1: Record<string, Point[]>;
  /** Distillation: agreement with the teacher on the training batches, by phase. */
  agreement: Record<string, Point[]>;
  /** The learning rate by phase, step by step. */
  lr: Record<string, Point[]>;
  lastStep: StepEvent | null;
  logs: { level: 'info' | 'warn' | 'error'; message: string; time: number }[];
  checkpoint: string | null;
  result: JobResult | undefined;
  error: { message: string; field?: string; file?: string; name?: string } | null;
  updatedAt: number;
}

const MAX_LOGS = 200;
/** Loss points kept per phase; older ones are thinned so long runs stay cheap to draw. */
const MAX_POINTS = 2000;

export function emptyView(info: Pick<JobInfo, 'id' | 'kind' | 'status' | 'runDir'> & { request?: JobRequest }): JobView {
  return {
    id: info.id,
    kind: info.kind,
    status: info.status,
    request: info.request ?? null,
    runDir: info.runDir,
    phases: [],
    phase: null,
    loss: {},
    valTop1: {},
    valLoss: {},
    trainTop1: {},
    agreement: {},
    lr: {},
    lastStep: null,
    logs: [],
    checkpoint: null,
    result: undefined,
    error: null,
    updatedAt: 0,
  };
}

function appendPoint(series: Record<string, Point[]>, phase: string, point: Point): Record<string, Point[]> {
  let points = [...(series[phase] ?? []), point];
  if (points.length > MAX_POINTS) points = points.filter((_, i) => i % 2 === 0 || i === points.length - 1);
  return { ...series, [phase]: points };
}

function withPhase(view: JobView, phase: string): Pick<JobView, 'phase' | 'phases'> {
  return { phase, phases: view.phases.includes(phase) ? view.phases : [...view.phases, phase] };
}

/** The view after one more event. Returns the same object when nothing changed. */
export function applyEvent(view: JobView, event: ProgressEvent): JobView {
  const updatedAt = event.time;
  switch (event.type) {
    case 'queued':
      return { ...view, status: 'queued', error: null, updatedAt };
    case 'started':
      return { ...view, status: 'running', error: null, updatedAt, ...(event.runDir ? { runDir: event.runDir } : {}) };
    case 'step': {
      const total = event.losses.total ?? Object.values(event.losses)[0];
      const x = event.epoch + (event.step + 1) / event.stepsPerEpoch;
      return {
        ...view,
        ...withPhase(view, event.phase),
        status: 'running',
        lastStep: event,
        loss: total === undefined || !Number.isFinite(total) ? view.loss : appendPoint(view.loss, event.phase, { x, y: total }),
        trainTop1: event.trainTop1 === undefined ? view.trainTop1 : appendPoint(view.trainTop1, event.phase, { x, y: event.trainTop1 }),
        agreement: event.agreement === undefined ? view.agreement : appendPoint(view.agreement, event.phase, { x, y: event.agreement }),
        lr: appendPoint(view.lr, event.phase, { x, y: event.lr }),
        updatedAt,
      };
    }
    case 'epoch':
      return {
        ...view,
        ...withPhase(view, event.phase),
        valTop1: appendPoint(view.valTop1, event.phase, { x: event.epoch + 1, y: event.val.top1 }),
        valLoss: appendPoint(view.valLoss, event.phase, { x: event.epoch + 1, y: event.val.loss }),
        updatedAt,
      };
    case 'metric':
      return { ...view, logs: [...view.logs, { level: 'info' as const, message: `${event.phase}: ${event.name} = ${formatMetric(event.name, event.value)}`, time: event.time }].slice(-MAX_LOGS), updatedAt };
    case 'log':
      return { ...view, logs: [...view.logs, { level: event.level, message: event.message, time: event.time }].slice(-MAX_LOGS), updatedAt };
    case 'checkpoint':
      return { ...view, checkpoint: event.path, updatedAt };
    case 'done':
      return { ...view, status: 'done', result: event.result, updatedAt };
    case 'error':
      return {
        ...view,
        status: 'error',
        error: { message: event.message, ...(event.field ? { field: event.field } : {}), ...(event.file ? { file: event.file } : {}), ...(event.name ? { name: event.name } : {}) },
        logs: [...view.logs, { level: 'error' as const, message: event.message, time: event.time }].slice(-MAX_LOGS),
        updatedAt,
      };
    case 'cancelled':
      return { ...view, status: 'cancelled', checkpoint: event.checkpoint ?? view.checkpoint, updatedAt };
  }
}

function formatMetric(name: string, value: number): string {
  return /top|acc/i.test(name) ? `${(value * 100).toFixed(1)}%` : value.toPrecision(4);
}

/** Fraction of the current phase done, from its last step. */
export function phaseProgress(view: JobView): number | null {
  const s = view.lastStep;
  if (!s || s.epochs === 0) return null;
  return Math.min(1, (s.epoch + (s.step + 1) / s.stepsPerEpoch) / s.epochs);
}

/** Total points across series (what a chart draws). */
export function countPoints(series: Record<string, Point[]>): number {
  return Object.values(series).reduce((n, points) => n + points.length, 0);
}
