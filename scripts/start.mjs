#!/usr/bin/env node
// `npm start`: the desktop studio in Electron when its runtime is installed, else the
// same studio in the browser (one line says why). Needs `npm run build` and
// `npm run build:renderer` first (`npm run build:all` does both).
//
//   node scripts/start.mjs [--browser] [--project DIR] [--port N] [--open] [--json]
//
// --browser skips the Electron check. Other flags are those of `learngene studio`.

import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2);
const forceBrowser = args.includes('--browser');
const studioArgs = args.filter((a) => a !== '--browser');

/**
 * The Electron binary when its runtime is installed, else the reason it is not. Reads
 * node_modules/electron/path.txt the way electron's index.js does, but never requires
 * it: that would try to download the runtime.
 */
function electronBinary() {
  try {
    const require = createRequire(import.meta.url);
    const packageDir = path.dirname(require.resolve('electron/package.json'));
    const pathFile = path.join(packageDir, 'path.txt');
    const executable = existsSync(pathFile) ? readFileSync(pathFile, 'utf8').trim() : null;
    const distDir = process.env.ELECTRON_OVERRIDE_DIST_PATH ?? path.join(packageDir, 'dist');
    const binary = executable ? path.join(distDir, executable) : null;
    if (binary && existsSync(binary)) return { binary };
    return { reason: 'its runtime is not installed; "npx install-electron" downloads it' };
  } catch {
    return { reason: 'the electron package is not installed' };
  }
}

if (!existsSync(path.join(root, 'dist', 'cli', 'studio-command.js')) || !existsSync(path.join(root, 'renderer-dist', 'index.html'))) {
  console.error('learngene studio: not built yet; run "npm run build:all" first');
  process.exit(1);
}

const electron = forceBrowser ? { reason: '--browser given' } : electronBinary();
if (electron.binary) {
  const child = spawn(electron.binary, [root], { stdio: 'inherit' });
  child.on('exit', (code) => process.exit(code ?? 0));
} else {
  if (!forceBrowser) console.error(`Electron is not available (${electron.reason}): starting the studio in browser mode.`);
  const { studioCommand } = await import('../dist/cli/studio-command.js');
  const { parseCommand } = await import('../dist/cli/args.js');
  const parsed = parseCommand(studioCommand.spec, studioArgs.includes('--open') || studioArgs.includes('--json') ? studioArgs : [...studioArgs, '--open']);
  await studioCommand.run(parsed, { stdout: process.stdout, stderr: process.stderr });
  process.exit(0);
}
