// The application menu as a template (Electron's MenuItemConstructorOptions shape);
// the shell passes the actions in. Pure, so tests need no Electron.

export interface MenuActions {
  openProject(): void;
  openRecent(dir: string): void;
  revealProject(): void;
  openDocs(): void;
  showAbout(): void;
}

export interface MenuItem {
  label?: string;
  role?: string;
  type?: 'separator' | 'submenu' | 'normal';
  accelerator?: string;
  enabled?: boolean;
  click?: () => void;
  submenu?: MenuItem[];
}

export function menuTemplate(actions: MenuActions, recentProjects: string[], platform: NodeJS.Platform): MenuItem[] {
  const isMac = platform === 'darwin';
  const recent: MenuItem[] = recentProjects.length
    ? recentProjects.map((dir) => ({ label: dir, click: () => actions.openRecent(dir) }))
    : [{ label: 'No recent projects', enabled: false }];
  return [
    ...(isMac ? [{ label: 'Learngene Studio', submenu: [{ role: 'about' }, { type: 'separator' }, { role: 'hide' }, { role: 'hideOthers' }, { role: 'unhide' }, { type: 'separator' }, { role: 'quit' }] } as MenuItem] : []),
    {
      label: 'File',
      submenu: [
        { label: 'Open Project…', accelerator: 'CmdOrCtrl+O', click: actions.openProject },
        { label: 'Open Recent', submenu: recent },
        { label: 'Show Project in Folder', click: actions.revealProject },
        { type: 'separator' },
        isMac ? { role: 'close' } : { role: 'quit' },
      ],
    },
    { label: 'Edit', submenu: [{ role: 'undo' }, { role: 'redo' }, { type: 'separator' }, { role: 'cut' }, { role: 'copy' }, { role: 'paste' }, { role: 'selectAll' }] },
    {
      label: 'View',
      submenu: [{ role: 'reload' }, { role: 'toggleDevTools' }, { type: 'separator' }, { role: 'resetZoom' }, { role: 'zoomIn' }, { role: 'zoomOut' }, { type: 'separator' }, { role: 'togglefullscreen' }],
    },
    { label: 'Window', submenu: [{ role: 'minimize' }, ...(isMac ? [{ role: 'zoom' }] : [])] },
    {
      label: 'Help',
      submenu: [
        { label: 'Documentation', click: actions.openDocs },
        ...(isMac ? [] : [{ label: 'About Learngene Studio', click: actions.showAbout }]),
      ],
    },
  ];
}
