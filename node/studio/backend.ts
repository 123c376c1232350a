// The studio backend: the one implementation of StudioApi. The Electron app (in its
// utility process), the browser-mode server and the CLI each open one on a project and
// reach it through their thin adapter (main/ipc.ts, server/studio-server.ts, cli/). It
// joins the job service (node/jobs/service.ts), inspect, the backend probe and the
// project, and applies the path policy of its mode (node/studio/paths.ts): requests are
// validated (shared/api.ts), made absolute against the project, and, in browser mode,
// kept inside the allowed folders before the job service sees them.

import path from 'node:path';
import type {
  BackendInfo, DatasetImage, DatasetImagesRequest, ImageRef, InspectOptions, InspectResult, JobInfo, JobRequest, PredictRequest, PredictResult,
  ProjectInfo, StudioApi, SubmitOptions,
} from '../../shared/api.js';
import { DATASET_IMAGES_SCHEMA, PREDICT_SCHEMA, parseRequest, validateRunId, validateSubmitOptions } from '../../shared/api.js';
import { checkValue } from '../../shared/schema.js';
import { Predictor } from '../predict.js';
import { assertValid, ConfigError } from '../../shared/config.js';
import type { ProgressEvent } from '../../shared/events.js';
import { absoluteRequest } from '../jobs/request-paths.js';
import { readRunRequest } from '../jobs/run-folder.js';
import { JobService, type JobServiceOptions } from '../jobs/service.js';
import { datasetImages, inspectPath } from './inspect.js';
import { ANYWHERE, confinedTo, type PathPolicy } from './paths.js';

/** Where browser mode puts what the page uploads (inside the project). */
export const UPLOADS_FOLDER = 'uploads';

export interface StudioBackendOptions {
  /** The project folder: runs/, uploads/, and where relative paths of requests point. */
  projectDir: string;
  /** Default backend of jobs ('auto' when absent). */
  backend?: string;
  /**
   * Browser mode: every path stays inside the project (uploads included) and these
   * folders, and no output is forced. Absent: the user's whole file system (the desktop
   * app, the CLI).
   */
  confine?: { allowedFolders: readonly string[] } | null;
  /** The backend probe (node/backends.ts detectBackends); injected so tests need no tfjs. */
  detectBackends?: () => Promise<BackendInfo[]>;
  /** More job service options (tests: preload, workerFile, stepIntervalMs). */
  jobs?: Omit<JobServiceOptions, 'projectDir' | 'backend' | 'baseDir'>;
}

export interface StudioBackend extends StudioApi {
  readonly projectDir: string;
  readonly policy: PathPolicy;
  /** The job's info once it is done, failed or cancelled. */
  wait(id: string): Promise<JobInfo>;
  /** Stops every running job with a checkpoint and waits for it. */
  close(): Promise<void>;
}

async function probeBackends(): Promise<BackendInfo[]> {
  const { detectBackends } = await import('../backends.js');
  return detectBackends();
}

export async function openStudioBackend(options: StudioBackendOptions): Promise<StudioBackend> {
  const projectDir = path.resolve(options.projectDir);
  const confined = Boolean(options.confine);
  const policy = options.confine ? await confinedTo([projectDir, ...options.confine.allowedFolders]) : ANYWHERE;
  const service = new JobService({ ...options.jobs, projectDir, baseDir: projectDir, ...(options.backend ? { backend: options.backend } : {}) });
  const cacheDir = path.join(projectDir, '.cache', 'datasets');
  const detect = options.detectBackends ?? probeBackends;
  // Probed once: probing switches the engine's active backend, which must not happen twice.
  let backends: Promise<BackendInfo[]> | null = null;
  // Loaded on the first predict (onnxruntime sessions per model, kept between calls).
  let predictor: Predictor | null = null;

  /** A path a call names, absolute against the project and (browser mode) inside the allowed folders. */
  const inProject = async (target: string, field: string): Promise<string> => {
    if (/^sample:/.test(target)) return target;
    const resolved = path.resolve(projectDir, target);
    await policy.check(resolved, field);
    return resolved;
  };

  const checkOptions = (submitOptions: SubmitOptions | undefined) => {
    assertValid(validateSubmitOptions(submitOptions));
    if (confined && submitOptions?.force) {
      throw new ConfigError([{ field: 'force', message: 'the browser studio never replaces files it did not write; pick another output' }]);
    }
  };

  return {
    projectDir,
    policy,
    async submit(request: JobRequest, submitOptions: SubmitOptions = {}): Promise<JobInfo> {
      checkOptions(submitOptions);
      const absolute = absoluteRequest(parseRequest(request), projectDir);
      await policy.checkRequest(absolute);
      return service.submit(absolute, submitOptions);
    },
    async resume(runDirOrId: string, submitOptions: SubmitOptions = {}): Promise<JobInfo> {
      checkOptions(submitOptions);
      if (confined) {
        // The page names runs by id only, and a run of this project may still point elsewhere
        // (a CLI run): its request must pass the policy like a new one.
        assertValid(validateRunId(runDirOrId));
        await policy.checkRequest(await readRunRequest(path.join(projectDir, 'runs', runDirOrId)));
      }
      return service.resume(runDirOrId, submitOptions);
    },
    list: () => service.list(),
    get: (id) => service.get(id),
    cancel: (id) => service.cancel(id),
    events: (id): Promise<ProgressEvent[]> => service.events(id),
    on: (listener) => service.on(listener),
    async inspect(target: string, inspectOptions: InspectOptions = {}): Promise<InspectResult> {
      if (typeof target !== 'string' || target.trim() === '') throw new ConfigError([{ field: 'path', message: 'give a file or folder to inspect' }]);
      if (/^sample:/.test(target)) return inspectPath(target, inspectOptions, { cacheDir });
      const resolved = path.resolve(projectDir, target);
      await policy.check(resolved, 'path');
      return inspectPath(resolved, inspectOptions, { cacheDir });
    },
    async backends(): Promise<BackendInfo[]> {
      backends ??= detect().catch((error: unknown) => {
        backends = null;
        throw error;
      });
      return backends;
    },
    async project(): Promise<ProjectInfo> {
      return { dir: projectDir, name: path.basename(projectDir) };
    },
    async predict(request: PredictRequest): Promise<PredictResult> {
      assertValid(checkValue(PREDICT_SCHEMA, request, '', 'request'));
      const model = await inProject(request.model, 'model');
      const images: ImageRef[] = [];
      for (const image of request.images) {
        images.push(typeof image === 'string' ? await inProject(image, 'images') : { ...image, dataset: await inProject(image.dataset, 'images') });
      }
      predictor ??= new Predictor({ cacheDir });
      return predictor.predict({ ...request, model, images });
    },
    async datasetImages(request: DatasetImagesRequest): Promise<DatasetImage[]> {
      assertValid(checkValue(DATASET_IMAGES_SCHEMA, request, '', 'request'));
      return datasetImages({ ...request, dataset: await inProject(request.dataset, 'dataset') }, { cacheDir });
    },
    wait: (id) => service.wait(id),
    async close() {
      await service.close();
      await predictor?.dispose();
    },
  };
}
