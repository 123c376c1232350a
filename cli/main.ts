// `learngene` — the command line. Each command parses its flags (unknown flags are
// errors), turns them into a request of shared/api.ts, runs it, prints progress on
// stderr and the result on stdout (with --json: one JSON object on the last line).

import { formatHelp, parseCommand, UsageError, type CommandSpec, type Parsed } from './args.js';
import { COMMANDS } from './commands.js';
import { ConfigError } from '../shared/config.js';
import { FormatError } from '../engine/io/errors.js';

export interface CliIO {
  stdout: NodeJS.WriteStream;
  stderr: NodeJS.WriteStream;
}

export interface Command {
  spec: CommandSpec;
  run(parsed: Parsed, io: CliIO): Promise<{ text: string; json: unknown }>;
}

function topLevelHelp(): string {
  const width = Math.max(...Object.keys(COMMANDS).map((n) => n.length));
  return [
    'learngene: grow Vision Transformers of any size from one trained teacher (Stage-wise Weight Sharing)',
    '',
    'usage: learngene <command> [options]      learngene <command> --help',
    '',
    'commands:',
    ...Object.entries(COMMANDS).map(([name, command]) => `  ${name.padEnd(width)}  ${command.spec.summary}`),
  ].join('\n');
}

/** Exit codes: 0 ok, 1 failure while running, 2 bad usage or input rejected before running, 130 cancelled. */
export async function main(argv: string[], io: CliIO = { stdout: process.stdout, stderr: process.stderr }): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    io.stdout.write(topLevelHelp() + '\n');
    return name ? 0 : 2;
  }
  if (name === '--version' || name === 'version') {
    const { readFileSync } = await import('node:fs');
    const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
    io.stdout.write(pkg.version + '\n');
    return 0;
  }
  const command = COMMANDS[name];
  if (!command) {
    io.stderr.write(`learngene: unknown command "${name}"\n\n${topLevelHelp()}\n`);
    return 2;
  }
  const wantsJson = rest.includes('--json');
  try {
    if (rest.includes('--help') || rest.includes('-h')) {
      io.stdout.write(formatHelp(command.spec) + '\n');
      return 0;
    }
    const parsed = parseCommand(command.spec, rest);
    const result = await command.run(parsed, io);
    if (parsed.values.json) {
      if (result.text) io.stderr.write(result.text + '\n');
      io.stdout.write(JSON.stringify(result.json) + '\n');
    } else if (result.text) {
      io.stdout.write(result.text + '\n');
    }
    return 0;
  } catch (error) {
    const { message, code, extra } = describeError(error);
    io.stderr.write(`learngene ${name}: ${message}\n`);
    if (wantsJson) io.stdout.write(JSON.stringify({ error: { message, ...extra } }) + '\n');
    return code;
  }
}

export function describeError(error: unknown): { message: string; code: number; extra: Record<string, unknown> } {
  if (error instanceof UsageError) return { message: error.message, code: 2, extra: {} };
  if (error instanceof ConfigError) return { message: error.message, code: 2, extra: { issues: error.issues } };
  if (error instanceof FormatError) return { message: error.message, code: 2, extra: { file: error.file } };
  if (error instanceof Error && error.name === 'JobCancelled') return { message: error.message, code: 130, extra: {} };
  if (error instanceof Error) return { message: error.message, code: 1, extra: {} };
  return { message: String(error), code: 1, extra: {} };
}
