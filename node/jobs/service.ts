// The job service: the jobs half of the studio backend (node/studio/backend.ts) behind
// the CLI, the studio server and the Electron app. It validates a request before anything
// exists for it (shape, inputs present, outputs ours to replace), gives each job a run
// folder (request.json, status.json, events.jsonl, lock, phase checkpoints), queues jobs,
// and runs each one in its own worker thread, so training never blocks the thread that
// serves the UI or handles Ctrl-C, and a crash or OOM of a job ends that job only. It
// knows nothing of its host: the CLI and browser mode run it in their own process, the
// desktop app in a utility process (node/studio/service-process.ts).
//
// Lifecycle of a job:  submit/resume → queued → running → done | error | cancelled.
// status.json is rewritten atomically at each transition; every event is appended to
// events.jsonl and forwarded to listeners (step events throttled, see throttle.ts).

import { existsSync, promises as fs } from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Worker, type ResourceLimits } from 'node:worker_threads';
import type { JobApi, JobInfo, JobRequest, JobStatus, SubmitOptions } from '../../shared/api.js';
import { RUN_ID_PATTERN, validateRequest, validateRunId, validateSubmitOptions } from '../../shared/api.js';
import { assertValid, ConfigError } from '../../shared/config.js';
import type { JobEvent, JobKind, ProgressEvent } from '../../shared/events.js';
import type { JobResult } from '../../shared/results.js';
import { FormatError } from '../../engine/io/errors.js';
import { acquireRunLock, lockIsLive, readLock, RunLockedError, type RunLock } from './lock.js';
import { absoluteRequest, checkInputsExist } from './request-paths.js';
import { checkOutputsReplaceable, withFreeOutput } from './outputs.js';
import {
  EVENTS_FILE, EventLog, createRunFolder, ensureProject, listRunDirs, readRunEvents, readRunRequest, readRunStatus,
  writeRunStatus, REQUEST_FILE, type RunStatus,
} from './run-folder.js';
import { readJobFromDisk } from './run-info.js';
import { StepThrottle, DEFAULT_STEP_INTERVAL_MS } from './throttle.js';
import { isInputError, type SerializedError, type WorkerInput, type WorkerMessage } from './worker-protocol.js';

export interface JobServiceOptions {
  /** The project folder: runs go to <projectDir>/runs/<id>/. Created on first submit. */
  projectDir: string;
  /** Jobs running at once (each in its own worker thread). Default 1. */
  maxConcurrent?: number;
  /** Default tfjs backend of jobs ('auto': the fastest usable); a submit may override it. */
  backend?: string;
  /** Minimum time between two step events of one job forwarded to listeners. Default 250 ms. */
  stepIntervalMs?: number;
  /** Heap limits of each worker; exceeding them ends the job with an out-of-memory error. */
  resourceLimits?: ResourceLimits;
  /** Modules each worker imports before its job (extra handlers via registerHandler, test faults). */
  preload?: (string | URL)[];
  /** The compiled worker script; default: worker.js beside this module (or in dist/ when run from source). */
  workerFile?: string | URL;
  /** What relative paths in requests resolve against (the studio: the project; the CLI: the working folder, the default). */
  baseDir?: string;
}

type Listener = (event: ProgressEvent) => void;

export { readJobFromDisk };

/** Kinds without a training phase to checkpoint: a cancel stops their thread at once
 *  (their outputs are written atomically, so nothing half-written remains). */
const STOP_AT_ONCE: ReadonlySet<JobKind> = new Set<JobKind>(['evaluate', 'export', 'import', 'grow', 'prune']);
const FINAL: ReadonlySet<JobStatus> = new Set<JobStatus>(['done', 'error', 'cancelled']);

type Outcome =
  | { status: 'done'; result: JobResult }
  | { status: 'cancelled'; checkpoint: string | null }
  | { status: 'error'; error: SerializedError };

