// The shell with Electron mocked: one instance per user, the window on app://studio with
// a Content-Security-Policy, locked to its exact page (navigation, redirects, webviews,
// new windows, permission requests and checks refused), and its IPC answered by the
// studio backend in a utility process (a real child process running the same entry).

import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { fakeUtilityProcess, SERVICE_ENTRY } from '../helpers/backend-process.js';
import { requireBuild } from '../helpers/jobs.js';

requireBuild();

type Handler = (...a: unknown[]) => unknown;

const state = vi.hoisted(() => ({
  order: [] as string[],
  singleInstance: true,
  windows: [] as { options: Record<string, unknown>; handlers: Map<string, Handler>; contents: { handlers: Map<string, Handler> }; loadURL: ReturnType<typeof import('vitest').vi.fn>; minimized: boolean; restore: ReturnType<typeof import('vitest').vi.fn>; focus: ReturnType<typeof import('vitest').vi.fn> }[],
  handles: new Map<string, Handler>(),
  appHandlers: new Map<string, Handler>(),
  protocols: new Map<string, Handler>(),
  privileged: [] as unknown[],
  permissionRequest: null as null | Handler,
  permissionCheck: null as null | Handler,
  appPath: '',
  userData: '',
  documents: '',
}));

vi.mock('electron', () => {
  class BrowserWindow {
    webContents: Record<string, unknown>;
    handlers = new Map<string, Handler>();
    loadURL = vi.fn(async () => undefined);
    restore = vi.fn();
    focus = vi.fn();
    minimized = true;
    constructor(public options: Record<string, unknown>) {
      const contentsHandlers = new Map<string, Handler>();
      this.webContents = {
        handlers: contentsHandlers,
        on: (name: string, fn: Handler) => contentsHandlers.set(name, fn),
        setWindowOpenHandler: (fn: Handler) => contentsHandlers.set('window-open', fn),
        send: vi.fn(),
        isDestroyed: () => false,
      };
      state.windows.push(this as never);
    }
    get contents() {
      return this.webContents;
    }
    on(name: string, fn: Handler) {
      this.handlers.set(name, fn);
    }
    once(name: string, fn: Handler) {
      this.handlers.set(name, fn);
    }
    isDestroyed() {
      return false;
    }
    isMinimized() {
      return this.minimized;
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
    setProgressBar() {}
    setTitle() {}
    show() {}
  }
  return {
    powerSaveBlocker: { start: vi.fn(() => 1), stop: vi.fn() },
    Notification: Object.assign(class { show() {} }, { isSupported: () => false }),
    app: {
      requestSingleInstanceLock: vi.fn(() => state.singleInstance),
      whenReady: vi.fn(async () => void state.order.push('ready')),
      getPath: (name: string) => (name === 'userData' ? state.userData : state.documents),
      getAppPath: () => state.appPath,
      on: vi.fn((name: string, fn: Handler) => state.appHandlers.set(name, fn)),
      quit: vi.fn(),
      exit: vi.fn(),
      showAboutPanel: vi.fn(),
    },
    protocol: {
      registerSchemesAsPrivileged: vi.fn((schemes: unknown[]) => {
        state.order.push('privileged');
        state.privileged.push(...schemes);
      }),
      handle: vi.fn((scheme: string, fn: Handler) => state.protocols.set(scheme, fn)),
    },
    BrowserWindow,
    ipcMain: { handle: (c: string, fn: Handler) => state.handles.set(c, fn), removeHandler: (c: string) => state.handles.delete(c) },
    dialog: { showOpenDialog: vi.fn(), showErrorBox: vi.fn() },
    shell: { showItemInFolder: vi.fn(), openExternal: vi.fn(async () => undefined) },
    Menu: { setApplicationMenu: vi.fn(), buildFromTemplate: (t: unknown) => t },
    screen: { getAllDisplays: () => [{ workArea: { x: 0, y: 0, width: 1920, height: 1080 } }] },
    session: {
      defaultSession: {
        setPermissionRequestHandler: (fn: Handler) => void (state.permissionRequest = fn),
        setPermissionCheckHandler: (fn: Handler) => void (state.permissionCheck = fn),
      },
    },
    utilityProcess: { fork: vi.fn((entry: string) => fakeUtilityProcess.fork(entry)) },
    nativeTheme: { shouldUseDarkColors: false },
  };
});

const root = mkdtempSync(path.join(os.tmpdir(), 'lg-shell-'));
state.appPath = path.join(root, 'app');
state.userData = path.join(root, 'user');
state.documents = path.join(root, 'docs');
mkdirSync(path.join(state.appPath, 'renderer-dist', 'assets'), { recursive: true });
writeFileSync(path.join(state.appPath, 'renderer-dist', 'index.html'), '<!doctype html><title>studio</title>');
writeFileSync(path.join(state.appPath, 'renderer-dist', 'assets', 'app.js'), 'console.log(1)');
writeFileSync(path.join(root, 'secret.txt'), 'secret');
afterAll(() => rmSync(root, { recursive: true, force: true }));

beforeEach(() => {
  vi.clearAllMocks();
  state.order.length = 0;
  state.windows.length = 0;
});

const PAGE = 'app://studio/index.html';
const fromPage = (url = PAGE) => ({ senderFrame: { url } });

describe('electron shell', () => {
  it('a second instance quits at once and opens nothing; the first is brought to the front', async () => {
    const electron = await import('electron');
    const { startShell } = await import('../../main/electron-main.js');
    state.singleInstance = false;
    expect(await startShell(electron as never)).toBeNull();
    expect(electron.app.quit).toHaveBeenCalled();
    expect(state.windows).toHaveLength(0);
    expect(electron.utilityProcess.fork).not.toHaveBeenCalled();
    state.singleInstance = true;
  });

  it('serves the window from app://studio with a CSP, trusts its exact URL only, and runs the backend in a utility process', { timeout: 120_000 }, async () => {
    const electron = await import('electron');
    const { startShell, PRELOAD_FILE } = await import('../../main/electron-main.js');
    const shell = (await startShell(electron as never))!;
    expect(shell).not.toBeNull();

    // app:// is privileged before the app is ready, then answered from renderer-dist with the CSP.
    expect(state.order.slice(0, 2)).toEqual(['privileged', 'ready']);
    expect(state.privileged).toEqual([{ scheme: 'app', privileges: expect.objectContaining({ standard: true, secure: true }) }]);
    const serve = state.protocols.get('app')! as (r: { url: string; method: string }) => Promise<Response>;
    const page = await serve({ url: PAGE, method: 'GET' });
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('<title>studio</title>');
    const csp = page.headers.get('content-security-policy')!;
    expect(csp).toContain("default-src 'none'");
    expect(csp).toContain("script-src 'self'");
    expect(csp).toContain("object-src 'none'");
    expect(csp).not.toMatch(/unsafe-eval|script-src[^;]*unsafe-inline/);
    expect((await serve({ url: 'app://studio/assets/app.js', method: 'GET' })).headers.get('content-type')).toContain('javascript');
    expect((await serve({ url: 'app://studio/assets/%2e%2e%2f%2e%2e%2f%2e%2e%2fsecret.txt', method: 'GET' })).status).toBe(400);
    expect((await serve({ url: 'app://studio/%E0%A4%A', method: 'GET' })).status).toBe(400);
    expect((await serve({ url: 'app://elsewhere/index.html', method: 'GET' })).status).toBe(404);
    expect((await serve({ url: PAGE, method: 'POST' })).status).toBe(405);

    // One window, secure preferences, on the app:// page.
    expect(state.windows).toHaveLength(1);
    const win = state.windows[0]!;
    expect(win.options.webPreferences).toMatchObject({ contextIsolation: true, sandbox: true, nodeIntegration: false, webSecurity: true, preload: PRELOAD_FILE });
    expect(win.loadURL).toHaveBeenCalledWith(PAGE);

    // The backend runs in a utility process on the project; the window's calls reach it.
    expect(electron.utilityProcess.fork).toHaveBeenCalledWith(SERVICE_ENTRY, [], expect.objectContaining({ serviceName: expect.any(String) }));
    const project = path.join(state.documents, 'Learngene', 'Untitled Project');
    expect(await state.handles.get('learngene:project')!(fromPage())).toEqual({ ok: true, value: { dir: project, name: 'Untitled Project' } });
    expect(await state.handles.get('learngene:project')!(fromPage(`${PAGE}#descendants`))).toMatchObject({ ok: true });
    expect(await state.handles.get('learngene:submit')!(fromPage(), { kind: 'x' })).toMatchObject({ ok: false, error: { issues: [{ field: 'kind' }] } });
    // Exact URL: not a prefix, not another page of the origin, not another scheme.
    for (const url of [`${PAGE}.evil`, 'app://studio/other.html', 'app://studio/index.html?x=1', 'file:///index.html', 'https://evil.example/']) {
      expect(await state.handles.get('learngene:list')!(fromPage(url))).toMatchObject({ ok: false, error: { name: 'SecurityError' } });
    }

    // Navigation and redirects off the page, webviews, new windows: refused.
    const contents = win.contents.handlers;
    for (const [event, url, blocked] of [['will-navigate', 'https://evil.example/', true], ['will-navigate', `${PAGE}x`, true], ['will-navigate', `${PAGE}#stages`, false], ['will-redirect', 'https://evil.example/', true], ['will-redirect', 'file:///etc/passwd', true]] as const) {
      const e = { preventDefault: vi.fn() };
      contents.get(event)!(e, url);
      expect(e.preventDefault.mock.calls.length > 0, `${event} ${url}`).toBe(blocked);
    }
    const webview = { preventDefault: vi.fn() };
    contents.get('will-attach-webview')!(webview);
    expect(webview.preventDefault).toHaveBeenCalled();
    expect(contents.get('window-open')!({ url: 'https://example.com/' })).toEqual({ action: 'deny' });

    // Permissions: requests answered no, checks answered no.
    let granted: boolean | null = null;
    state.permissionRequest!(null, 'camera', (ok: boolean) => (granted = ok));
    expect(granted).toBe(false);
    expect(state.permissionCheck!(null, 'clipboard-read', 'app://studio')).toBe(false);

    // A second start brings this window back.
    state.appHandlers.get('second-instance')!();
    expect(win.restore).toHaveBeenCalled();
    expect(win.focus).toHaveBeenCalled();

    // The window's bounds are saved on close; quitting first stops the backend's jobs.
    win.handlers.get('close')!();
    expect(shell.settings.get().window).toMatchObject({ x: 1, y: 2, width: 1000, height: 700 });
    const quitEvent = { preventDefault: vi.fn() };
    state.appHandlers.get('before-quit')!(quitEvent);
    expect(quitEvent.preventDefault).toHaveBeenCalled();
    await vi.waitFor(() => expect(electron.app.quit).toHaveBeenCalled(), { timeout: 30_000 });
    state.appHandlers.get('before-quit')!({ preventDefault: vi.fn() });
  });
});
