import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createElectronHost, dialogProperties } from '../../main/host.js';
import { openSettings } from '../../node/studio/settings.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function setup(answer: { canceled: boolean; filePaths: string[] }) {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'lg-host-'));
  dirs.push(dir);
  const settings = openSettings(dir);
  const dialog = { showOpenDialog: vi.fn(async () => answer) };
  const shell = { showItemInFolder: vi.fn() };
  const window = { id: 1 };
  const host = createElectronHost({ dialog, shell, settings, getWindow: () => window, dirname: path.dirname, exists: (p) => p === '/exists/model.onnx' });
  return { host, dialog, shell, settings, window };
}

describe('electron host', () => {
  it('opens a dialog modal to the window, starting in the remembered folder, and remembers the new one', async () => {
    const { host, dialog, settings, window } = setup({ canceled: false, filePaths: ['/data/mnist/train.zip'] });
    settings.set({ folders: { datasets: '/data' } });
    const picked = await host.openDialog({ pick: 'file', title: 'Dataset', remember: 'datasets', filters: [{ name: 'Archives', extensions: ['zip'] }] });
    expect(picked).toBe('/data/mnist/train.zip');
    expect(dialog.showOpenDialog).toHaveBeenCalledWith(window, {
      title: 'Dataset',
      defaultPath: '/data',
      properties: ['openFile'],
      filters: [{ name: 'Archives', extensions: ['zip'] }],
    });
    expect(settings.get().folders.datasets).toBe('/data/mnist');
  });

  it('answers null when the dialog is cancelled', async () => {
    const { host, settings } = setup({ canceled: true, filePaths: [] });
    expect(await host.openDialog({ pick: 'folder', remember: 'models' })).toBeNull();
    expect(settings.get().folders.models).toBe('');
  });

  it('reveals existing files only', async () => {
    const { host, shell } = setup({ canceled: true, filePaths: [] });
    expect(await host.reveal('/exists/model.onnx')).toBe(true);
    expect(shell.showItemInFolder).toHaveBeenCalledWith('/exists/model.onnx');
    expect(await host.reveal('/nope')).toBe(false);
    expect(shell.showItemInFolder).toHaveBeenCalledTimes(1);
  });

  it('reads and writes settings', async () => {
    const { host } = setup({ canceled: true, filePaths: [] });
    expect((await host.setSettings({ theme: 'light' })).theme).toBe('light');
    expect((await host.getSettings()).theme).toBe('light');
  });

  it('asks for folders with openDirectory', () => {
    expect(dialogProperties('folder')).toEqual(['openDirectory']);
    expect(dialogProperties('file')).toEqual(['openFile']);
  });
});