interface Job {
  info: JobInfo;
  disk: RunStatus;
  log: EventLog;
  lock: RunLock;
  throttle: StepThrottle;
  /** Created by submit (not a resume): an input error removes its run folder again. */
  fresh: boolean;
  /** Project folders/files this job's submit created (removed with the run when they stay empty). */
  createdPaths: string[];
  worker: Worker | null;
  /** Holds one of the maxConcurrent slots. */
  hasSlot: boolean;
  cancelFlag: Int32Array | null;
  cancelRequested: boolean;
  outcome: Outcome | null;
  lastCheckpoint: string | null;
  statusWrites: Promise<void>;
  settled: Promise<JobInfo>;
  resolveSettled(info: JobInfo): void;
}

/** The compiled worker: beside this module in dist/, or dist/node/jobs/worker.js when this runs from source (tests). */
export function defaultWorkerFile(): URL {
  const here = new URL('./worker.js', import.meta.url);
  if (import.meta.url.endsWith('.ts')) return new URL('../../dist/node/jobs/worker.js', import.meta.url);
  return here;
}

export class JobService implements JobApi {
  readonly projectDir: string;
  private readonly maxConcurrent: number;
  private readonly backend: string;
  private readonly stepIntervalMs: number;
  private readonly resourceLimits: ResourceLimits | undefined;
  private readonly preload: string[];
  private readonly workerFile: URL;
  private readonly baseDir: string;
  private readonly jobs = new Map<string, Job>();
  private readonly queue: Job[] = [];
  private readonly listeners = new Set<Listener>();
  private running = 0;

  constructor(options: JobServiceOptions) {
    assertValid(validateSubmitOptions({ backend: options.backend }));
    this.projectDir = path.resolve(options.projectDir);
    this.maxConcurrent = Math.max(1, Math.floor(options.maxConcurrent ?? 1));
    this.backend = options.backend ?? 'auto';
    this.stepIntervalMs = options.stepIntervalMs ?? DEFAULT_STEP_INTERVAL_MS;
    this.resourceLimits = options.resourceLimits;
    this.baseDir = path.resolve(options.baseDir ?? process.cwd());
    this.preload = (options.preload ?? []).map((m) => (m instanceof URL ? m.href : pathToFileURL(path.resolve(m)).href));
    this.workerFile = options.workerFile instanceof URL ? options.workerFile : options.workerFile ? pathToFileURL(path.resolve(options.workerFile)) : defaultWorkerFile();
    if (!existsSync(fileURLToPath(this.workerFile))) {
      throw new Error(`the job worker ${fileURLToPath(this.workerFile)} is missing (build it with "npm run build")`);
    }
  }

  // ---------------------------------------------------------------- JobApi

  /** Validates, creates runs/<id>/ and queues the job. Rejects (ConfigError) before creating anything. */
  async submit(request: JobRequest, options: SubmitOptions = {}): Promise<JobInfo> {
    assertValid([...validateRequest(request), ...validateSubmitOptions(options)]);
    const given = absoluteRequest(request, this.baseDir);
    const absolute = options.newVersion ? await withFreeOutput(given) : given;
    await checkInputsExist(absolute);
    await checkOutputsReplaceable(absolute, options.force);
    const createdPaths = await ensureProject(this.projectDir);
    let runDir: string | null = null;
    let lock: RunLock;
    try {
      runDir = await createRunFolder(this.projectDir, absolute);
      lock = await acquireRunLock(runDir); // a new folder: nobody else can hold it
    } catch (error) {
      // A full disk or an unwritable project: leave no half-made run behind.
      await this.removeCreated(runDir, createdPaths);
      throw error;
    }
    const now = Date.now();
    const job = this.track(runDir, absolute, lock, {
      id: path.basename(runDir),
      kind: absolute.kind,
      status: 'queued',
      createdAt: now,
      updatedAt: now,
      options: { checkpointEvery: options.checkpointEvery ?? 0, backend: options.backend ?? this.backend },
      sessions: 1,
    }, { fresh: true, createdPaths });
    return this.enqueue(job);
  }

