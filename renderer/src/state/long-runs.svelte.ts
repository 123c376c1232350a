// Long runs in the browser studio (the desktop app does the same in its main process,
// main/long-runs.ts): the tab's title shows the running job's progress, and a job that
// ends says so in a notification when the page may show them (asked on the first start).
import type { JobKind, ProgressEvent } from '../../../shared/events.js';
import { api, host } from '../lib/api.js';
import { phaseProgress } from '../lib/job-view.js';
import { jobs } from './jobs.svelte.js';

const TRAINING: ReadonlySet<JobKind> = new Set<JobKind>(['train', 'distill', 'finetune', 'compare', 'demo']);
const TITLE = 'Learngene Studio';

/** The page title: the running training job's progress first. */
export function pageTitle(): string {
  const running = jobs.running.find((v) => TRAINING.has(v.kind) && v.status === 'running');
  const progress = running ? phaseProgress(running) : null;
  return progress === null ? TITLE : `${Math.round(progress * 100)}% · ${TITLE}`;
}

function notificationsAllowed(): boolean {
  return host.kind === 'browser' && typeof Notification !== 'undefined' && Notification.permission === 'granted';
}

/** Asked from a click that starts a job (browsers want a user gesture). */
export function askForNotifications(): void {
  if (host.kind === 'browser' && typeof Notification !== 'undefined' && Notification.permission === 'default') void Notification.requestPermission().catch(() => undefined);
}

/** Notifies when a training job ends; returns the unsubscribe. */
export function watchEndings(): () => void {
  return api.on((event: ProgressEvent) => {
    if (event.type !== 'done' && event.type !== 'error' && event.type !== 'cancelled') return;
    const kind = jobs.view(event.jobId)?.kind;
    if (!kind || !TRAINING.has(kind) || !notificationsAllowed()) return;
    const body = event.type === 'done' ? `${kind} finished` : event.type === 'error' ? `${kind} failed: ${event.message}` : `${kind} stopped`;
    new Notification(TITLE, { body });
  });
}
