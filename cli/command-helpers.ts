// Small pieces shared by the command modules.

import type { OptionSpec, ParsedValue } from './args.js';
import type { TrainedModel } from '../shared/results.js';
import type { RunOptions } from './run-request.js';

export type Values = Record<string, ParsedValue>;

/** Copies an option group with some defaults changed. */
export function withDefaults(group: Record<string, OptionSpec>, defaults: Record<string, OptionSpec['default']>): Record<string, OptionSpec> {
  const out: Record<string, OptionSpec> = {};
  for (const [name, spec] of Object.entries(group)) out[name] = name in defaults ? { ...spec, default: defaults[name] } : spec;
  return out;
}

export function pct(x: number | undefined | null): string {
  return x === undefined || x === null ? '—' : `${(x * 100).toFixed(2)}%`;
}

export function describeTrained(result: TrainedModel, what: string): string {
  const lines = [`${what} saved to ${result.file} (${result.params.toLocaleString('en-US')} parameters)`];
  if (result.val) lines.push(`  validation: top-1 ${pct(result.val.top1)}, top-5 ${pct(result.val.top5)}, loss ${result.val.loss.toFixed(4)} (n=${result.val.n})`);
  if (result.test) lines.push(`  test:       top-1 ${pct(result.test.top1)}, top-5 ${pct(result.test.top5)}, loss ${result.test.loss.toFixed(4)} (n=${result.test.n})`);
  return lines.join('\n');
}

export function runOptionsFrom(values: Values, io: { stderr: NodeJS.WriteStream }): RunOptions {
  return { backend: values.backend as string, project: values.project as string, checkpointEvery: values['checkpoint-every'] as number, force: Boolean(values.force), stderr: io.stderr };
}

/** A job with nothing to resume (evaluate, grow, import, export): it runs in a throw-away project. */
export function ephemeralRun(values: Values, io: { stderr: NodeJS.WriteStream }): RunOptions {
  return { backend: values.backend as string, project: null, checkpointEvery: 0, force: Boolean(values.force), stderr: io.stderr };
}