  /**
   * Runs a killed, cancelled or failed run again in its own folder: finished phases are
   * reused and an unfinished one continues from its newest checkpoint. Refused while
   * another process (or this service) runs it.
   */
  async resume(runDirOrId: string, options: SubmitOptions = {}): Promise<JobInfo> {
    assertValid(validateSubmitOptions(options));
    const runDir = await this.resolveRunDir(runDirOrId);
    const id = path.basename(runDir);
    const known = this.jobs.get(id);
    if (known && !FINAL.has(known.info.status)) {
      throw new RunLockedError(runDir, { pid: process.pid, hostname: 'this host', startedAt: new Date(known.info.createdAt).toISOString() }, `it is already ${known.info.status} in this session`);
    }
    const request = await readRunRequest(runDir);
    const issues = validateRequest(request);
    if (issues.length > 0) {
      throw new FormatError(path.join(runDir, REQUEST_FILE), issues.map((i) => `${i.field} ${i.message}`).join('; '));
    }
    await checkInputsExist(request);
    await checkOutputsReplaceable(request, options.force);
    const previous = await readRunStatus(runDir);
    const was = previous ? describePrevious(previous, await this.lockState(runDir)) : 'never started by this version';
    const lock = await acquireRunLock(runDir);
    const now = Date.now();
    const job = this.track(runDir, request, lock, {
      id,
      kind: request.kind,
      status: 'queued',
      createdAt: previous?.createdAt ?? now,
      updatedAt: now,
      options: {
        checkpointEvery: options.checkpointEvery ?? previous?.options?.checkpointEvery ?? 0,
        // The backend the run actually used, so the resumed session computes what the first one would have.
        backend: options.backend ?? previous?.backendUsed ?? previous?.options?.backend ?? this.backend,
      },
      ...(previous?.backendUsed ? { backendUsed: previous.backendUsed } : {}),
      sessions: (previous?.sessions ?? 1) + 1,
    }, { fresh: false, createdPaths: [] });
    if (lock.tookOver) {
      const t = lock.tookOver;
      this.emit(job, { type: 'log', level: 'warn', message: `took over a stale lock: process ${t.pid} on ${t.hostname} (since ${t.startedAt}) is no longer running` });
    }
    this.emit(job, { type: 'log', level: 'info', message: `resuming ${runDir} (it was ${was})` });
    return this.enqueue(job);
  }

  async list(): Promise<JobInfo[]> {
    const infos = new Map<string, JobInfo>();
    for (const dir of await listRunDirs(this.projectDir)) {
      const info = await readJobFromDisk(dir);
      if (info) infos.set(info.id, info);
    }
    for (const job of this.jobs.values()) infos.set(job.info.id, this.snapshot(job));
    return [...infos.values()].sort((a, b) => a.createdAt - b.createdAt || a.id.localeCompare(b.id));
  }

  async get(id: string): Promise<JobInfo | null> {
    // Ids name runs/<id>/ of the project, never a path: nothing outside is read or written through them.
    assertValid(validateRunId(id));
    const job = this.jobs.get(id);
    if (job) return this.snapshot(job);
    return readJobFromDisk(path.join(this.projectDir, 'runs', id));
  }

  async events(id: string): Promise<ProgressEvent[]> {
    assertValid(validateRunId(id));
    const job = this.jobs.get(id);
    if (job) await job.log.flush();
    return readRunEvents(job?.info.runDir ?? path.join(this.projectDir, 'runs', id));
  }

  on(listener: Listener): () => void {
    this.listeners.add(listener);
    return () => {
      this.listeners.delete(listener);
    };
  }

  /**
   * Cancels a job and resolves once it has stopped: a queued one is dropped, a training
   * one checkpoints at its next step and ends `cancelled`, resumable from that checkpoint.
   */
  async cancel(id: string): Promise<void> {
    assertValid(validateRunId(id));
    const job = this.jobs.get(id);
    if (!job) throw new Error(`no job "${id}" is running in this session`);
    if (FINAL.has(job.info.status)) return;
    job.cancelRequested = true;
    const queued = this.queue.indexOf(job);
    if (queued >= 0) {
      this.queue.splice(queued, 1);
      await this.finish(job, { status: 'cancelled', checkpoint: null });
    } else if (job.worker && job.cancelFlag) {
      Atomics.store(job.cancelFlag, 0, 1);
      job.worker.postMessage('cancel'); // wakes an idle worker; a busy one reads the flag
      if (STOP_AT_ONCE.has(job.info.kind)) {
        job.outcome ??= { status: 'cancelled', checkpoint: null };
        void job.worker.terminate();
      }
    }
    await job.settled;
  }

