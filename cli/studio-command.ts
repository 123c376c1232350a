// `learngene studio`: the desktop studio in a browser (browser mode). Serves the built
// renderer and the studio backend on 127.0.0.1 behind a random token; runs until Ctrl-C.
// The page may use the project folder and the folders added with --allow, nothing else.

import { existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { Command } from './main.js';
import type { ParsedValue } from './args.js';
import type { StudioServer } from '../server/studio-server.js';

export interface StudioOptions {
  project: string;
  port: number;
  open: boolean;
  /** The built renderer; default: renderer-dist/ of this install. */
  staticDir?: string;
  /** Where settings live; default $LEARNGENE_CONFIG_DIR, else the user config folder. */
  configDir?: string;
  /** Folders to add to the ones the page may use (kept in the settings for next time). */
  allow?: string[];
  /** Called with the URL once the server listens. */
  onListening?: (server: StudioServer) => void;
  /** Resolves when the studio should stop (default: SIGINT or SIGTERM). */
  until?: Promise<unknown>;
}

/** renderer-dist/ next to the package root (source and dist/ sit at different depths). */
export function findRendererDist(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 4; i++) {
    const candidate = path.join(dir, 'renderer-dist');
    if (existsSync(path.join(candidate, 'index.html'))) return candidate;
    dir = path.dirname(dir);
  }
  throw new Error('the studio is not built (no renderer-dist/index.html): run "npm run build:renderer"');
}

/** The user's config folder for the studio (XDG on Linux, the platform's usual place elsewhere). */
export function defaultConfigDir(): string {
  if (process.env.LEARNGENE_CONFIG_DIR) return process.env.LEARNGENE_CONFIG_DIR;
  const home = os.homedir();
  if (process.platform === 'darwin') return path.join(home, 'Library', 'Application Support', 'learngene-studio');
  if (process.platform === 'win32') return path.join(process.env.APPDATA ?? path.join(home, 'AppData', 'Roaming'), 'learngene-studio');
  return path.join(process.env.XDG_CONFIG_HOME ?? path.join(home, '.config'), 'learngene-studio');
}

export function openInBrowser(url: string): void {
  const [command, args] =
    process.platform === 'darwin' ? ['open', [url]] : process.platform === 'win32' ? ['cmd', ['/c', 'start', '""', url]] : ['xdg-open', [url]];
  const child = spawn(command as string, args as string[], { stdio: 'ignore', detached: true });
  child.on('error', () => undefined);
  child.unref();
}

function untilSignal(): Promise<string> {
  return new Promise((resolve) => {
    const stop = (signal: string) => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      resolve(signal);
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });
}

/** Runs browser mode until `options.until` (or a signal); returns the URL it served. */
export async function runStudio(options: StudioOptions): Promise<{ url: string }> {
  const staticDir = options.staticDir ?? findRendererDist();
  const projectDir = path.resolve(options.project);
  // Loaded here, not at the top: conf (via node/studio/settings) installs process-wide
  // signal hooks that would turn one Ctrl-C into two in every other CLI command.
  const { openSettings } = await import('../node/studio/settings.js');
  const { openStudioBackend } = await import('../node/studio/backend.js');
  const { browserHost } = await import('../node/studio/browser-host.js');
  const { startStudioServer } = await import('../server/studio-server.js');
  const settings = openSettings(options.configDir ?? defaultConfigDir());
  settings.addRecentProject(projectDir);
  if (options.allow?.length) {
    const added = options.allow.map((dir) => path.resolve(dir));
    settings.set({ allowedFolders: [...new Set([...settings.get().allowedFolders, ...added])] });
  }
  const { defaultBackend, allowedFolders } = settings.get();
  const jobs = await openStudioBackend({ projectDir, confine: { allowedFolders }, ...(defaultBackend !== 'auto' ? { backend: defaultBackend } : {}) });
  const server = await startStudioServer({ api: jobs, host: browserHost(settings), staticDir, projectDir, port: options.port });
  try {
    options.onListening?.(server);
    if (options.open) openInBrowser(server.url);
    await (options.until ?? untilSignal());
  } finally {
    await server.close();
    await jobs.close();
  }
  return { url: server.url };
}

type Values = Record<string, ParsedValue>;

export const studioCommand: Command = {
  spec: {
    name: 'studio',
    summary: 'the studio in your browser: wizard, live charts, drag and drop (127.0.0.1 only, token-guarded)',
    usage: 'learngene studio [--project DIR] [--port N] [--open] [--allow DIR,DIR]',
    options: {
      project: { kind: 'string', meta: 'DIR', help: 'project folder (runs/, teacher/, learngene/, descendants/, exports/, uploads/)', default: '.' },
      allow: { kind: 'string-list', meta: 'DIRS', help: 'also let the page use these folders (e.g. where your datasets are); remembered in the settings' },
      port: { kind: 'int', help: 'port on 127.0.0.1 (0: any free port)', default: 0, min: 0 },
      open: { kind: 'boolean', help: 'open the studio in the default browser' },
      json: { kind: 'boolean', help: 'print {"url": …} as one JSON line once listening' },
      help: { kind: 'boolean', short: 'h', help: 'show this help' },
    },
    examples: ['learngene studio --project ~/learngene/fashion --open'],
  },
  async run({ values }: { values: Values }, io) {
    const result = await runStudio({
      project: values.project as string,
      port: values.port as number,
      open: Boolean(values.open),
      ...(values.allow ? { allow: values.allow as string[] } : {}),
      onListening: (server) => {
        if (values.json) io.stdout.write(JSON.stringify({ url: server.url }) + '\n');
        else io.stdout.write(`Learngene Studio: ${server.url}\n(open it in a browser on this machine; Ctrl-C stops the studio)\n`);
      },
    });
    // The URL was printed when the server started; --json's last line is the result.
    return { text: 'studio stopped', json: { url: result.url, stopped: true } };
  },
};
