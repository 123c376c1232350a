// Runtime boundaries, checked on the source: the renderer never imports Node built-ins,
// Electron or TensorFlow.js (directly or through what it imports); shared/ imports only
// shared/ files and has no top-level side effects; the sandboxed preload requires only
// electron.

import { readdirSync, readFileSync, statSync } from 'node:fs';
import { builtinModules } from 'node:module';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = path.resolve(__dirname, '..');

function files(dir: string, extensions: string[]): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    const full = path.join(dir, name);
    if (statSync(full).isDirectory()) out.push(...files(full, extensions));
    else if (extensions.some((e) => name.endsWith(e))) out.push(full);
  }
  return out;
}

/** Import specifiers of a TS/JS/Svelte file: static imports, re-exports, dynamic imports, require. */
export function importsOf(source: string): string[] {
  const specs: string[] = [];
  const patterns = [
    /\bimport\s+(?:type\s+)?(?:[^'";]*?\sfrom\s+)?['"]([^'"]+)['"]/g,
    /\bexport\s+(?:type\s+)?(?:\*|\{[^}]*\})\s*(?:as\s+\w+\s+)?from\s+['"]([^'"]+)['"]/g,
    /\bimport\s*\(\s*['"]([^'"]+)['"]\s*\)/g,
    /\brequire\s*\(\s*['"]([^'"]+)['"]\s*\)/g,
  ];
  for (const pattern of patterns) for (const m of source.matchAll(pattern)) specs.push(m[1]!);
  return specs;
}

/** Whether an import is type-only (erased at build time). */
function typeOnly(source: string, spec: string): boolean {
  const escaped = spec.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  const all = [...source.matchAll(new RegExp(`\\b(import|export)\\s+(type\\s+)?([^'";]*?)from\\s+['"]${escaped}['"]`, 'g'))];
  return all.length > 0 && all.every((m) => m[2] !== undefined);
}

const NODE_BUILTINS = new Set([...builtinModules, ...builtinModules.map((m) => `node:${m}`)]);
const isNodeBuiltin = (spec: string) => spec.startsWith('node:') || NODE_BUILTINS.has(spec) || NODE_BUILTINS.has(spec.split('/')[0]!);

/** Resolves a relative import of a source file to the file it means (.js → .ts, .svelte as is). */
function resolveRelative(from: string, spec: string): string | null {
  const base = path.resolve(path.dirname(from), spec);
  for (const candidate of [base, base.replace(/\.js$/, '.ts'), base + '.ts', path.join(base, 'index.ts')]) {
    try {
      if (statSync(candidate).isFile()) return candidate;
    } catch {
      // try the next
    }
  }
  return null;
}

/** Every file the renderer loads at run time (type-only imports excluded), with its imports. */
function rendererGraph(): Map<string, string[]> {
  const graph = new Map<string, string[]>();
  const todo = files(path.join(ROOT, 'renderer', 'src'), ['.ts', '.svelte']);
  while (todo.length) {
    const file = todo.pop()!;
    if (graph.has(file)) continue;
    const source = readFileSync(file, 'utf8');
    const specs = importsOf(source).filter((s) => !typeOnly(source, s));
    graph.set(file, specs);
    for (const spec of specs) {
      if (!spec.startsWith('.')) continue;
      const target = resolveRelative(file, spec);
      if (target && !graph.has(target)) todo.push(target);
    }
  }
  return graph;
}

/** A cast to any …Result type, directly or inside a generic (`as Promise<InspectResult>`). */
const RESULT_CAST = /\bas\s+(?:unknown\s+as\s+)?(?:[\w.]+\s*<\s*)?\w*Result\b/;

/** The imports of `file` (type-only ones too) that lead into one of the `forbidden` top-level folders. */
function adapterImports(file: string, source: string, forbidden: string[]): string[] {
  const bad: string[] = [];
  for (const spec of importsOf(source)) {
    if (!spec.startsWith('.')) continue;
    const top = path.relative(ROOT, path.resolve(path.dirname(file), spec)).split(path.sep)[0]!;
    if (forbidden.includes(top)) bad.push(`${path.relative(ROOT, file)} imports ${spec}`);
  }
  return bad;
}

function forbiddenImports(from: string, forbidden: string[]): string[] {
  return files(path.join(ROOT, from), ['.ts', '.cts']).flatMap((file) => adapterImports(file, readFileSync(file, 'utf8'), forbidden));
}

