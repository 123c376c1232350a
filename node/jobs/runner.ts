// Runs one job request: dispatch by kind to its handler. Every front end goes through
// here (in a job's worker thread, started by the job service). Each handler returns its
// kind's result (shared/results.ts), so the table is checked by the compiler.

import type { JobRequest } from '../../shared/api.js';
import type { JobKind } from '../../shared/events.js';
import type { JobResult, JobResults } from '../../shared/results.js';
import { parseRequest } from '../../shared/api.js';
import type { JobContext } from './phase.js';
import { runFinetune, runTrain } from './train-jobs.js';
import { runEvaluate } from './evaluate-job.js';
import { runDistill, runGrow } from './sws-jobs.js';
import { runPrune } from './prune-jobs.js';
import { runCompare, runDemo } from './compare.js';
import { exportModel } from '../export/index.js';
import { importModel, importSwsReference, isSwsReferenceCheckpoint } from '../import.js';
import { disposeParams } from '../../engine/model/vit.js';

export type JobHandler<K extends JobKind = JobKind> = (request: Extract<JobRequest, { kind: K }>, ctx: JobContext) => Promise<JobResults[K]>;

type Handlers = { [K in JobKind]: JobHandler<K> };

const handlers: Handlers = {
  train: runTrain,
  finetune: runFinetune,
  evaluate: (request) => runEvaluate(request),
  distill: runDistill,
  grow: (request) => runGrow(request),
  prune: runPrune,
  compare: (request, ctx) => runCompare(request, ctx, { saveModels: Boolean(request.out) }),
  demo: runDemo,
  export: (request) => exportModel(request.model, request.format, request.out, {
    ...(request.heads !== undefined ? { heads: request.heads } : {}),
    ...(request.quantize ? { quantize: request.quantize } : {}),
    ...(request.calibration ? { calibration: request.calibration } : {}),
  }),
  import: async (request) => {
    if (await isSwsReferenceCheckpoint(request.source)) {
      const lg = await importSwsReference(request.source, { out: request.out, ...(request.stages ? { stages: request.stages } : {}), ...(request.heads !== undefined ? { heads: request.heads } : {}) });
      return { kind: 'import', file: lg.file, source: lg.source, naming: 'sws-reference', config: lg.config, notes: [`an SWS learngene, stages ${lg.stages.join(',')}`, ...lg.notes], sha256: lg.sha256 };
    }
    const imported = await importModel(request.source, { out: request.out, ...(request.heads !== undefined ? { heads: request.heads } : {}) });
    disposeParams(imported.network.params);
    return { kind: 'import', file: imported.savedTo ?? request.out, source: imported.file, naming: imported.naming, config: imported.meta.config, notes: imported.notes, sha256: imported.sha256 };
  },
};

/** Replaces a kind's handler (test faults, loaded through the job service's `preload`). */
export function registerHandler<K extends JobKind>(kind: K, handler: JobHandler<K>): void {
  (handlers as Record<K, JobHandler<K>>)[kind] = handler;
}

function handle<K extends JobKind>(request: Extract<JobRequest, { kind: K }>, ctx: JobContext): Promise<JobResults[K]> {
  return (handlers[request.kind as K] as JobHandler<K>)(request, ctx);
}

export async function runJob(request: JobRequest, ctx: JobContext): Promise<JobResult> {
  return handle(parseRequest(request), ctx);
}
