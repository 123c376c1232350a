// Runs one job request: dispatch by kind to its handler. Every front end goes through
// here (directly in a worker thread, or via the job service).

import type { JobRequest } from '../../shared/api.js';
import { assertValid } from '../../shared/config.js';
import { validateRequest } from '../../shared/api.js';
import type { JobContext } from './phase.js';
import { runEvaluate, runFinetune, runTrain } from './train-jobs.js';
import { runDistill, runGrow } from './sws-jobs.js';
import { runPrune } from './prune-jobs.js';
import { runCompare, runDemo } from './compare.js';
import { exportModel } from '../export/index.js';
import { importModel } from '../import.js';
import { disposeParams } from '../../engine/model/vit.js';

export type JobHandler = (request: JobRequest, ctx: JobContext) => Promise<unknown>;

const handlers: Partial<Record<JobRequest['kind'], JobHandler>> = {
  train: (r, ctx) => runTrain(r as Extract<JobRequest, { kind: 'train' }>, ctx),
  finetune: (r, ctx) => runFinetune(r as Extract<JobRequest, { kind: 'finetune' }>, ctx),
  evaluate: (r) => runEvaluate(r as Extract<JobRequest, { kind: 'evaluate' }>),
  distill: (r, ctx) => runDistill(r as Extract<JobRequest, { kind: 'distill' }>, ctx),
  grow: (r) => runGrow(r as Extract<JobRequest, { kind: 'grow' }>),
  prune: (r, ctx) => runPrune(r as Extract<JobRequest, { kind: 'prune' }>, ctx),
  compare: (r, ctx) => runCompare(r as Extract<JobRequest, { kind: 'compare' }>, ctx, { saveModels: Boolean((r as Extract<JobRequest, { kind: 'compare' }>).out) }),
  demo: (r, ctx) => runDemo(r as Extract<JobRequest, { kind: 'demo' }>, ctx),
  export: (r) => {
    const request = r as Extract<JobRequest, { kind: 'export' }>;
    return exportModel(request.model, request.format, request.out, { quantize: request.quantize, calibration: request.calibration });
  },
  import: async (r) => {
    const request = r as Extract<JobRequest, { kind: 'import' }>;
    const imported = await importModel(request.source, { out: request.out, ...(request.heads !== undefined ? { heads: request.heads } : {}) });
    disposeParams(imported.network.params);
    return { file: imported.savedTo, source: imported.file, naming: imported.naming, config: imported.meta.config, notes: imported.notes, sha256: imported.sha256 };
  },
};

/** Lets later modules add handlers without this file importing all of them eagerly. */
export function registerHandler(kind: JobRequest['kind'], handler: JobHandler): void {
  handlers[kind] = handler;
}

export async function runJob(request: JobRequest, ctx: JobContext): Promise<unknown> {
  assertValid(validateRequest(request));
  const handler = handlers[request.kind];
  if (!handler) throw new Error(`no handler for job kind "${request.kind}"`);
  return handler(request, ctx);
}