  // ---------------------------------------------------------------- extras

  /** Resolves with the job's info once it is done, failed or cancelled (a run this service does not run: as it stands on disk). */
  async wait(id: string): Promise<JobInfo> {
    const job = this.jobs.get(id);
    if (!job) {
      const info = await this.get(id);
      if (!info) throw new Error(`no job "${id}"`);
      return info;
    }
    return job.settled;
  }

  /** Stops everything this service runs (cancel: checkpoint first) and waits for it. */
  async close(): Promise<void> {
    const active = [...this.jobs.values()].filter((job) => !FINAL.has(job.info.status));
    await Promise.all(active.map((job) => this.cancel(job.info.id).catch(() => undefined)));
  }

  // ---------------------------------------------------------------- internals

  private track(runDir: string, request: JobRequest, lock: RunLock, disk: RunStatus, extra: { fresh: boolean; createdPaths: string[] }): Job {
    let resolveSettled!: (info: JobInfo) => void;
    const settled = new Promise<JobInfo>((resolve) => (resolveSettled = resolve));
    const job: Job = {
      info: { id: disk.id, kind: disk.kind, status: disk.status, request, runDir, createdAt: disk.createdAt, updatedAt: disk.updatedAt },
      disk,
      log: new EventLog(path.join(runDir, EVENTS_FILE)),
      lock,
      throttle: new StepThrottle(this.stepIntervalMs),
      fresh: extra.fresh,
      createdPaths: extra.createdPaths,
      worker: null,
      hasSlot: false,
      cancelFlag: null,
      cancelRequested: false,
      outcome: null,
      lastCheckpoint: null,
      statusWrites: Promise.resolve(),
      settled,
      resolveSettled,
    };
    this.jobs.set(disk.id, job);
    return job;
  }

  private snapshot(job: Job): JobInfo {
    return structuredClone(job.info);
  }

  private async resolveRunDir(runDirOrId: string): Promise<string> {
    if (typeof runDirOrId !== 'string' || runDirOrId.length === 0) throw new ConfigError([{ field: 'runDir', message: 'give a run folder or a run id' }]);
    const looksLikeId = RUN_ID_PATTERN.test(runDirOrId);
    // An id names a folder of this project's runs/ and nothing else.
    const byId = looksLikeId ? [path.join(this.projectDir, 'runs', runDirOrId)] : [];
    for (const candidate of [...byId, path.resolve(this.baseDir, runDirOrId)]) {
      if (existsSync(path.join(candidate, REQUEST_FILE))) return candidate;
    }
    throw new FormatError(runDirOrId, looksLikeId
      ? `is neither a run folder nor a run id in ${path.join(this.projectDir, 'runs')}`
      : `is not a run folder (no ${REQUEST_FILE}; runs live in <project>/runs/<id>/)`);
  }

  private async lockState(runDir: string): Promise<'live' | 'stale' | 'none'> {
    const lock = await readLock(runDir);
    return !lock ? 'none' : lockIsLive(lock, runDir) ? 'live' : 'stale';
  }

  /** Queues the job; returns it as queued (it may start running right after). */
  private async enqueue(job: Job): Promise<JobInfo> {
    await this.setStatus(job, 'queued');
    this.emit(job, { type: 'queued', kind: job.info.kind });
    const queued = this.snapshot(job);
    this.queue.push(job);
    this.pump();
    return queued;
  }

  private pump(): void {
    while (this.running < this.maxConcurrent && this.queue.length > 0) {
      const job = this.queue.shift()!;
      this.running += 1;
      job.hasSlot = true;
      void this.start(job);
    }
  }

