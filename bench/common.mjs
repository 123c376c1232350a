// What the benchmark scripts (run.mjs, sws.mjs) share: the repository root and the
// facts about the machine and checkout they record next to their numbers.

import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

/** A command's trimmed stdout, or null when it is missing or fails (a report field, never fatal). */
export function tryRun(command, argv) {
  try {
    return execFileSync(command, argv, { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    return null;
  }
}

/** The installed version of a dependency, or null. */
export function packageVersion(name) {
  try {
    return JSON.parse(readFileSync(path.join(root, 'node_modules', name, 'package.json'), 'utf8')).version;
  } catch {
    return null;
  }
}

/** The commit the numbers come from, and whether the checkout had uncommitted changes. */
export function gitState() {
  return { git: tryRun('git', ['rev-parse', '--short', 'HEAD']), gitDirty: (tryRun('git', ['status', '--porcelain']) ?? '').length > 0 };
}
