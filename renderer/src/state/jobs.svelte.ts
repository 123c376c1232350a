// Every job of the project, as views built from progress events. Jobs live on disk:
// after a restart, list() and events() rebuild the same views.
import type { JobInfo, JobRequest, SubmitOptions } from '../../../shared/api.js';
import type { JobKind, ProgressEvent } from '../../../shared/events.js';
import { api } from '../lib/api.js';
import { applyEvent, emptyView, type JobView } from '../lib/job-view.js';
import { askForNotifications } from './long-runs.svelte.js';

class Jobs {
  /** By id; replaced (not mutated) on every event, so views can be $state.raw. */
  views = $state.raw<Record<string, JobView>>({});
  ready = $state(false);

  /** Newest first. */
  all = $derived(Object.values(this.views).sort((a, b) => b.updatedAt - a.updatedAt));
  running = $derived(this.all.filter((v) => v.status === 'running' || v.status === 'queued'));

  private unsubscribe: (() => void) | null = null;

  async init(): Promise<void> {
    this.unsubscribe ??= api.on((event) => this.handle(event));
    const infos = await api.list();
    const views: Record<string, JobView> = { ...this.views };
    for (const info of infos) {
      let view = emptyView(info);
      for (const event of await api.events(info.id).catch(() => [] as ProgressEvent[])) view = applyEvent(view, event);
      // The service's status wins (e.g. a run whose process died shows as stopped).
      views[info.id] = { ...view, status: info.status, request: info.request, result: info.result ?? view.result, updatedAt: Math.max(view.updatedAt, info.updatedAt) };
    }
    this.views = views;
    this.ready = true;
  }

  handle(event: ProgressEvent): void {
    const current = this.views[event.jobId] ?? emptyView({ id: event.jobId, kind: (event as { kind?: JobKind }).kind ?? 'train', status: 'queued', runDir: '' });
    const next = applyEvent(current, event);
    if (next !== current) this.views = { ...this.views, [event.jobId]: next };
  }

  private remember(info: JobInfo): void {
    const current = this.views[info.id];
    const base = current ?? emptyView(info);
    this.views = { ...this.views, [info.id]: { ...base, kind: info.kind, request: info.request, runDir: info.runDir || base.runDir, updatedAt: Math.max(base.updatedAt, info.updatedAt) } };
  }

  async submit(request: JobRequest, options: SubmitOptions = {}): Promise<JobInfo> {
    askForNotifications();
    const info = await api.submit(request, options);
    this.remember(info);
    return info;
  }

  async cancel(id: string): Promise<void> {
    await api.cancel(id);
  }

  async resume(id: string, options: SubmitOptions = {}): Promise<JobInfo> {
    const info = await api.resume(id, options);
    this.remember(info);
    return info;
  }

  view(id: string | null | undefined): JobView | null {
    return id ? (this.views[id] ?? null) : null;
  }

  /** The newest job of a kind matching `where`. */
  latest(kind: JobKind, where: (view: JobView) => boolean = () => true): JobView | null {
    return this.all.find((v) => v.kind === kind && where(v)) ?? null;
  }

  dispose(): void {
    this.unsubscribe?.();
    this.unsubscribe = null;
  }
}

export const jobs = new Jobs();