  /** Records a status change in memory and (serialized, atomically) in status.json. */
  private setStatus(job: Job, status: JobStatus, extra: Partial<RunStatus> = {}): Promise<void> {
    const now = Date.now();
    job.info.status = status;
    job.info.updatedAt = now;
    job.disk = { ...job.disk, ...extra, status, updatedAt: now };
    if ('result' in extra) job.info.result = extra.result;
    if (extra.error) job.info.error = extra.error;
    const snapshot = structuredClone(job.disk);
    // A failed status write (disk full) must not hide the job's outcome: listeners and this
    // service still have it; on disk the run then reads as interrupted, which resume handles.
    job.statusWrites = job.statusWrites.then(() => writeRunStatus(job.info.runDir, snapshot)).catch(() => undefined);
    return job.statusWrites;
  }

  private emit(job: Job, event: JobEvent): void {
    const stamped = { ...event, jobId: job.info.id, time: Date.now() } as ProgressEvent;
    job.log.append(stamped);
    if (event.type === 'checkpoint') job.lastCheckpoint = event.path;
    if (!job.throttle.pass(event, stamped.time)) return;
    for (const listener of [...this.listeners]) {
      try {
        listener(stamped);
      } catch {
        // A broken listener (a closed window) must not stop the job or the other listeners.
      }
    }
  }

  private async start(job: Job): Promise<void> {
    if (job.cancelRequested) {
      await this.finish(job, { status: 'cancelled', checkpoint: null });
      return;
    }
    await this.setStatus(job, 'running', { startedAt: Date.now() });
    const backend = job.disk.options.backend ?? this.backend;
    if (job.cancelRequested) {
      // Cancelled while its status was being written; from here to the worker's start nothing awaits.
      await this.finish(job, { status: 'cancelled', checkpoint: null });
      return;
    }
    this.emit(job, { type: 'started', kind: job.info.kind, runDir: job.info.runDir });
    const cancelFlag = new SharedArrayBuffer(4);
    job.cancelFlag = new Int32Array(cancelFlag);
    const input: WorkerInput = {
      request: job.info.request,
      runDir: job.info.runDir,
      checkpointEvery: job.disk.options.checkpointEvery,
      backend,
      cancelFlag,
      preload: this.preload,
    };
    let crash: Error | null = null;
    let worker: Worker;
    try {
      worker = new Worker(this.workerFile, {
        workerData: input,
        ...(this.resourceLimits ? { resourceLimits: this.resourceLimits } : {}),
      });
    } catch (error) {
      await this.finish(job, { status: 'error', error: { name: 'WorkerCrash', message: `could not start the job's worker: ${(error as Error).message}` } });
      return;
    }
    job.worker = worker;
    worker.on('message', (message: WorkerMessage) => {
      switch (message.type) {
        case 'backend':
          if (job.disk.backendUsed && job.disk.backendUsed !== message.name) {
            this.emit(job, { type: 'log', level: 'warn', message: `this run started on the ${job.disk.backendUsed} backend and continues on ${message.name}: the result will be close to, not bit-identical with, an uninterrupted run` });
          }
          void this.setStatus(job, 'running', { backendUsed: message.name });
          break;
        case 'event':
          this.emit(job, message.event);
          break;
        case 'result':
          job.outcome ??= { status: 'done', result: message.result };
          void worker.terminate(); // everything is written; do not wait for stray handles
          break;
        case 'failed':
          job.outcome ??= message.error.name === 'JobCancelled'
            ? { status: 'cancelled', checkpoint: message.error.checkpoint ?? job.lastCheckpoint }
            : { status: 'error', error: message.error };
          void worker.terminate();
          break;
      }
    });
    worker.on('error', (error) => {
      crash ??= error;
    });
    worker.on('exit', (code) => {
      job.worker = null;
      void this.finish(job, job.outcome ?? crashOutcome(code, crash, this.resourceLimits));
    });
  }

