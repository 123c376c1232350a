// The shell with Electron mocked: the window is created with the secure preferences,
// IPC is registered, and the window is locked to the studio page.
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';

const state = vi.hoisted(() => ({
  windows: [] as { options: Record<string, unknown>; contents: Record<string, unknown>; handlers: Map<string, (...a: unknown[]) => unknown>; loadURL: ReturnType<typeof import('vitest').vi.fn> }[],
  handles: new Map<string, unknown>(),
  appHandlers: new Map<string, (...a: unknown[]) => unknown>(),
  permission: null as null | ((c: unknown, p: string, cb: (ok: boolean) => void) => void),
  userData: '',
  documents: '',
}));

vi.mock('electron', () => {
  class BrowserWindow {
    webContents: Record<string, unknown>;
    handlers = new Map<string, (...a: unknown[]) => unknown>();
    loadURL = vi.fn(async () => undefined);
    constructor(public options: Record<string, unknown>) {
      const contentsHandlers = new Map<string, (...a: unknown[]) => unknown>();
      this.webContents = {
        handlers: contentsHandlers,
        on: (name: string, fn: (...a: unknown[]) => unknown) => contentsHandlers.set(name, fn),
        setWindowOpenHandler: (fn: (...a: unknown[]) => unknown) => contentsHandlers.set('window-open', fn),
        send: vi.fn(),
        isDestroyed: () => false,
      };
      state.windows.push({ options, contents: this.webContents, handlers: this.handlers, loadURL: this.loadURL });
    }
    on(name: string, fn: (...a: unknown[]) => unknown) {
      this.handlers.set(name, fn);
    }
    once(name: string, fn: (...a: unknown[]) => unknown) {
      this.handlers.set(name, fn);
    }
    isDestroyed() {
      return false;
    }
    isMaximized() {
      return false;
    }
    getBounds() {
      return { x: 1, y: 2, width: 1000, height: 700 };
    }
    getNormalBounds() {
      return this.getBounds();
    }
    maximize() {}
    setTitle() {}
    show() {}
  }
  return {
    app: {
      whenReady: async () => undefined,
      commandLine: { appendSwitch: vi.fn() },
      getPath: (name: string) => (name === 'userData' ? state.userData : state.documents),
      getAppPath: () => '/opt/learngene',
      on: vi.fn((name: string, fn: (...a: unknown[]) => unknown) => state.appHandlers.set(name, fn)),
      quit: vi.fn(),
      exit: vi.fn(),
      showAboutPanel: vi.fn(),
    },
    BrowserWindow,
    ipcMain: { handle: (c: string, fn: unknown) => state.handles.set(c, fn), removeHandler: (c: string) => state.handles.delete(c) },
    dialog: { showOpenDialog: vi.fn(), showErrorBox: vi.fn() },
    shell: { showItemInFolder: vi.fn(), openExternal: vi.fn(async () => undefined) },
    Menu: { setApplicationMenu: vi.fn(), buildFromTemplate: (t: unknown) => t },
    screen: { getAllDisplays: () => [{ workArea: { x: 0, y: 0, width: 1920, height: 1080 } }] },
    session: { defaultSession: { setPermissionRequestHandler: (fn: typeof state.permission) => void (state.permission = fn) } },
    nativeTheme: { shouldUseDarkColors: false },
  };
});

vi.mock('../../server/job-api.js', () => ({
  openJobApi: vi.fn(async (dir: string) => ({
    api: { submit: vi.fn(), list: vi.fn(async () => []), get: vi.fn(), cancel: vi.fn(), resume: vi.fn(), events: vi.fn(), inspect: vi.fn(), backends: vi.fn(), project: vi.fn(), on: () => () => undefined },
    projectDir: dir,
    close: vi.fn(async () => undefined),
  })),
}));

const root = mkdtempSync(path.join(os.tmpdir(), 'lg-shell-'));
state.userData = path.join(root, 'user');
state.documents = path.join(root, 'docs');
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('electron shell', () => {
  it('opens one secure window on the studio page with IPC registered', async () => {
    const electron = await import('electron');
    const { startShell, PRELOAD_FILE } = await import('../../main/electron-main.js');
    const shell = await startShell(electron as never);
    // The studio window, and the hidden compute window asked for its GPU adapter at start.
    expect(state.windows).toHaveLength(2);
    expect(electron.app.commandLine.appendSwitch).toHaveBeenCalledWith('enable-unsafe-webgpu');
    const win = state.windows[0]!;
    expect(state.windows[1]!.options).toMatchObject({ show: false, webPreferences: { sandbox: true, contextIsolation: true } });
    expect(win.options.webPreferences).toMatchObject({ contextIsolation: true, sandbox: true, nodeIntegration: false, webSecurity: true, preload: PRELOAD_FILE });
    expect(PRELOAD_FILE.endsWith(path.join('main', 'preload.cjs'))).toBe(true);
    expect(win.loadURL).toHaveBeenCalledWith('file:///opt/learngene/renderer-dist/index.html');
    expect(state.handles.has('learngene:submit')).toBe(true);
    expect(state.handles.has('learngene:openDialog')).toBe(true);

    // Permissions, navigation and new windows are refused.
    let granted: boolean | null = null;
    state.permission!(null, 'camera', (ok) => (granted = ok));
    expect(granted).toBe(false);
    const handlers = win.contents.handlers as Map<string, (...a: unknown[]) => unknown>;
    const navigation = { preventDefault: vi.fn() };
    handlers.get('will-navigate')!(navigation, 'https://evil.example/');
    expect(navigation.preventDefault).toHaveBeenCalled();
    expect(handlers.get('window-open')!({ url: 'https://example.com/' })).toEqual({ action: 'deny' });

    // The default project is remembered, and the window's bounds are saved on close.
    expect(shell.settings.get().recentProjects[0]).toBe(path.join(state.documents, 'Learngene', 'Untitled Project'));
    win.handlers.get('close')!();
    expect(shell.settings.get().window).toMatchObject({ x: 1, y: 2, width: 1000, height: 700 });

    // Quitting first stops running jobs (with a checkpoint), then quits.
    const { openJobApi } = await import('../../server/job-api.js');
    const opened = await (openJobApi as unknown as { mock: { results: { value: Promise<{ close: ReturnType<typeof vi.fn> }> }[] } }).mock.results[0]!.value;
    const quitEvent = { preventDefault: vi.fn() };
    state.appHandlers.get('before-quit')!(quitEvent);
    expect(quitEvent.preventDefault).toHaveBeenCalled();
    expect(opened.close).toHaveBeenCalled();
    await vi.waitFor(() => expect(electron.app.quit).toHaveBeenCalled());
    state.appHandlers.get('before-quit')!({ preventDefault: vi.fn() });
  });
});
