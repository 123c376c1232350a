// The studio backend in a process of its own, whatever that process is: the desktop app
// runs it in an Electron utility process (main/backend-process.ts), tests in a worker
// thread, and the same two halves talk over any message channel.
//
//   front (Electron main)                         backend host (node/studio/service-process.ts)
//   superviseBackend ── open {options} ─────────▶ hostStudioBackend → openStudioBackend
//                    ◀──────────────── ready ──
//   api.submit(…)    ── call {id, method, args} ▶ the one dispatch (node/studio/dispatch.ts)
//                    ◀─ result {id, RpcResult} ─
//   api.on(…)        ◀──────── event {event} ──── every progress event
//
// When the backend's process dies (a native crash in a job, out of memory), the front
// ends the jobs it was running with an error event saying so (their run folders resume
// from the last checkpoint), starts a fresh process on the same project and carries on:
// a crash ends jobs, never the app.

import type {
  BackendInfo, DatasetImage, DatasetImagesRequest, InspectOptions, InspectResult, JobInfo, JobRequest, PredictRequest, PredictResult, ProjectInfo, StudioApi, SubmitOptions,
} from '../../shared/api.js';
import type { ProgressEvent } from '../../shared/events.js';
import { RemoteError, toWireError, unwrap, type RpcResult, type WireError } from '../../shared/rpc.js';
import { createDispatch } from './dispatch.js';
import type { StudioBackend, StudioBackendOptions } from './backend.js';

/** What can cross a process boundary of the backend's options. */
export type RemoteBackendOptions = Pick<StudioBackendOptions, 'projectDir' | 'backend' | 'confine' | 'jobs'>;

/** Front → backend host. */
export type ToBackend =
  | { type: 'open'; options: RemoteBackendOptions }
  | { type: 'call'; id: number; method: string; args: unknown[] }
  | { type: 'close' };

/** Backend host → front. */
export type FromBackend =
  | { type: 'ready' }
  | { type: 'failed'; error: WireError }
  | { type: 'result'; id: number; result: RpcResult }
  | { type: 'event'; event: ProgressEvent }
  | { type: 'closed' };

export interface Channel<Out, In> {
  post(message: Out): void;
  onMessage(listener: (message: In) => void): void;
}

// ------------------------------------------------------------------ the backend's host

/** Dialogs and settings belong to the window's process; the backend's host answers none. */
const elsewhere = async (): Promise<never> => {
  throw new Error("host calls are answered by the window's own process");
};
const NO_HOST_CALLS = { openDialog: elsewhere, reveal: elsewhere, getSettings: elsewhere, setSettings: elsewhere };

/**
 * Serves a studio backend over `channel`: waits for `open`, opens the backend, answers
 * calls through the one dispatch, forwards events; `close` stops its jobs (with a
 * checkpoint) and answers `closed`. The front ends the process afterwards.
 */
export function hostStudioBackend(channel: Channel<FromBackend, ToBackend>, open: (options: RemoteBackendOptions) => Promise<StudioBackend>): void {
  let backend: Promise<StudioBackend> | null = null;
  channel.onMessage((message) => {
    if (message?.type === 'open' && !backend) {
      backend = open(message.options);
      backend.then(
        (opened) => {
          opened.on((event) => channel.post({ type: 'event', event }));
          channel.post({ type: 'ready' });
        },
        (error: unknown) => channel.post({ type: 'failed', error: toWireError(error) }),
      );
    } else if (message?.type === 'call' && backend) {
      const { id, method, args } = message;
      void backend
        .then((opened) => createDispatch(opened, NO_HOST_CALLS)(method, args))
        .then((result) => channel.post({ type: 'result', id, result }));
    } else if (message?.type === 'close') {
      void (backend ?? Promise.resolve(null))
        .then((opened) => opened?.close())
        .catch(() => undefined)
        .then(() => channel.post({ type: 'closed' }));
    }
  });
}

// ------------------------------------------------------------------ the front

/** A running backend host as the front sees it (an Electron utility process, a worker). */
export interface BackendProcess extends Channel<ToBackend, FromBackend> {
  /** Called once when the process is gone, with why (exit code, crash). */
  onExit(listener: (reason: string) => void): void;
  kill(): void;
}

export interface SupervisedBackend {
  /** The studio API, served by whichever process is current. */
  api: StudioApi;
  /** Processes started after a crash. */
  readonly restarts: number;
  /** Stops the jobs with a checkpoint, then the process. */
  close(): Promise<void>;
}

const FINAL_EVENTS = new Set(['done', 'error', 'cancelled']);

/** One backend process: its calls in flight and the jobs it has not finished. */
class Connection {
  private nextId = 1;
  private readonly pending = new Map<number, { resolve(result: RpcResult): void; reject(error: Error): void }>();
  /** Jobs seen queued or running, for the error events a crash owes them. */
  readonly unfinished = new Set<string>();
  gone: string | null = null;
  readonly closed: Promise<void>;
  private markClosed!: () => void;

