// Issue 3: the README's main job in its quick form completes and reports SWS and
// scratch for every depth.

import { describe, expect, it } from 'vitest';
import { mkdtempSync, existsSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fashionMnistPath, runCli } from '../helpers/cli.js';

describe('learngene demo --quick', () => {
  it('trains a teacher, distils, grows and fine-tunes descendants next to scratch', { timeout: 900_000 }, async () => {
    const work = mkdtempSync(path.join(os.tmpdir(), 'lg-demo-'));
    const out = path.join(work, 'demo');
    const run = await runCli(['demo', '--quick', '--data', fashionMnistPath(), '--out', out, '--project', work, '--json']);
    expect(run.code, run.stderr).toBe(0);
    const rows = run.json.compare.rows as { depth: number; method: string; top1_1ep: number; top1_final: number }[];
    const depths = [...new Set(rows.map((r) => r.depth))];
    expect(depths.length).toBeGreaterThanOrEqual(2);
    for (const depth of depths) {
      for (const method of ['sws', 'scratch']) {
        const row = rows.find((r) => r.depth === depth && r.method === method);
        expect(row, `${method} at depth ${depth}`).toBeDefined();
        expect(row!.top1_final).toBeGreaterThan(0.1); // better than chance on 10 classes
      }
    }
    // the printed table and the files a user looks for
    expect(run.stderr).toMatch(/\| depth \| params/);
    expect(readFileSync(path.join(out, 'demo.md'), 'utf8')).toMatch(/\| sws /);
    expect(existsSync(path.join(out, 'learngene', 'learngene.safetensors'))).toBe(true);
    expect(existsSync(path.join(out, 'descendants', `sws-d${depths[0]}`, 'model.safetensors'))).toBe(true);
    expect(run.json.storedParams.learngene).toBeGreaterThan(0);
  });
});
