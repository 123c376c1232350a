// What the studio's window needs from its host besides the job API: native dialogs,
// revealing files, settings. Electron provides it through the preload; browser mode
// through the studio server. Types and pure functions only.

export type Theme = 'system' | 'light' | 'dark';

export interface StudioSettings {
  /** tfjs backend for new jobs: 'auto' or a name from `backends()`. */
  defaultBackend: string;
  /** Where the open dialogs start, by what is being picked. */
  folders: { datasets: string; models: string; exports: string };
  theme: Theme;
  /** Most recent first. */
  recentProjects: string[];
  /** Electron window bounds, restored on start. */
  window?: { x?: number; y?: number; width: number; height: number; maximized?: boolean };
}

export const MAX_RECENT_PROJECTS = 10;

export function defaultSettings(): StudioSettings {
  return {
    defaultBackend: 'auto',
    folders: { datasets: '', models: '', exports: '' },
    theme: 'system',
    recentProjects: [],
  };
}

/** A settings patch as the window sends it: top-level fields; `folders` merges key by key. */
export type SettingsPatch = Partial<Omit<StudioSettings, 'folders'>> & { folders?: Partial<StudioSettings['folders']> };

/** Rejects what a settings patch must never contain; returns the problems. */
export function validateSettingsPatch(patch: SettingsPatch): string[] {
  const problems: string[] = [];
  if (patch === null || typeof patch !== 'object') return ['settings patch must be an object'];
  const known = new Set(['defaultBackend', 'folders', 'theme', 'recentProjects', 'window']);
  for (const key of Object.keys(patch)) if (!known.has(key)) problems.push(`unknown setting "${key}"`);
  if (patch.theme !== undefined && !['system', 'light', 'dark'].includes(patch.theme)) problems.push(`theme must be system, light or dark, got ${JSON.stringify(patch.theme)}`);
  if (patch.defaultBackend !== undefined && typeof patch.defaultBackend !== 'string') problems.push('defaultBackend must be a string');
  if (patch.recentProjects !== undefined && !(Array.isArray(patch.recentProjects) && patch.recentProjects.every((p) => typeof p === 'string'))) {
    problems.push('recentProjects must be a list of paths');
  }
  if (patch.folders !== undefined) {
    if (typeof patch.folders !== 'object' || patch.folders === null) problems.push('folders must be an object');
    else for (const [k, v] of Object.entries(patch.folders)) if (typeof v !== 'string') problems.push(`folders.${k} must be a path`);
  }
  return problems;
}

/** `project` moved to the front of the recent list, without duplicates, at most MAX_RECENT_PROJECTS. */
export function withRecentProject(recent: string[], project: string): string[] {
  return [project, ...recent.filter((p) => p !== project)].slice(0, MAX_RECENT_PROJECTS);
}

export interface OpenDialogOptions {
  title?: string;
  /** What may be picked. */
  pick: 'file' | 'folder' | 'file-or-folder';
  /** e.g. [{ name: 'Models', extensions: ['safetensors', 'onnx'] }] */
  filters?: { name: string; extensions: string[] }[];
  /** Which settings.folders entry to start in (and remember). */
  remember?: keyof StudioSettings['folders'];
}

export interface StudioHost {
  readonly kind: 'electron' | 'browser';
  /** A native open dialog; null when cancelled or when the host has none (browser mode). */
  openDialog(options: OpenDialogOptions): Promise<string | null>;
  /** Shows a file in the system file manager. Returns false when the host cannot (browser mode). */
  reveal(path: string): Promise<boolean>;
  getSettings(): Promise<StudioSettings>;
  setSettings(patch: SettingsPatch): Promise<StudioSettings>;
}

/** IPC channel of an API or host call: `learngene:<name>`. Events arrive on EVENT_CHANNEL. */
export const IPC_PREFIX = 'learngene:';
export const EVENT_CHANNEL = 'learngene:event';
export const HOST_METHODS = ['openDialog', 'reveal', 'getSettings', 'setSettings'] as const;
export type HostMethod = (typeof HOST_METHODS)[number];
