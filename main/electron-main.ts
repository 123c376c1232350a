// The Electron shell: one window, the app menu, native dialogs, settings, and IPC to
// the job service. Thin on purpose: what it calls (ipc.ts, host.ts, settings.ts,
// window-state.ts, menu.ts, server/job-api.ts) is tested in plain Node.
//
// Security: contextIsolation on, sandbox on, nodeIntegration off; the preload
// (preload.cjs) exposes one function per API call; navigation, new windows and
// permission requests are refused; API calls are accepted only from the studio's page.
//
// GPU: WebGPU switches go on before the app is ready; a hidden compute window
// (compute-window.ts) is opened once at start to ask for a GPU adapter (its answer is
// the webgpu line of the backend status) and kept only when it has a real one; jobs on
// webgpu get a MessagePort to it in their worker (node/compute/source.ts).

import * as electron from 'electron';
import { existsSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { openSettings, type SettingsStore } from './settings.js';
import { createElectronHost } from './host.js';
import { forwardEvents, registerStudioIpc } from './ipc.js';
import { initialBounds, MIN_SIZE } from './window-state.js';
import { menuTemplate } from './menu.js';
import { openJobApi, type OpenedJobApi } from '../server/job-api.js';
import { OnDemandComputeHost } from '../node/compute/source.js';
import { enableWebGpuSwitches, openComputeWindow } from './compute-window.js';
import { webPreferences } from './web-preferences.js';

type ElectronModule = typeof electron;
type Window = InstanceType<ElectronModule['BrowserWindow']>;

const here = path.dirname(fileURLToPath(import.meta.url));
export const PRELOAD_FILE = path.join(here, 'preload.cjs');
const DOCS_URL = 'https://github.com/AlphaXia/SWS';

export interface ShellOptions {
  /** renderer-dist/index.html, or a dev server URL (LEARNGENE_RENDERER_URL). */
  rendererUrl?: string;
  /** Settings folder (default app.getPath('userData')). */
  userDataDir?: string;
}

export interface Shell {
  window: () => Window | null;
  settings: SettingsStore;
  /** The hidden compute window, opened on demand (WebGPU jobs train through it). */
  computeHost: OnDemandComputeHost;
  openProject(dir: string): Promise<void>;
  quit(): Promise<void>;
}

function rendererUrl(e: ElectronModule, options: ShellOptions): string {
  if (options.rendererUrl) return options.rendererUrl;
  if (process.env.LEARNGENE_RENDERER_URL) return process.env.LEARNGENE_RENDERER_URL;
  return pathToFileURL(path.join(e.app.getAppPath(), 'renderer-dist', 'index.html')).href;
}

export async function startShell(e: ElectronModule, options: ShellOptions = {}): Promise<Shell> {
  // Chromium reads these at start: before ready, or WebGPU stays off on Linux.
  enableWebGpuSwitches(e.app);
  await e.app.whenReady();
  const computeHost = new OnDemandComputeHost(() => openComputeWindow(e), 'the hidden compute window');
  const settings = openSettings(options.userDataDir ?? e.app.getPath('userData'));
  const pageUrl = rendererUrl(e, options);
  const isTrustedUrl = (url: string) => url === pageUrl || url.startsWith(pageUrl.split('#')[0]!.split('?')[0]!);

  let window: Window | null = null;
  let jobs: OpenedJobApi | null = null;
  let unregister: (() => void) | null = null;
  let unforward: (() => void) | null = null;

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
    unregister?.();
    await jobs?.close();
    const backend = settings.get().defaultBackend;
    jobs = await openJobApi(dir, { ...(backend && backend !== 'auto' ? { backend } : {}), computeHost });
    unregister = registerStudioIpc(e.ipcMain as never, jobs.api, host, { isTrustedUrl });
    unforward = forwardEvents(jobs.api, () => (window && !window.isDestroyed() ? [window.webContents] : []));
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
        revealProject: () => jobs && e.shell.showItemInFolder(jobs.projectDir),
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
    settings.set({ window: { x: b.x, y: b.y, width: b.width, height: b.height, maximized } });
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
      // The hidden compute window keeps 'window-all-closed' from firing: closing the studio quits.
      if (process.platform !== 'darwin') e.app.quit();
    });
    // The window shows the studio and nothing else.
    win.webContents.on('will-navigate', (event, url) => {
      if (!isTrustedUrl(url)) event.preventDefault();
    });
    win.webContents.setWindowOpenHandler(({ url }) => {
      if (/^https:\/\//.test(url)) void e.shell.openExternal(url);
      return { action: 'deny' };
    });
    return win;
  }

  e.session.defaultSession.setPermissionRequestHandler((_contents, _permission, callback) => callback(false));
  window = createWindow();
  // Ask the compute window for its adapter now (the backend status waits for it; jobs reuse it).
  void computeHost.status();
  const recent = settings.get().recentProjects.find((dir) => existsSync(dir));
  await openProject(recent ?? defaultProject());

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
    if (quitting || !jobs) return;
    event.preventDefault();
    quitting = true;
    unforward?.();
    unregister?.();
    void jobs.close().then(() => computeHost.close()).finally(() => e.app.quit());
  });

  return {
    window: () => window,
    settings,
    computeHost,
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
