// Studio settings on disk (default backend, default folders, theme, recent projects,
// allowed folders, window bounds), checked against one schema (shared/host.ts) when
// written and repaired field by field when read. electron-store is conf plus Electron's
// paths; here conf gets the folder from the caller (app.getPath('userData') in Electron,
// a config dir in browser mode, a temp dir in tests), so nothing in this file needs
// Electron.

import Conf from 'conf';
import { ConfigError } from '../../shared/config.js';
import {
  defaultSettings,
  sanitizeSettings,
  validateSettingsPatch,
  withRecentProject,
  type SettingsPatch,
  type StudioSettings,
} from '../../shared/host.js';

export interface SettingsStore {
  get(): StudioSettings;
  /** Validates and merges a patch; throws a ConfigError naming every bad field. */
  set(patch: SettingsPatch): StudioSettings;
  addRecentProject(dir: string): StudioSettings;
  /** The file the settings live in. */
  readonly path: string;
}

export function openSettings(dir: string, configName = 'settings'): SettingsStore {
  // conf writes atomically (temp file + rename): a crash mid-write does not lose them.
  const conf = new Conf<StudioSettings>({ cwd: dir, configName, defaults: defaultSettings() });
  const get = (): StudioSettings => sanitizeSettings(conf.store);
  const set = (patch: SettingsPatch): StudioSettings => {
    const issues = validateSettingsPatch(patch);
    if (issues.length > 0) throw new ConfigError(issues.map((i) => ({ field: `settings.${i.field}`, message: i.message })));
    const current = get();
    const next: StudioSettings = { ...current, ...patch, folders: { ...current.folders, ...(patch.folders ?? {}) } };
    conf.store = next;
    return get();
  };
  return {
    get,
    set,
    addRecentProject: (project) => set({ recentProjects: withRecentProject(get().recentProjects, project) }),
    get path() {
      return conf.path;
    },
  };
}