  constructor(readonly process: BackendProcess, private readonly onEvent: (event: ProgressEvent) => void) {
    this.closed = new Promise((resolve) => (this.markClosed = resolve));
  }

  receive(message: FromBackend): void {
    if (message.type === 'result') {
      this.pending.get(message.id)?.resolve(message.result);
      this.pending.delete(message.id);
    } else if (message.type === 'event') {
      if (FINAL_EVENTS.has(message.event.type)) this.unfinished.delete(message.event.jobId);
      else this.unfinished.add(message.event.jobId);
      this.onEvent(message.event);
    } else if (message.type === 'closed') {
      this.markClosed();
    }
  }

  call(method: string, args: unknown[]): Promise<RpcResult> {
    if (this.gone) return Promise.reject(new Error(this.gone));
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.process.post({ type: 'call', id, method, args });
    });
  }

  fail(reason: string): void {
    this.gone = reason;
    for (const waiting of this.pending.values()) waiting.reject(new Error(reason));
    this.pending.clear();
    this.markClosed();
  }
}

/**
 * Starts the backend with `spawn` on `options.projectDir` and keeps it running: a
 * process that dies is replaced, and the jobs it was running end with an error event.
 */
export async function superviseBackend(spawn: () => BackendProcess, options: RemoteBackendOptions): Promise<SupervisedBackend> {
  const listeners = new Set<(event: ProgressEvent) => void>();
  const emit = (event: ProgressEvent) => {
    for (const listener of [...listeners]) {
      try {
        listener(event);
      } catch {
        // A broken listener (a closed window) must not stop the others.
      }
    }
  };
  let closing = false;
  let restarts = 0;
  let current: Promise<Connection>;

  const start = (): Promise<Connection> =>
    new Promise<Connection>((resolve, reject) => {
      const child = spawn();
      const connection = new Connection(child, emit);
      let ready = false;
      child.onMessage((message) => {
        if (message?.type === 'ready') {
          ready = true;
          resolve(connection);
        } else if (message?.type === 'failed') {
          reject(new RemoteError(message.error));
          child.kill();
        } else if (message) {
          connection.receive(message);
        }
      });
      child.onExit((reason) => {
        const why = `the job service stopped (${reason})`;
        connection.fail(why);
        if (!ready) return reject(new Error(`the job service could not start: ${reason}`));
        if (closing) return;
        // Its jobs are over: say so, and why. Their run folders resume from the last checkpoint.
        const time = Date.now();
        for (const jobId of connection.unfinished) {
          emit({ type: 'error', name: 'ServiceCrash', message: `${why}; the job was interrupted: resume it to continue from its last checkpoint`, jobId, time });
        }
        restarts += 1;
        current = start();
        current.catch(() => undefined);
      });
      child.post({ type: 'open', options });
    });

  current = start();
  await current;

  /** Calls the current process; the answer has the type the API declares for `method`. */
  async function call<T>(method: string, args: unknown[]): Promise<T> {
    let connection = await current.catch(() => null);
    if (!connection || (connection.gone && !closing)) {
      // It died and could not be replaced yet (or the replacement failed): start one now.
      current = start();
      connection = await current;
    }
    return unwrap(await connection.call(method, args)) as T;
  }

  const api: StudioApi = {
    submit: (request: JobRequest, submitOptions?: SubmitOptions) => call<JobInfo>('submit', [request, submitOptions]),
    list: () => call<JobInfo[]>('list', []),
    get: (id: string) => call<JobInfo | null>('get', [id]),
    cancel: (id: string) => call<void>('cancel', [id]),
    resume: (id: string, submitOptions?: SubmitOptions) => call<JobInfo>('resume', [id, submitOptions]),
    events: (id: string) => call<ProgressEvent[]>('events', [id]),
    inspect: (target: string, inspectOptions?: InspectOptions) => call<InspectResult>('inspect', [target, inspectOptions]),
    backends: () => call<BackendInfo[]>('backends', []),
    project: () => call<ProjectInfo>('project', []),
    predict: (request: PredictRequest) => call<PredictResult>('predict', [request]),
    datasetImages: (request: DatasetImagesRequest) => call<DatasetImage[]>('datasetImages', [request]),
    on(listener) {
      listeners.add(listener);
      return () => void listeners.delete(listener);
    },
  };

  return {
    api,
    get restarts() {
      return restarts;
    },
    async close() {
      closing = true;
      const connection = await current.catch(() => null);
      if (!connection || connection.gone) return;
      connection.process.post({ type: 'close' });
      await connection.closed;
      connection.process.kill();
    },
  };
}
