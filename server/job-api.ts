// Opens the job service of a project for the studio (Electron main process and browser
// mode alike), wrapped with the studio extras (inspect, backends, project).

import path from 'node:path';
import { JobService } from '../node/jobs/service.js';
import { withStudioExtras } from '../node/studio/extras.js';

export interface OpenedJobApi {
  api: ReturnType<typeof withStudioExtras>;
  projectDir: string;
  close(): Promise<void>;
}

export async function openJobApi(projectDir: string, options: { backend?: string } = {}): Promise<OpenedJobApi> {
  const dir = path.resolve(projectDir);
  const service = new JobService({ projectDir: dir, ...(options.backend ? { backend: options.backend } : {}) });
  return {
    api: withStudioExtras(service, { projectDir: dir, cacheDir: path.join(dir, '.cache', 'datasets') }),
    projectDir: dir,
    close: () => service.close(),
  };
}
