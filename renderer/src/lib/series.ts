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
