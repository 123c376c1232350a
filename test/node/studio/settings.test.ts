import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { openSettings } from '../../../node/studio/settings.js';
import { defaultSettings, MAX_RECENT_PROJECTS } from '../../../shared/host.js';

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

  it('rejects a bad patch naming the field, and keeps what was stored', () => {
    const store = openSettings(tempDir());
    expect(() => store.set({ theme: 'neon' as never })).toThrow(/settings\.theme: must be one of system, light, dark, got "neon"/);
    expect(() => store.set({ bogus: 1 } as never)).toThrow(/settings\.bogus: is not a known field/);
    expect(() => store.set({ defaultBackend: 'quantum' })).toThrow(/settings\.defaultBackend: unknown backend "quantum"; choose one of auto, /);
    expect(store.get().theme).toBe('system');
  });

  // Probe 5 of issue 14: window, the keys of folders and the length of recentProjects went unchecked.
  it.each([
    ['window without a size', { window: { x: 1, y: 2 } }, /settings\.window\.width: is required/],
    ['window of strings', { window: { width: '1e9', height: 700 } }, /settings\.window\.width: must be an integer/],
    ['window off every screen', { window: { x: 1e9, y: 0, width: 800, height: 600 } }, /settings\.window\.x: must be at most 100000/],
    ['window with an extra key', { window: { width: 800, height: 600, fullscreen: true } }, /settings\.window\.fullscreen: is not a known field/],
    ['an unknown folders key', { folders: { '__proto__x': '/x' } }, /settings\.folders\.__proto__x: is not a known field/],
    ['a folder that is not a path', { folders: { datasets: 42 } }, /settings\.folders\.datasets: must be a string/],
    ['a huge folder path', { folders: { datasets: 'x'.repeat(5000) } }, /settings\.folders\.datasets: is 5000 characters long; at most 4096/],
    ['eleven recent projects', { recentProjects: Array.from({ length: MAX_RECENT_PROJECTS + 1 }, (_, i) => `/p${i}`) }, /settings\.recentProjects: has 11 entries; at most 10/],
    ['a recent project that is not a path', { recentProjects: [1] }, /settings\.recentProjects\[0\]: must be a string/],
  ])('refuses %s', (_name, patch, message) => {
    const store = openSettings(tempDir());
    const before = store.get();
    expect(() => store.set(patch as never)).toThrow(message);
    expect(store.get()).toEqual(before);
  });

  it('repairs a hand-edited settings file field by field on read', () => {
    const dir = tempDir();
    const store = openSettings(dir);
    store.set({ theme: 'dark' });
    const text = JSON.parse(readFileSync(store.path, 'utf8'));
    writeFileSync(store.path, JSON.stringify({ ...text, window: { width: -5 }, recentProjects: 'nope', folders: { datasets: '/d', evil: 1 }, defaultBackend: 'retired-backend' }));
    const read = openSettings(dir).get();
    expect(read.theme).toBe('dark');
    expect(read.window).toBeUndefined();
    expect(read.recentProjects).toEqual([]);
    expect(read.defaultBackend).toBe('auto');
    expect(read.folders).toEqual(defaultSettings().folders);
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
