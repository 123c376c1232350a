// Path helpers for the window (no node:path here). Forward slashes work on every OS
// the job service runs on; Windows paths with backslashes are handled when read.

export function joinPath(...parts: string[]): string {
  const cleaned = parts.filter((p) => p.length > 0);
  if (cleaned.length === 0) return '';
  const [first, ...rest] = cleaned;
  return [first!.replace(/[\\/]+$/, ''), ...rest.map((p) => p.replace(/^[\\/]+|[\\/]+$/g, ''))].join('/');
}

export function baseName(p: string): string {
  const trimmed = p.replace(/[\\/]+$/, '');
  const i = Math.max(trimmed.lastIndexOf('/'), trimmed.lastIndexOf('\\'));
  return i >= 0 ? trimmed.slice(i + 1) : trimmed;
}

export function dirName(p: string): string {
  const trimmed = p.replace(/[\\/]+$/, '');
  const i = Math.max(trimmed.lastIndexOf('/'), trimmed.lastIndexOf('\\'));
  return i > 0 ? trimmed.slice(0, i) : i === 0 ? trimmed.slice(0, 1) : '';
}

/** The deepest folder holding every path (several IDX files dropped at once → their folder). */
export function commonParent(paths: string[]): string {
  if (paths.length === 0) return '';
  if (paths.length === 1) return paths[0]!;
  const split = paths.map((p) => dirName(p).split(/[\\/]/));
  const first = split[0]!;
  let n = first.length;
  for (const parts of split) {
    let i = 0;
    while (i < n && parts[i] === first[i]) i++;
    n = i;
  }
  return first.slice(0, n).join('/') || '/';
}

/** A file-system-safe name from free text. */
export function slug(text: string): string {
  return text.trim().replace(/[^A-Za-z0-9._-]+/g, '-').replace(/^-+|-+$/g, '') || 'model';
}
