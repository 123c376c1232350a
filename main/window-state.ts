// Where the window opens: the remembered bounds when they still fit on a display,
// else a default size centred by Electron. Pure, so tests need no screen.

import type { StudioSettings } from '../shared/host.js';

export interface Rect {
  x: number;
  y: number;
  width: number;
  height: number;
}

export const DEFAULT_BOUNDS = { width: 1280, height: 840 };
export const MIN_SIZE = { width: 900, height: 600 };

function overlap(a: Rect, b: Rect): number {
  const w = Math.min(a.x + a.width, b.x + b.width) - Math.max(a.x, b.x);
  const h = Math.min(a.y + a.height, b.y + b.height) - Math.max(a.y, b.y);
  return w > 0 && h > 0 ? w * h : 0;
}

/**
 * The bounds to open with. Remembered bounds are kept when at least a quarter of the
 * window is on some display's work area (a monitor may have been unplugged); sizes are
 * clamped to the minimum and to the largest work area.
 */
export function initialBounds(saved: StudioSettings['window'], workAreas: Rect[]): { x?: number; y?: number; width: number; height: number; maximized: boolean } {
  const largest = workAreas.reduce<Rect | null>((a, b) => (!a || b.width * b.height > a.width * a.height ? b : a), null);
  const clampW = (w: number) => Math.max(MIN_SIZE.width, largest ? Math.min(w, largest.width) : w);
  const clampH = (h: number) => Math.max(MIN_SIZE.height, largest ? Math.min(h, largest.height) : h);
  if (!saved || !(saved.width > 0 && saved.height > 0)) {
    return { width: clampW(DEFAULT_BOUNDS.width), height: clampH(DEFAULT_BOUNDS.height), maximized: false };
  }
  const size = { width: clampW(saved.width), height: clampH(saved.height) };
  const maximized = Boolean(saved.maximized);
  if (saved.x === undefined || saved.y === undefined) return { ...size, maximized };
  const rect = { x: saved.x, y: saved.y, ...size };
  const visible = workAreas.some((area) => overlap(rect, area) >= (rect.width * rect.height) / 4);
  return visible ? { ...rect, maximized } : { ...size, maximized };
}
