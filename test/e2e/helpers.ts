// Helpers of the studio's end-to-end test: a dataset, the studio server in browser mode,
// Debian Chromium through playwright-core, drops, screenshots, axe and keyboard checks.

import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import sharp from 'sharp';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { AxeBuilder } from '@axe-core/playwright';

export const ROOT = path.resolve(__dirname, '../..');
export const SHOTS = path.join(ROOT, 'test-output', 'e2e');
export const CHROMIUM = '/usr/bin/chromium';

/** What the e2e needs built; a clear message instead of a blank page when missing. */
export function missingBuild(): string | null {
  for (const file of ['dist/cli/studio-command.js', 'dist/node/jobs/worker.js', 'renderer-dist/index.html']) {
    if (!existsSync(path.join(ROOT, file))) return `${file} is missing: run "npm run build:all" first`;
  }
  if (!existsSync(CHROMIUM)) return `${CHROMIUM} is missing: apt-get install -y chromium`;
  return null;
}

/** ~200 16×16 PNGs in 3 classes an eye (and a 1-layer ViT) tells apart. */
export async function makeShapesDataset(root: string, perClass = 64, firstSeed = 7): Promise<string[]> {
  const classes = ['circle', 'cross', 'stripes'];
  let seed = firstSeed;
  const rand = () => (seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648;
  for (const [c, name] of classes.entries()) {
    mkdirSync(path.join(root, name), { recursive: true });
    for (let i = 0; i < perClass; i++) {
      const px = Buffer.alloc(16 * 16 * 3);
      for (let y = 0; y < 16; y++) {
        for (let x = 0; x < 16; x++) {
          const on = c === 0 ? (x - 7.5) ** 2 + (y - 7.5) ** 2 < 30 + rand() * 10 : c === 1 ? Math.abs(x - y) < 2 || Math.abs(x + y - 15) < 2 : (y + Math.floor(rand() * 2)) % 4 < 2;
          const v = on ? 190 + rand() * 65 : rand() * 70;
          px.set([v, v * (0.4 + c * 0.25), 255 - v], (y * 16 + x) * 3);
        }
      }
      await sharp(px, { raw: { width: 16, height: 16, channels: 3 } }).png().toFile(path.join(root, name, `${String(i).padStart(3, '0')}.png`));
    }
  }
  return classes;
}

/** Packs a folder as .tar.gz (the system tar). */
export async function tarGz(folder: string, archive: string): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    const child = spawn('tar', ['-czf', archive, '-C', path.dirname(folder), path.basename(folder)], { stdio: 'inherit' });
    child.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`tar exited with ${code}`))));
  });
}

export interface RunningStudio {
  url: string;
  child: ChildProcess;
  stop(): Promise<void>;
}

/** `npm start` in browser mode (scripts/start.mjs --browser) against a project. */
export async function startStudio(projectDir: string, configDir: string, log: string[]): Promise<RunningStudio> {
  const child = spawn(process.execPath, [path.join(ROOT, 'scripts', 'start.mjs'), '--browser', '--json', '--project', projectDir, '--port', '0'], {
    cwd: ROOT,
    env: { ...process.env, LEARNGENE_CONFIG_DIR: configDir },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stderr!.on('data', (d: Buffer) => log.push(String(d)));
  const url = await new Promise<string>((resolve, reject) => {
    const lines = createInterface({ input: child.stdout! });
    lines.on('line', (line) => {
      log.push(line);
      try {
        const parsed = JSON.parse(line) as { url?: string };
        if (parsed.url) resolve(parsed.url);
      } catch {
        // not the JSON line
      }
    });
    child.on('exit', (code) => reject(new Error(`studio exited with ${code}:\n${log.join('')}`)));
    setTimeout(() => reject(new Error(`studio did not start in 60 s:\n${log.join('')}`)), 60_000);
  });
  return {
    url,
    child,
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve();
        const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
        child.once('exit', () => {
          clearTimeout(timer);
          resolve();
        });
        child.kill('SIGINT');
      }),
  };
}

export async function launchBrowser(): Promise<BrowserContext> {
  const profile = mkdtempSync(path.join(os.tmpdir(), 'lg-chromium-'));
  return chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    viewport: { width: 1280, height: 860 },
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
}

/** A real OS-level file drop (Chromium's drag events with files from disk), in the middle of the window. */
export async function dropFiles(page: Page, files: string[]): Promise<void> {
  const cdp = await page.context().newCDPSession(page);
  const data = { items: [], files, dragOperationsMask: 1 };
  for (const type of ['dragEnter', 'dragOver', 'drop'] as const) {
    await cdp.send('Input.dispatchDragEvent', { type, x: 640, y: 400, data });
  }
  await cdp.detach();
}

