// What the window works with, whichever host it runs in.
import type { StudioApi } from '../../../shared/api.js';
import type { StudioHost } from '../../../shared/host.js';

/** The studio backend's API (shared/api.ts). */
export type Api = StudioApi;

/** The host plus what the window needs for files the user drops or picks. */
export interface Host extends StudioHost {
  /**
   * Makes dropped or picked files usable by the job service: their own paths in
   * Electron, an upload into the project's uploads/ folder in browser mode.
   * Returns the path to inspect (a folder, an archive, or the folder of several files).
   */
  receiveFiles(dropped: Dropped, onProgress?: (done: number, total: number) => void): Promise<string>;
  /** A URL that downloads a project file (browser mode), else null. */
  downloadUrl(path: string): string | null;
}

/** A file from a drop or a file input, with its path relative to what was dropped. */
export interface DroppedFile {
  file: File;
  /** e.g. "shirts/001.png" inside a dropped folder "clothes" → "clothes/shirts/001.png". */
  relativePath: string;
}

/** What the user dropped or picked: the top-level items, and every file inside them. */
export interface Dropped {
  /** The items themselves (a folder is one File whose path Electron knows). */
  top: File[];
  /** Every file, folders walked (browser mode uploads these). */
  files(): Promise<DroppedFile[]>;
}
