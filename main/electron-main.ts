// The Electron shell: one window, the app menu, native dialogs, settings, and IPC to the
// studio backend, which runs in a utility process (backend-process.ts). Thin on purpose:
// what it calls (ipc.ts, host.ts, app-protocol.ts, window-state.ts, menu.ts,
// node/studio/*) is tested in plain Node.
//
// Security: one instance per user; the window loads app://studio/index.html (a custom
// protocol with a Content-Security-Policy header, never file://) with contextIsolation
// and sandbox on and nodeIntegration off; the preload (preload.cjs) exposes one function
// per API call; navigation, redirects, new windows, webviews and permission requests and
// checks are refused; API calls are answered only for the studio's exact page URL.

import * as electron from 'electron';
import { existsSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { openSettings, type SettingsStore } from '../node/studio/settings.js';
import type { SupervisedBackend } from '../node/studio/remote.js';
import { createElectronHost } from './host.js';
import { forwardEvents, registerStudioIpc } from './ipc.js';
import { initialBounds, MIN_SIZE } from './window-state.js';
import { menuTemplate } from './menu.js';
import { webPreferences } from './web-preferences.js';
import { APP_PAGE_URL, APP_SCHEME, APP_SCHEME_PRIVILEGES, appProtocolHandler, sameDocument } from './app-protocol.js';
import { openBackendProcess, SERVICE_ENTRY } from './backend-process.js';
import { watchLongRuns, type LongRunElectron } from './long-runs.js';

type ElectronModule = typeof electron;
type Window = InstanceType<ElectronModule['BrowserWindow']>;

const here = path.dirname(fileURLToPath(import.meta.url));
export const PRELOAD_FILE = path.join(here, 'preload.cjs');
const DOCS_URL = 'https://github.com/AlphaXia/SWS';

export interface ShellOptions {
  /** The page to load (default app://studio/index.html; a dev server with LEARNGENE_RENDERER_URL). */
  rendererUrl?: string;
  /** Settings folder (default app.getPath('userData')). */
  userDataDir?: string;
  /** The backend's entry (default dist/node/studio/service-process.js). */
  serviceEntry?: string;
}

export interface Shell {
  window: () => Window | null;
  settings: SettingsStore;
  /** The studio backend of the open project (in its utility process). */
  backend: () => SupervisedBackend | null;
  openProject(dir: string): Promise<void>;
  quit(): Promise<void>;
}

/**
 * Starts the desktop app. Returns null when another instance already runs (that one is
 * brought to the front instead).
 */
export async function startShell(e: ElectronModule, options: ShellOptions = {}): Promise<Shell | null> {
  if (!e.app.requestSingleInstanceLock()) {
    e.app.quit();
    return null;
  }
  // Before ready: app:// gets an origin of its own, secure like https.
  e.protocol.registerSchemesAsPrivileged([APP_SCHEME_PRIVILEGES]);
  await e.app.whenReady();
  e.protocol.handle(APP_SCHEME, appProtocolHandler(path.join(e.app.getAppPath(), 'renderer-dist')));
  const settings = openSettings(options.userDataDir ?? e.app.getPath('userData'));
  const pageUrl = options.rendererUrl ?? process.env.LEARNGENE_RENDERER_URL ?? APP_PAGE_URL;
  const isTrustedUrl = (url: string) => sameDocument(url, pageUrl);

  let window: Window | null = null;
  let backend: SupervisedBackend | null = null;
  let unregister: (() => void) | null = null;
  let unforward: (() => void) | null = null;
  let unwatch: (() => void) | null = null;

  const host = createElectronHost({
    dialog: e.dialog as never,
    shell: e.shell,
    settings,
    getWindow: () => window,
    dirname: path.dirname,
    exists: existsSync,
  });

  const defaultProject = () => path.join(e.app.getPath('documents'), 'Learngene', 'Untitled Project');

  async function openProject(dir: string): Promise<void> {
    mkdirSync(dir, { recursive: true });
    unforward?.();
    unwatch?.();
    unregister?.();
    await backend?.close();
    const defaultBackend = settings.get().defaultBackend;
    backend = await openBackendProcess(e.utilityProcess, { projectDir: path.resolve(dir), ...(defaultBackend !== 'auto' ? { backend: defaultBackend } : {}) }, options.serviceEntry ?? SERVICE_ENTRY);
    unregister = registerStudioIpc(e.ipcMain as never, backend.api, host, { isTrustedUrl });
    unforward = forwardEvents(backend.api, () => (window && !window.isDestroyed() ? [window.webContents] : []));
    // Power-save blocker while training, taskbar / dock progress, a notification when a job ends.
    unwatch = watchLongRuns(e as unknown as LongRunElectron, backend.api, () => window);
    settings.addRecentProject(path.resolve(dir));
    buildMenu();
    window?.setTitle(`Learngene Studio — ${path.basename(dir)}`);
    if (window) await window.loadURL(pageUrl);
  }

  function buildMenu(): void {
    const template = menuTemplate(
      {
        openProject: () => {
          void e.dialog
            .showOpenDialog(window as Window, { title: 'Open or create a project folder', properties: ['openDirectory', 'createDirectory'] })
            .then((r) => (r.canceled || !r.filePaths[0] ? undefined : openProject(r.filePaths[0])));
        },
        openRecent: (dir) => void openProject(dir),
        revealProject: () => backend && void backend.api.project().then((p) => e.shell.showItemInFolder(p.dir)),
        openDocs: () => void e.shell.openExternal(DOCS_URL),
        showAbout: () => e.app.showAboutPanel(),
      },
      settings.get().recentProjects,
      process.platform,
    );
    e.Menu.setApplicationMenu(e.Menu.buildFromTemplate(template as never));
  }

  function saveBounds(): void {
    if (!window || window.isDestroyed()) return;
    const maximized = window.isMaximized();
    const b = maximized ? window.getNormalBounds() : window.getBounds();
    settings.set({ window: { x: Math.round(b.x), y: Math.round(b.y), width: Math.round(b.width), height: Math.round(b.height), maximized } });
  }

  function createWindow(): Window {
    const workAreas = e.screen.getAllDisplays().map((d) => d.workArea);
    const bounds = initialBounds(settings.get().window, workAreas);
    const win = new e.BrowserWindow({
      ...(bounds.x !== undefined && bounds.y !== undefined ? { x: bounds.x, y: bounds.y } : {}),
      width: bounds.width,
      height: bounds.height,
      minWidth: MIN_SIZE.width,
      minHeight: MIN_SIZE.height,
      show: false,
      title: 'Learngene Studio',
      backgroundColor: e.nativeTheme?.shouldUseDarkColors ? '#15171c' : '#f6f7f9',
      webPreferences: webPreferences(PRELOAD_FILE),
    });
    if (bounds.maximized) win.maximize();
    win.once('ready-to-show', () => win.show());
    let timer: NodeJS.Timeout | null = null;
    const later = () => {
      if (timer) clearTimeout(timer);
      timer = setTimeout(saveBounds, 400);
    };
    win.on('resize', later);
    win.on('move', later);
    win.on('close', saveBounds);
    win.on('closed', () => {
      window = null;
    });
    // The window shows the studio's page and nothing else.
    const stayOnPage = (event: { preventDefault(): void }, url: string) => {
      if (!isTrustedUrl(url)) event.preventDefault();
    };
    win.webContents.on('will-navigate', stayOnPage);
    win.webContents.on('will-redirect', stayOnPage);
    win.webContents.on('will-attach-webview', (event) => event.preventDefault());
    win.webContents.setWindowOpenHandler(({ url }) => {
      if (/^https:\/\//.test(url)) void e.shell.openExternal(url);
      return { action: 'deny' };
    });
    return win;
  }

  const session = e.session.defaultSession;
  session.setPermissionRequestHandler((_contents, _permission, callback) => callback(false));
  session.setPermissionCheckHandler(() => false);
  window = createWindow();
  const recent = settings.get().recentProjects.find((dir) => existsSync(dir));
  await openProject(recent ?? defaultProject());

  // A second start (double-click, file manager) brings this window to the front.
  e.app.on('second-instance', () => {
    if (!window) return;
    if (window.isMinimized()) window.restore();
    window.focus();
  });
  e.app.on('activate', () => {
    if (!window) {
      window = createWindow();
      void window.loadURL(pageUrl);
    }
  });
  e.app.on('window-all-closed', () => {
    if (process.platform !== 'darwin') e.app.quit();
  });
  // Quitting waits for running jobs to stop with a checkpoint (they resume next time).
  let quitting = false;
  e.app.on('before-quit', (event) => {
    if (quitting || !backend) return;
    event.preventDefault();
    quitting = true;
    unforward?.();
    unwatch?.();
    unregister?.();
    void backend.close().finally(() => e.app.quit());
  });

  return {
    window: () => window,
    settings,
    backend: () => backend,
    openProject,
    quit: async () => {
      e.app.quit();
    },
  };
}

// Started by Electron (process.versions.electron); imported by tests with electron mocked.
if (process.versions.electron) {
  startShell(electron).catch((error: unknown) => {
    electron.dialog?.showErrorBox?.('Learngene Studio could not start', error instanceof Error ? error.stack ?? error.message : String(error));
    electron.app.exit(1);
  });
}