let shotIndex = 0;
/** The whole page (the main pane grown to its content) as test-output/e2e/NN-name.png. */
export async function capture(page: Page, name: string): Promise<string> {
  mkdirSync(SHOTS, { recursive: true });
  const viewport = page.viewportSize()!;
  const extra = await page.evaluate(() => {
    const main = document.querySelector('main')!;
    return Math.max(0, main.scrollHeight - main.clientHeight);
  });
  if (extra > 0) await page.setViewportSize({ width: viewport.width, height: Math.min(viewport.height + extra, 4000) });
  await page.waitForTimeout(150);
  const file = path.join(SHOTS, `${String(++shotIndex).padStart(2, '0')}-${name}.png`);
  await page.screenshot({ path: file });
  if (extra > 0) await page.setViewportSize(viewport);
  return file;
}

/** Where the README's screenshots live; the e2e test rewrites them with LEARNGENE_DOCS_SCREENSHOTS=1. */
export const DOCS_SHOTS = path.join(ROOT, 'docs', 'screenshots');

/** The whole page as docs/screenshots/<name>.png, when LEARNGENE_DOCS_SCREENSHOTS=1. */
export async function docsScreenshot(page: Page, name: string): Promise<void> {
  if (process.env.LEARNGENE_DOCS_SCREENSHOTS !== '1') return;
  mkdirSync(DOCS_SHOTS, { recursive: true });
  const shot = await capture(page, `docs-${name}`);
  await sharp(shot).png({ compressionLevel: 9, palette: true, quality: 90 }).toFile(path.join(DOCS_SHOTS, `${name}.png`));
}

/** axe-core on the current page: serious and critical violations, as readable lines. */
export async function seriousViolations(page: Page): Promise<string[]> {
  const results = await new AxeBuilder({ page: page as never }).analyze();
  return results.violations
    .filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .map((v) => `${v.impact} ${v.id}: ${v.help} — ${v.nodes.slice(0, 3).map((n) => n.target.join(' ')).join(' | ')}`);
}

/**
 * Tabs through the page from the top and returns the interactive controls that never
 * got focus (radio groups count once: Tab enters a group, arrows move inside it).
 */
export async function unreachableByKeyboard(page: Page): Promise<string[]> {
  const total = await page.evaluate(() => {
    const selector = 'a[href], button, input, select, textarea, summary, [tabindex]:not([tabindex="-1"])';
    const visible = (el: Element) => {
      const r = (el as HTMLElement).getBoundingClientRect();
      // checkVisibility() also hides the content of closed <details> (content-visibility).
      return r.width > 0 && r.height > 0 && el.checkVisibility({ visibilityProperty: true }) && !el.closest("[inert]");
    };
    let n = 0;
    for (const el of document.querySelectorAll(selector)) {
      el.removeAttribute('data-kb');
      const html = el as HTMLElement & { disabled?: boolean };
      if (html.disabled || el.getAttribute('tabindex') === '-1' || !visible(el)) continue;
      if (el instanceof HTMLInputElement && el.type === 'hidden') continue;
      el.setAttribute('data-kb', el instanceof HTMLInputElement && el.type === 'radio' && el.name ? `radio:${el.name}` : String(n++));
    }
    (document.activeElement as HTMLElement | null)?.blur();
    return document.querySelectorAll('[data-kb]').length;
  });
  const seen = new Set<string>();
  for (let i = 0; i < total * 2 + 10; i++) {
    await page.keyboard.press('Tab');
    const key = await page.evaluate(() => document.activeElement?.getAttribute('data-kb') ?? null);
    if (key !== null) seen.add(key);
  }
  return page.evaluate((reached) => {
    const missing: string[] = [];
    for (const el of document.querySelectorAll('[data-kb]')) {
      const key = el.getAttribute('data-kb')!;
      if (reached.includes(key)) continue;
      const label = el.getAttribute('aria-label') ?? (el as HTMLElement).innerText?.trim() ?? '';
      missing.push(`${el.tagName.toLowerCase()}${el.id ? '#' + el.id : ''} "${label.slice(0, 40)}" (${key})`);
    }
    return [...new Set(missing)];
  }, [...seen]);
}

/** Every step gets the same three checks: a screenshot, axe, and keyboard reachability. */
export async function checkStep(page: Page, name: string): Promise<{ shot: string; axe: string[]; keyboard: string[] }> {
  const shot = await capture(page, name);
  const axe = await seriousViolations(page);
  const keyboard = await unreachableByKeyboard(page);
  return { shot, axe, keyboard };
}
