// Where the studio may read and write. In browser mode every path a call names — a
// request's inputs and outputs, what is inspected or downloaded — must stay inside the
// project folder, its upload area, or a folder the user added (settings.allowedFolders,
// `learngene studio --allow DIR`); links are followed before the check, so a symbolic
// link inside the project cannot lead out of it. The desktop app and the CLI act for the
// user on their whole file system: their policy lets every path through.

import { promises as fs } from 'node:fs';
import path from 'node:path';
import type { JobRequest } from '../../shared/api.js';
import { ConfigError, type ValidationIssue } from '../../shared/config.js';
import { requestPaths } from '../jobs/request-paths.js';

export interface PathPolicy {
  /** Folders every path must stay inside (real paths); null: anywhere. */
  readonly roots: readonly string[] | null;
  /** Throws a ConfigError naming `field` when `target` (absolute) is outside the roots. */
  check(target: string, field: string): Promise<void>;
  /** Every path of a request (absolute) inside the roots, or a ConfigError naming each field that is not. */
  checkRequest(request: JobRequest): Promise<void>;
}

/** `target` with every link of its longest existing part resolved (what it would really touch). */
export async function realTarget(target: string): Promise<string> {
  const rest: string[] = [];
  let current = path.resolve(target);
  for (;;) {
    try {
      return path.join(await fs.realpath(current), ...rest.reverse());
    } catch {
      const parent = path.dirname(current);
      if (parent === current) return path.resolve(target);
      rest.push(path.basename(current));
      current = parent;
    }
  }
}

export function isInside(child: string, root: string): boolean {
  const relative = path.relative(root, child);
  return relative === '' || (relative !== '..' && !relative.startsWith('..' + path.sep) && !path.isAbsolute(relative));
}

/** The desktop app's and the CLI's policy: the user's own file system. */
export const ANYWHERE: PathPolicy = {
  roots: null,
  check: async () => undefined,
  checkRequest: async () => undefined,
};

/** Browser mode's policy: `roots` (the project, its uploads, the added folders) and nothing else. */
export async function confinedTo(roots: string[]): Promise<PathPolicy> {
  const real = await Promise.all(roots.map(realTarget));
  const describe = () => `the folders this studio may use (${real.join(', ')}; add one with: learngene studio --allow DIR)`;
  const problem = async (target: string, field: string): Promise<ValidationIssue | null> => {
    const resolved = await realTarget(target);
    return real.some((root) => isInside(resolved, root)) ? null : { field, message: `${target} is outside ${describe()}` };
  };
  return {
    roots: real,
    async check(target, field) {
      const issue = await problem(target, field);
      if (issue) throw new ConfigError([issue]);
    },
    async checkRequest(request) {
      const issues: ValidationIssue[] = [];
      for (const p of requestPaths(request)) {
        const issue = await problem(p.value, p.field);
        if (issue) issues.push(issue);
      }
      if (issues.length > 0) throw new ConfigError(issues);
    },
  };
}
