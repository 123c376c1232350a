import { describe, expect, it } from 'vitest';
import { DEFAULT_BOUNDS, initialBounds, MIN_SIZE } from '../../main/window-state.js';
import { menuTemplate } from '../../main/menu.js';

const screen = [{ x: 0, y: 0, width: 1920, height: 1080 }];

describe('initialBounds', () => {
  it('uses the default size the first time', () => {
    expect(initialBounds(undefined, screen)).toEqual({ ...DEFAULT_BOUNDS, maximized: false });
  });
  it('restores remembered bounds that are on a display', () => {
    expect(initialBounds({ x: 100, y: 50, width: 1000, height: 700, maximized: true }, screen)).toEqual({ x: 100, y: 50, width: 1000, height: 700, maximized: true });
  });
  it('drops the position of a window left on an unplugged monitor, keeps its size', () => {
    expect(initialBounds({ x: 2500, y: 0, width: 1000, height: 700 }, screen)).toEqual({ width: 1000, height: 700, maximized: false });
  });
  it('clamps sizes to the minimum and to the screen', () => {
    expect(initialBounds({ x: 0, y: 0, width: 10, height: 5000 }, screen)).toMatchObject({ width: MIN_SIZE.width, height: 1080 });
  });
});

describe('menuTemplate', () => {
  it('lists recent projects and wires the actions', () => {
    const opened: string[] = [];
    const actions = { openProject: () => opened.push('dialog'), openRecent: (d: string) => opened.push(d), revealProject: () => undefined, openDocs: () => undefined, showAbout: () => undefined };
    const template = menuTemplate(actions, ['/a', '/b'], 'linux');
    const file = template.find((m) => m.label === 'File')!;
    const recent = file.submenu!.find((m) => m.label === 'Open Recent')!;
    expect(recent.submenu!.map((m) => m.label)).toEqual(['/a', '/b']);
    recent.submenu![1]!.click!();
    file.submenu![0]!.click!();
    expect(opened).toEqual(['/b', 'dialog']);
    expect(template.map((m) => m.label)).toEqual(['File', 'Edit', 'View', 'Window', 'Help']);
  });
});
