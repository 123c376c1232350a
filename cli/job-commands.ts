// `learngene resume <run folder>` and `learngene jobs`: continuing and listing runs.

import path from 'node:path';
import type { Command } from './main.js';
import type { JobInfo } from '../shared/api.js';
import type { JobResult } from '../shared/results.js';
import { COMMON_OPTIONS, FORCE_OPTION } from './options.js';
import { resumeRun } from './run-request.js';
import { openStudioBackend } from '../node/studio/backend.js';

function pct(x: number): string {
  return `${(x * 100).toFixed(2)}%`;
}

/** The file or folder a job wrote, whatever its kind. */
function outputOf(result: JobResult | undefined): string {
  if (!result) return '';
  switch (result.kind) {
    case 'evaluate':
      return '';
    case 'export':
      return result.files[0] ?? '';
    case 'compare':
      return result.out ?? '';
    case 'demo':
      return result.out;
    default:
      return result.file;
  }
}

/** A few lines about what a finished job produced, whatever its kind. */
export function describeResult(info: JobInfo): string {
  const result = info.result;
  const lines = [`run ${info.id} (${info.kind}) finished`];
  const output = outputOf(result);
  const params = result && 'params' in result && typeof result.params === 'number' ? result.params : null;
  if (output) lines.push(`  output: ${output}${params ? ` (${params.toLocaleString('en-US')} parameters)` : ''}`);
  if (result?.kind === 'train' || result?.kind === 'finetune' || result?.kind === 'distill') {
    for (const [name, m] of [['validation', result.val], ['test', result.test]] as const) {
      if (m) lines.push(`  ${name.padEnd(10)}  top-1 ${pct(m.top1)}, top-5 ${pct(m.top5)}, loss ${m.loss.toFixed(4)} (n=${m.n})`);
    }
  }
  return lines.join('\n');
}

function age(ms: number, now = Date.now()): string {
  if (!ms) return '—';
  const s = Math.max(0, Math.round((now - ms) / 1000));
  if (s < 90) return `${s}s ago`;
  if (s < 90 * 60) return `${Math.round(s / 60)}m ago`;
  if (s < 36 * 3600) return `${Math.round(s / 3600)}h ago`;
  return new Date(ms).toISOString().slice(0, 10);
}

function detail(info: JobInfo): string {
  if (info.error) return info.error.message.split('\n')[0]!;
  return outputOf(info.result);
}

export const JOB_COMMANDS: Record<string, Command> = {
  resume: {
    spec: {
      name: 'resume',
      summary: 'continue a killed, cancelled or failed run from its last checkpoint (same seed: same result)',
      usage: 'learngene resume <run folder | run id --project DIR> [--checkpoint-every N] [--backend NAME] [--json]',
      options: {
        project: { kind: 'string', meta: 'DIR', help: 'project folder, to name the run by its id (default: the folder around the run)' },
        'checkpoint-every': { kind: 'int', meta: 'N', help: 'checkpoint every N optimizer steps (default: what the run used)', min: 0 },
        ...FORCE_OPTION,
        ...COMMON_OPTIONS,
      },
      positionals: [{ name: 'run folder', required: true }],
      examples: ['learngene resume runs/20250101-120000-train-a1b2c3'],
    },
    async run({ values, positionals }, io) {
      const backend = values.backend as string;
      const outcome = await resumeRun({
        runDir: positionals[0]!,
        force: Boolean(values.force),
        project: (values.project as string | undefined) ?? null,
        // 'auto' is the flag's default: keep the backend the run was started with unless one is named.
        ...(backend && backend !== 'auto' ? { backend } : {}),
        checkpointEvery: values['checkpoint-every'] as number | undefined,
        stderr: io.stderr,
      });
      return { text: describeResult(outcome.info), json: { ...outcome.result, runDir: outcome.runDir, status: outcome.info.status } };
    },
  },

  jobs: {
    spec: {
      name: 'jobs',
      summary: 'list the runs of a project with their status',
      usage: 'learngene jobs [--project DIR] [--json]',
      options: {
        project: { kind: 'string', meta: 'DIR', help: 'project folder', default: '.' },
        json: COMMON_OPTIONS.json!,
        help: COMMON_OPTIONS.help!,
      },
    },
    async run({ values }) {
      const backend = await openStudioBackend({ projectDir: values.project as string });
      const jobs = await backend.list();
      if (jobs.length === 0) return { text: `no runs in ${path.resolve(values.project as string)}`, json: { jobs } };
      const rows = jobs.map((j) => [j.id, j.kind, j.status, age(j.updatedAt), detail(j)]);
      const widths = [0, 1, 2, 3].map((c) => Math.max(...rows.map((r) => r[c]!.length), ['run', 'kind', 'status', 'updated'][c]!.length));
      const line = (r: string[]) => r.map((cell, c) => (c < 4 ? cell.padEnd(widths[c]!) : cell)).join('  ').trimEnd();
      const text = [line(['run', 'kind', 'status', 'updated', '']), ...rows.map(line)].join('\n');
      return { text, json: { jobs } };
    },
  },
};
