// What the studio's window needs from its host besides the job API: native dialogs,
// revealing files, settings. Electron provides it through the preload; browser mode
// through the studio server. Types and pure functions only.

import type { ValidationIssue } from './config.js';
import { BACKEND_CHOICES } from './api.js';
import { checkValue, isPlainObject, type Field } from './schema.js';

export type Theme = 'system' | 'light' | 'dark';

export interface StudioSettings {
  /** Backend for new jobs: 'auto' or a name of shared/api.ts BACKEND_NAMES. */
  defaultBackend: string;
  /** Where the open dialogs start, by what is being picked. */
  folders: { datasets: string; models: string; exports: string };
  theme: Theme;
  /** Most recent first. */
  recentProjects: string[];
  /**
   * Folders besides the project that browser mode may read and write (datasets kept
   * elsewhere, a shared models folder). Added with `learngene studio --allow DIR`; the
   * browser page itself cannot change them.
   */
  allowedFolders: string[];
  /** Electron window bounds, restored on start. */
  window?: { x?: number; y?: number; width: number; height: number; maximized?: boolean };
}

export const MAX_RECENT_PROJECTS = 10;
export const MAX_ALLOWED_FOLDERS = 32;

export function defaultSettings(): StudioSettings {
  return {
    defaultBackend: 'auto',
    folders: { datasets: '', models: '', exports: '' },
    theme: 'system',
    recentProjects: [],
    allowedFolders: [],
  };
}

const SETTINGS_PATH: Field = { type: 'string', maxLength: 4096 };
/** Window coordinates and sizes: generous, but numbers a screen can have. */
const COORDINATE: Field = { type: 'number', integer: true, min: -100_000, max: 100_000 };
const SIZE: Field = { type: 'number', integer: true, min: 1, max: 100_000 };

/** Every setting, with its limits; a patch gives any of them. */
export const SETTINGS_FIELDS = {
  defaultBackend: { type: 'string', oneOf: BACKEND_CHOICES, noun: 'backend', optional: true },
  folders: { type: 'record', keys: ['datasets', 'models', 'exports'], values: SETTINGS_PATH, maxKeys: 3, optional: true },
  theme: { type: 'string', oneOf: ['system', 'light', 'dark'], optional: true },
  recentProjects: { type: 'array', items: { ...SETTINGS_PATH, nonEmpty: true }, maxItems: MAX_RECENT_PROJECTS, optional: true },
  allowedFolders: { type: 'array', items: { ...SETTINGS_PATH, nonEmpty: true }, maxItems: MAX_ALLOWED_FOLDERS, optional: true },
  window: {
    type: 'object',
    fields: { x: { ...COORDINATE, optional: true }, y: { ...COORDINATE, optional: true }, width: SIZE, height: SIZE, maximized: { type: 'boolean', optional: true } },
    optional: true,
  },
} as const satisfies Record<keyof StudioSettings, Field>;

/** A settings patch as the window sends it: top-level fields; `folders` merges key by key. */
export type SettingsPatch = Partial<Omit<StudioSettings, 'folders'>> & { folders?: Partial<StudioSettings['folders']> };

/** Every problem of a settings patch, by field (unknown settings, wrong types, limits). */
export function validateSettingsPatch(patch: unknown): ValidationIssue[] {
  return checkValue({ type: 'object', fields: SETTINGS_FIELDS }, patch, '');
}

/**
 * Settings as read from disk, repaired: a field that does not pass its check (a file
 * edited by hand, an older version's backend name) falls back to its default, the
 * others are kept.
 */
export function sanitizeSettings(stored: unknown): StudioSettings {
  const settings = defaultSettings();
  if (!isPlainObject(stored)) return settings;
  const keep: Record<string, unknown> = {};
  for (const key of Object.keys(SETTINGS_FIELDS) as (keyof StudioSettings)[]) {
    const value = stored[key];
    if (value !== undefined && checkValue(SETTINGS_FIELDS[key], value, key).length === 0) keep[key] = value;
  }
  const folders = isPlainObject(keep.folders) ? keep.folders : {};
  return { ...settings, ...keep, folders: { ...settings.folders, ...folders } };
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
