// The Electron host of the studio window: native open dialogs, reveal in folder,
// settings. Electron's `dialog` and `shell` are passed in, so tests use fakes.

import type { OpenDialogOptions, SettingsPatch, StudioHost, StudioSettings } from '../shared/host.js';
import type { SettingsStore } from '../node/studio/settings.js';

/** The parts of Electron's dialog/shell this host uses. */
export interface DialogLike {
  showOpenDialog(
    window: unknown,
    options: { title?: string; defaultPath?: string; properties: string[]; filters?: { name: string; extensions: string[] }[] },
  ): Promise<{ canceled: boolean; filePaths: string[] }>;
}
export interface ShellLike {
  showItemInFolder(fullPath: string): void;
}

export interface ElectronHostDeps {
  dialog: DialogLike;
  shell: ShellLike;
  settings: SettingsStore;
  /** The window dialogs are modal to (null: none). */
  getWindow: () => unknown;
  /** dirname of a path (node:path in the shell; injected so this file stays testable). */
  dirname: (p: string) => string;
  /** Whether a path exists (reveal refuses paths that do not). */
  exists: (p: string) => boolean;
}

export function dialogProperties(pick: OpenDialogOptions['pick']): string[] {
  // Linux and Windows cannot show one dialog for files and folders together: 'file-or-folder'
  // asks for a file there (macOS shows both). Folders can still be dropped on the window.
  if (pick === 'folder') return ['openDirectory'];
  if (pick === 'file-or-folder') return process.platform === 'darwin' ? ['openFile', 'openDirectory'] : ['openFile'];
  return ['openFile'];
}

export function createElectronHost(deps: ElectronHostDeps): StudioHost {
  return {
    kind: 'electron',
    async openDialog(options: OpenDialogOptions): Promise<string | null> {
      const settings = deps.settings.get();
      const start = options.remember ? settings.folders[options.remember] : '';
      const result = await deps.dialog.showOpenDialog(deps.getWindow(), {
        ...(options.title ? { title: options.title } : {}),
        ...(start ? { defaultPath: start } : {}),
        properties: dialogProperties(options.pick),
        ...(options.filters ? { filters: options.filters } : {}),
      });
      const picked = result.canceled ? undefined : result.filePaths[0];
      if (!picked) return null;
      if (options.remember) {
        const folder = options.pick === 'folder' ? picked : deps.dirname(picked);
        deps.settings.set({ folders: { [options.remember]: folder } });
      }
      return picked;
    },
    async reveal(fullPath: string): Promise<boolean> {
      if (typeof fullPath !== 'string' || !deps.exists(fullPath)) return false;
      deps.shell.showItemInFolder(fullPath);
      return true;
    },
    async getSettings(): Promise<StudioSettings> {
      return deps.settings.get();
    },
    async setSettings(patch: SettingsPatch): Promise<StudioSettings> {
      return deps.settings.set(patch);
    },
  };
}
