// Opens the job service of a project for the studio (Electron main process and browser
// mode alike), wrapped with the studio extras (inspect, backends, project).

import path from 'node:path';
import type { ComputeHostSource } from '../node/compute/source.js';
import { JobService } from '../node/jobs/service.js';
import { withStudioExtras } from '../node/studio/extras.js';

export interface OpenedJobApi {
  api: ReturnType<typeof withStudioExtras>;
  projectDir: string;
  close(): Promise<void>;
}

export interface JobApiOptions {
  /** Default backend of jobs ('auto' when absent). */
  backend?: string;
  /** The studio's WebGPU compute host (the desktop app's hidden window, or browser pages). */
  computeHost?: ComputeHostSource;
}

export async function openJobApi(projectDir: string, options: JobApiOptions = {}): Promise<OpenedJobApi> {
  const dir = path.resolve(projectDir);
  const { computeHost } = options;
  const service = new JobService({ projectDir: dir, ...(options.backend ? { backend: options.backend } : {}), ...(computeHost ? { computeHost } : {}) });
  return {
    api: withStudioExtras(service, { projectDir: dir, cacheDir: path.join(dir, '.cache', 'datasets'), ...(computeHost ? { webgpuStatus: () => computeHost.status() } : {}) }),
    projectDir: dir,
    close: () => service.close(),
  };
}
