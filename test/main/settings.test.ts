import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { openSettings } from '../../main/settings.js';
import { defaultSettings, MAX_RECENT_PROJECTS } from '../../shared/host.js';

const dirs: string[] = [];
function tempDir() {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'lg-settings-'));
  dirs.push(dir);
  return dir;
}
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

describe('settings', () => {
  it('starts from the defaults', () => {
    expect(openSettings(tempDir()).get()).toEqual(defaultSettings());
  });

  it('writes to the folder it is given and reads back after reopening', () => {
    const dir = tempDir();
    const store = openSettings(dir);
    store.set({ theme: 'dark', defaultBackend: 'wasm', folders: { datasets: '/data' } });
    store.set({ folders: { models: '/models' }, window: { x: 10, y: 20, width: 1000, height: 700 } });
    expect(store.path.startsWith(dir)).toBe(true);
    expect(JSON.parse(readFileSync(store.path, 'utf8')).theme).toBe('dark');
    const again = openSettings(dir).get();
    expect(again.theme).toBe('dark');
    expect(again.defaultBackend).toBe('wasm');
    expect(again.folders).toEqual({ datasets: '/data', models: '/models', exports: '' });
    expect(again.window).toEqual({ x: 10, y: 20, width: 1000, height: 700 });
  });

  it('rejects a bad patch and keeps what was stored', () => {
    const store = openSettings(tempDir());
    expect(() => store.set({ theme: 'neon' as never })).toThrow(/theme must be system, light or dark/);
    expect(() => store.set({ bogus: 1 } as never)).toThrow(/unknown setting "bogus"/);
    expect(store.get().theme).toBe('system');
  });

  it('keeps recent projects most recent first, without duplicates, at most ten', () => {
    const store = openSettings(tempDir());
    for (let i = 0; i < 12; i++) store.addRecentProject(`/p${i}`);
    store.addRecentProject('/p5');
    const recent = store.get().recentProjects;
    expect(recent[0]).toBe('/p5');
    expect(recent).toHaveLength(MAX_RECENT_PROJECTS);
    expect(new Set(recent).size).toBe(recent.length);
    expect(recent[1]).toBe('/p11');
  });
});
