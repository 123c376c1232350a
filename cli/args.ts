// Declarative command-line options on top of node:util parseArgs (strict: unknown
// flags are errors). Each option converts and validates its own value, so a bad
// value is rejected with the flag's name before anything runs.

import { parseArgs } from 'node:util';

export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

export type OptionKind = 'string' | 'int' | 'number' | 'boolean' | 'int-list' | 'string-list';

export interface OptionSpec {
  kind: OptionKind;
  help: string;
  /** Shown in help; the value used when the flag is absent. */
  default?: string | number | boolean | number[] | string[];
  /** Value placeholder in help, e.g. "N" or "PATH". */
  meta?: string;
  short?: string;
  min?: number;
  required?: boolean;
}

export interface CommandSpec {
  name: string;
  summary: string;
  usage: string;
  options: Record<string, OptionSpec>;
  /** Positional arguments: names shown in usage; count enforced (the last may be variadic: any number more). */
  positionals?: { name: string; required: boolean; variadic?: boolean }[];
  examples?: string[];
}

export type ParsedValue = string | number | boolean | number[] | string[] | undefined;

export interface Parsed {
  values: Record<string, ParsedValue>;
  positionals: string[];
}

/** "1,2,3" or "0-4" or "0-2,7" → integers. */
export function parseIntList(flag: string, text: string): number[] {
  const out: number[] = [];
  for (const part of text.split(',').map((s) => s.trim()).filter((s) => s.length > 0)) {
    const range = /^(-?\d+)-(\d+)$/.exec(part);
    if (range) {
      const [from, to] = [Number(range[1]), Number(range[2])];
      if (to < from) throw new UsageError(`--${flag}: range "${part}" runs backwards`);
      for (let i = from; i <= to; i++) out.push(i);
    } else if (/^-?\d+$/.test(part)) {
      out.push(Number(part));
    } else {
      throw new UsageError(`--${flag}: expected comma-separated integers like 3,3,4,3,3, got "${text}"`);
    }
  }
  if (out.length === 0) throw new UsageError(`--${flag}: expected at least one integer`);
  return out;
}

function convert(flag: string, spec: OptionSpec, raw: string | boolean): ParsedValue {
  if (spec.kind === 'boolean') return raw as boolean;
  const text = raw as string;
  switch (spec.kind) {
    case 'string':
      return text;
    case 'string-list':
      return text.split(',').map((s) => s.trim()).filter((s) => s.length > 0);
    case 'int-list': {
      const list = parseIntList(flag, text);
      if (spec.min !== undefined && list.some((n) => n < spec.min!)) {
        throw new UsageError(`--${flag}: every value must be at least ${spec.min}, got ${text}`);
      }
      return list;
    }
    case 'int':
    case 'number': {
      const value = Number(text);
      if (text.trim() === '' || !Number.isFinite(value) || (spec.kind === 'int' && !Number.isInteger(value))) {
        throw new UsageError(`--${flag}: expected ${spec.kind === 'int' ? 'an integer' : 'a number'}, got "${text}"`);
      }
      if (spec.min !== undefined && value < spec.min) {
        throw new UsageError(`--${flag}: must be at least ${spec.min}, got ${text}`);
      }
      return value;
    }
  }
  return undefined;
}

/**
 * `--epochs -1`: node's parseArgs reads "-1" as a flag and reports an ambiguity; joined
 * as `--epochs=-1` the value reaches its option's own check ("must be at least 0").
 */
function joinNegativeValues(spec: CommandSpec, argv: string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const token = argv[i]!;
    const next = argv[i + 1];
    const option = token.startsWith('--') && !token.includes('=') ? spec.options[token.slice(2)] : undefined;
    if (option && option.kind !== 'boolean' && next !== undefined && /^-(\d|\.\d)/.test(next)) {
      out.push(`${token}=${next}`);
      i += 1;
    } else {
      out.push(token);
    }
  }
  return out;
}

export function parseCommand(spec: CommandSpec, argv: string[]): Parsed {
  const options: Record<string, { type: 'string' | 'boolean'; short?: string }> = {};
  for (const [name, option] of Object.entries(spec.options)) {
    options[name] = { type: option.kind === 'boolean' ? 'boolean' : 'string', ...(option.short ? { short: option.short } : {}) };
  }
  let parsed;
  try {
    parsed = parseArgs({ args: joinNegativeValues(spec, argv), options, strict: true, allowPositionals: true });
  } catch (error) {
    const message = (error as Error).message.replace(/^Unknown option '([^']+)'.*$/s, "unknown option '$1'");
    throw new UsageError(`${message} (see "learngene ${spec.name} --help")`);
  }
  const values: Record<string, ParsedValue> = {};
  for (const [name, option] of Object.entries(spec.options)) {
    const raw = (parsed.values as Record<string, string | boolean | undefined>)[name];
    if (raw === undefined) {
      if (option.required) throw new UsageError(`--${name} is required (see "learngene ${spec.name} --help")`);
      values[name] = option.default as ParsedValue;
    } else {
      values[name] = convert(name, option, raw);
    }
  }
  const expected = spec.positionals ?? [];
  const required = expected.filter((p) => p.required).length;
  if (parsed.positionals.length < required) {
    throw new UsageError(`missing <${expected[parsed.positionals.length]!.name}> (usage: ${spec.usage})`);
  }
  if (parsed.positionals.length > expected.length && !expected.at(-1)?.variadic) {
    throw new UsageError(`unexpected argument "${parsed.positionals[expected.length]}" (usage: ${spec.usage})`);
  }
  return { values, positionals: parsed.positionals };
}

export function formatHelp(spec: CommandSpec): string {
  const lines = [`learngene ${spec.name}: ${spec.summary}`, '', `usage: ${spec.usage}`, '', 'options:'];
  const rows = Object.entries(spec.options).map(([name, option]) => {
    const flag = `--${name}${option.kind === 'boolean' ? '' : ` ${option.meta ?? (option.kind === 'string' ? 'VALUE' : 'N')}`}`;
    const def = option.default !== undefined && option.kind !== 'boolean' ? ` (default ${Array.isArray(option.default) ? option.default.join(',') : option.default})` : '';
    return [flag, `${option.help}${option.required ? ' (required)' : ''}${def}`] as const;
  });
  const width = Math.max(...rows.map(([flag]) => flag.length), 10);
  for (const [flag, help] of rows) lines.push(`  ${flag.padEnd(width)}  ${help}`);
  if (spec.examples?.length) {
    lines.push('', 'examples:');
    for (const example of spec.examples) lines.push(`  ${example}`);
  }
  return lines.join('\n');
}
