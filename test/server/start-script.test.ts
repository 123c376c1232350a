// `npm start` without an Electron runtime: one line says so, then browser mode serves.
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { describe, expect, it } from 'vitest';

const ROOT = path.resolve(__dirname, '../..');
const built = existsSync(path.join(ROOT, 'dist/cli/studio-command.js')) && existsSync(path.join(ROOT, 'renderer-dist/index.html'));

describe.skipIf(!built)('scripts/start.mjs', () => {
  it('falls back to browser mode in one line when Electron has no runtime, and stops on SIGINT', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'lg-start-'));
    try {
      const child = spawn(process.execPath, [path.join(ROOT, 'scripts/start.mjs'), '--json', '--project', path.join(dir, 'p'), '--port', '0'], {
        env: { ...process.env, LEARNGENE_CONFIG_DIR: path.join(dir, 'config'), ELECTRON_OVERRIDE_DIST_PATH: path.join(dir, 'no-electron') },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let stderr = '';
      child.stderr.on('data', (d: Buffer) => (stderr += String(d)));
      const url = await new Promise<string>((resolve, reject) => {
        createInterface({ input: child.stdout }).on('line', (line) => resolve((JSON.parse(line) as { url: string }).url));
        child.on('exit', (code) => reject(new Error(`exited ${code}: ${stderr}`)));
      });
      expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/[0-9a-f]{64}\/$/);
      expect(stderr.trim().split('\n')).toEqual(['Electron is not available (its runtime is not installed; "npx install-electron" downloads it): starting the studio in browser mode.']);
      expect((await fetch(url)).status).toBe(200);
      const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
      child.kill('SIGINT');
      expect(await exited).toBe(0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);
});
