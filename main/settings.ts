// Studio settings on disk (default backend, default folders, theme, recent projects,
// window bounds). electron-store is conf plus Electron's paths; here conf gets the folder
// from the caller (app.getPath('userData') in Electron, a config dir in browser mode, a
// temp dir in tests), so nothing in this file needs Electron.

import Conf from 'conf';
import {
  defaultSettings,
  validateSettingsPatch,
  withRecentProject,
  type SettingsPatch,
  type StudioSettings,
} from '../shared/host.js';

export interface SettingsStore {
  get(): StudioSettings;
  /** Validates and merges a patch; throws with every problem on a bad one. */
  set(patch: SettingsPatch): StudioSettings;
  addRecentProject(dir: string): StudioSettings;
  /** The file the settings live in. */
  readonly path: string;
}

export function openSettings(dir: string, configName = 'settings'): SettingsStore {
  const conf = new Conf<StudioSettings>({
    cwd: dir,
    configName,
    defaults: defaultSettings(),
    // Settings are small and written rarely: a crash mid-write must not lose them.
    // (conf writes atomically via a temp file.)
  });
  const get = (): StudioSettings => {
    const base = defaultSettings();
    const stored = conf.store as Partial<StudioSettings>;
    return { ...base, ...stored, folders: { ...base.folders, ...(stored.folders ?? {}) } };
  };
  const set = (patch: SettingsPatch): StudioSettings => {
    const problems = validateSettingsPatch(patch);
    if (problems.length > 0) throw new Error(`settings: ${problems.join('; ')}`);
    const current = get();
    const next: StudioSettings = { ...current, ...patch, folders: { ...current.folders, ...(patch.folders ?? {}) } } as StudioSettings;
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
