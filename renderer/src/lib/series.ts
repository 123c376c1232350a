// Chart series from job views.
import type { JobView, Point } from './job-view.js';

export interface ChartSeries {
  label: string;
  points: Point[];
  dashed?: boolean;
}

export function lossSeries(view: JobView | null): ChartSeries[] {
  if (!view) return [];
  return view.phases.filter((p) => view.loss[p]?.length).map((phase) => ({ label: phase, points: view.loss[phase]! }));
}

export function top1Series(view: JobView | null): ChartSeries[] {
  if (!view) return [];
  return view.phases.filter((p) => view.valTop1[p]?.length).map((phase) => ({ label: phase, points: view.valTop1[phase]! }));
}

/** One series per phase of a per-step record of the view. */
function perPhase(view: JobView | null, pick: (view: JobView) => Record<string, Point[]>, suffix = '', dashed = false): ChartSeries[] {
  if (!view) return [];
  const series = pick(view);
  return view.phases.filter((p) => series[p]?.length).map((phase) => ({ label: `${phase}${suffix}`, points: series[phase]!, dashed }));
}

/** Validation top-1 per epoch, with top-1 on the training batches step by step (dashed). */
export function accuracySeries(view: JobView | null): ChartSeries[] {
  return [...top1Series(view), ...perPhase(view, (v) => v.trainTop1, ' · train batches', true)];
}

export function lrSeries(view: JobView | null): ChartSeries[] {
  return perPhase(view, (v) => v.lr);
}

/** Distillation: how often the student's top class is the teacher's. */
export function agreementSeries(view: JobView | null): ChartSeries[] {
  return perPhase(view, (v) => v.agreement);
}