  /** Ends a job: status.json, the final event, the lock, and the next queued job. */
  private async finish(job: Job, outcome: Outcome): Promise<void> {
    if (FINAL.has(job.info.status)) return;
    const now = Date.now();
    switch (outcome.status) {
      case 'done':
        await this.setStatus(job, 'done', { finishedAt: now, result: outcome.result });
        this.emit(job, { type: 'done', result: outcome.result });
        break;
      case 'cancelled': {
        await this.setStatus(job, 'cancelled', { finishedAt: now });
        const checkpoint = outcome.checkpoint ?? job.lastCheckpoint;
        this.emit(job, { type: 'cancelled', ...(checkpoint ? { checkpoint } : {}) });
        break;
      }
      case 'error': {
        const { message, name, field, file, issues } = outcome.error;
        const error: NonNullable<JobInfo['error']> = { message, name, ...(field ? { field } : {}), ...(file ? { file } : {}), ...(issues ? { issues } : {}) };
        await this.setStatus(job, 'error', { finishedAt: now, error });
        this.emit(job, { type: 'error', message, ...(name ? { name } : {}), ...(field ? { field } : {}), ...(file ? { file } : {}) });
        break;
      }
    }
    await job.log.flush();
    await job.statusWrites;
    if (outcome.status === 'error' && job.fresh && isInputError(outcome.error)) await this.discardRun(job);
    await job.lock.release().catch(() => undefined);
    if (job.hasSlot) {
      job.hasSlot = false;
      this.running -= 1;
    }
    job.resolveSettled(this.snapshot(job));
    this.pump();
  }

  /**
   * A new job whose input was rejected leaves nothing behind: its run folder goes, and so
   * do the project folders/files its submit created, if nothing else has appeared in them.
   * A run that already wrote checkpoints is kept (fix the input, then resume it).
   */
  private async discardRun(job: Job): Promise<void> {
    if (existsSync(path.join(job.info.runDir, 'phases'))) return;
    await job.lock.release().catch(() => undefined);
    await this.removeCreated(job.info.runDir, job.createdPaths);
  }

  /** Removes a run folder, then the project folders/files a submit created, if nothing else is in them. */
  private async removeCreated(runDir: string | null, createdPaths: string[]): Promise<void> {
    if (runDir) await fs.rm(runDir, { recursive: true, force: true });
    // createdPaths: the folders outermost first (…, project, project/runs), then project.json.
    const dirs = createdPaths.filter((p) => !p.endsWith('.json')).reverse();
    const projectFile = createdPaths.find((p) => p.endsWith('.json'));
    const runs = path.join(this.projectDir, 'runs');
    if (dirs.includes(runs)) await fs.rmdir(runs).catch(() => undefined); // only when empty
    // project.json goes only when no run is left that it describes (another job may have started one meanwhile).
    const runsLeft = await fs.readdir(runs).then((names) => names.length, () => 0);
    if (projectFile && runsLeft === 0) await fs.rm(projectFile, { force: true });
    for (const dir of dirs) await fs.rmdir(dir).catch(() => undefined);
  }
}

function crashOutcome(code: number, crash: Error | null, limits: ResourceLimits | undefined): Outcome {
  const errorCode = (crash as NodeJS.ErrnoException | null)?.code;
  if (errorCode === 'ERR_WORKER_OUT_OF_MEMORY') {
    const limit = limits?.maxOldGenerationSizeMb ? ` (heap limit ${limits.maxOldGenerationSizeMb} MB)` : '';
    return { status: 'error', error: { name: 'WorkerCrash', code: errorCode, message: `the job ran out of memory${limit}: ${crash!.message}; try a smaller batch or model` } };
  }
  if (crash) return { status: 'error', error: { name: 'WorkerCrash', message: `the job's worker crashed: ${crash.message}`, ...(crash.stack ? { stack: crash.stack } : {}) } };
  return { status: 'error', error: { name: 'WorkerCrash', message: `the job's worker exited with code ${code} before finishing` } };
}

function describePrevious(previous: RunStatus, lock: 'live' | 'stale' | 'none'): string {
  if ((previous.status === 'running' || previous.status === 'queued') && lock !== 'live') return 'interrupted';
  return previous.status;
}