describe('architecture', () => {
  it('finds imports of every form', () => {
    expect(importsOf(`import a from 'x'; import type { B } from "y"; export * from './z.js'; const c = await import('w'); require('v'); import './side.css';`)).toEqual(['x', 'y', './side.css', './z.js', 'w', 'v']);
  });

  it('the renderer imports no Node built-ins, no electron and no TensorFlow.js, even indirectly', () => {
    const graph = rendererGraph();
    expect(graph.size).toBeGreaterThan(20);
    const bad: string[] = [];
    for (const [file, specs] of graph) {
      for (const spec of specs) {
        if (isNodeBuiltin(spec) || spec === 'electron' || spec.startsWith('electron/') || spec.startsWith('@tensorflow/') || spec === 'sharp' || spec === 'ws' || spec === 'conf') {
          bad.push(`${path.relative(ROOT, file)} imports ${spec}`);
        }
        if (spec.startsWith('.') && !resolveRelative(file, spec) && !spec.endsWith('.css') && !spec.endsWith('.svelte')) bad.push(`${path.relative(ROOT, file)}: cannot resolve ${spec}`);
      }
    }
    expect(bad).toEqual([]);
    // Outside renderer/ it reaches shared/ and the pure layersSource of the engine, nothing else.
    const outside = [...graph.keys()].map((f) => path.relative(ROOT, f)).filter((f) => !f.startsWith('renderer' + path.sep));
    for (const file of outside) expect(file.startsWith('shared' + path.sep) || file === path.join('engine', 'sws', 'layers-source.ts'), file).toBe(true);
  });

  it('shared/ imports only shared/ files', () => {
    for (const file of files(path.join(ROOT, 'shared'), ['.ts'])) {
      for (const spec of importsOf(readFileSync(file, 'utf8'))) {
        expect(spec.startsWith('./') && !spec.includes('..'), `${path.relative(ROOT, file)} imports ${spec}`).toBe(true);
      }
    }
  });

  it('shared/ has no top-level side effects: only declarations at the top of each file', () => {
    const allowed = /^(export\s+)?(declare\s+)?(abstract\s+)?(async\s+)?(import|export|const|let|function|class|interface|type|enum)\b|^[}\])]|^\/\/|^\/\*|^\*|^$/;
    for (const file of files(path.join(ROOT, 'shared'), ['.ts'])) {
      const lines = readFileSync(file, 'utf8').split('\n');
      lines.forEach((line, i) => {
        if (/^\s/.test(line)) return; // inside a declaration
        expect(allowed.test(line.trim()), `${path.relative(ROOT, file)}:${i + 1} ${line}`).toBe(true);
      });
      // Top-level constants are plain data or arrow functions, never calls that could do work.
      const text = lines.filter((l) => !/^\s/.test(l)).join('\n');
      expect(/^(export\s+)?(const|let)\s+\w+(\s*:[^=]+)?\s*=\s*(?!\[|\{|'|"|`|\d|-|true|false|null|\(|new\s+Set\(\[|Object\.freeze\()\w+\(/m.test(text), `${path.relative(ROOT, file)} runs code at import`).toBe(false);
    }
  });

  it('layers-source.ts, imported by the renderer, is pure TypeScript over shared/', () => {
    const source = readFileSync(path.join(ROOT, 'engine', 'sws', 'layers-source.ts'), 'utf8');
    expect(importsOf(source).every((s) => s.startsWith('../../shared/'))).toBe(true);
  });

  // main/ (Electron IPC) and server/ (WebSocket) are sibling adapters over node/studio/:
  // neither imports the other, the CLI imports neither main/ nor the server's internals
  // beyond starting it, and nothing below them imports an adapter.
  it.each([
    ['main', ['server', 'cli']],
    ['server', ['main', 'cli']],
    ['cli', ['main']],
    ['node', ['main', 'server', 'cli', 'renderer']],
    ['shared', ['main', 'server', 'cli', 'node', 'engine', 'renderer']],
  ])('%s/ imports nothing from %j', (from, forbidden) => {
    expect(forbiddenImports(from, forbidden)).toEqual([]);
  });

  it('the import check finds an adapter importing its sibling (so the test above can fail)', () => {
    const source = "import { startStudioServer } from '../server/studio-server.js';\nimport type { X } from '../server/x.js';";
    expect(adapterImports(path.join(ROOT, 'main', 'fake.ts'), source, ['server'])).toEqual(['main/fake.ts imports ../server/studio-server.js', 'main/fake.ts imports ../server/x.js']);
  });

  it('no job result is cast: results are a union keyed by kind (shared/results.ts)', () => {
    const casts: string[] = [];
    for (const dir of ['node', 'server', 'main', 'cli', 'renderer']) {
      for (const file of files(path.join(ROOT, dir), ['.ts', '.cts', '.svelte'])) {
        readFileSync(file, 'utf8').split('\n').forEach((line, i) => {
          if (RESULT_CAST.test(line)) casts.push(`${path.relative(ROOT, file)}:${i + 1}: ${line.trim()}`);
        });
      }
    }
    expect(casts).toEqual([]);
    for (const cast of ['x as DistillResult', 'y as Promise<InspectResult>', '(r as unknown as JobResult)', 'z as RpcResult', 'a as TrainedModelResult | undefined']) expect(RESULT_CAST.test(cast), cast).toBe(true);
  });

  it('the sandboxed preload requires nothing but electron', () => {
    const source = readFileSync(path.join(ROOT, 'main', 'preload.cts'), 'utf8');
    expect(importsOf(source).filter((s) => !typeOnly(source, s))).toEqual(['electron']);
  });
});
