// Browser mode's GPU, for real: Debian Chromium on SwiftShader's WebGPU adapter opens the
// studio; the page starts its compute Worker from the bundle the server serves under the
// token, offers its adapter over the WebSocket, and the backend status says what it is
// (SwiftShader: never picked by auto). A tiny train job submitted with backend 'webgpu'
// (by name) runs its gradient steps in that page, and its first step's loss matches a
// wasm run of the same request within 1e-3. SwiftShader is a CPU emulation: this checks
// correctness, not speed; no real GPU was used here.

import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { chromium, type Browser, type Page } from 'playwright-core';
import type { JobInfo, TrainRequest } from '../../shared/api.js';
import type { ProgressEvent } from '../../shared/events.js';
import type { RpcMessage } from '../../shared/rpc.js';
import { tinyTrain } from '../helpers/requests.js';
import { CHROMIUM, missingBuild, ROOT, startStudio, type RunningStudio } from './helpers.js';

const notBuilt = missingBuild() ?? (existsSync(path.join(ROOT, 'dist/compute-host/compute.js')) ? null : 'dist/compute-host/compute.js is missing: run "npm run build:compute"');

/** The studio API over its WebSocket, as the page calls it. */
async function apiClient(url: string): Promise<{ call<T>(method: string, ...args: unknown[]): Promise<T>; close(): void }> {
  const base = new URL(url);
  const ws = new WebSocket(`ws://${base.host}${base.pathname}ws`, { headers: { origin: base.origin } });
  await new Promise((resolve, reject) => ws.once('open', resolve).once('error', reject));
  const pending = new Map<number, (m: Extract<RpcMessage, { type: 'result' }>) => void>();
  ws.on('message', (data) => {
    const message = JSON.parse(String(data)) as RpcMessage;
    if (message.type === 'result') pending.get(message.id)?.(message);
  });
  let next = 1;
  return {
    call: <T>(method: string, ...args: unknown[]) =>
      new Promise<T>((resolve, reject) => {
        const id = next++;
        pending.set(id, ({ result }) => (result.ok ? resolve(result.value as T) : reject(new Error(result.error.message))));
        ws.send(JSON.stringify({ type: 'call', id, method, args }));
      }),
    close: () => ws.close(),
  };
}

describe.skipIf(notBuilt !== null)('the studio page as WebGPU compute host (Chromium, SwiftShader)', () => {
  let root: string;
  let studio: RunningStudio;
  let browser: Browser;
  let page: Page;
  const serverLog: string[] = [];
  const workerErrors: string[] = [];

  beforeAll(async () => {
    root = mkdtempSync(path.join(os.tmpdir(), 'lg-e2e-gpu-'));
    studio = await startStudio(path.join(root, 'project'), path.join(root, 'config'), serverLog);
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--enable-unsafe-webgpu', '--use-webgpu-adapter=swiftshader', '--enable-features=Vulkan'],
    });
    page = await browser.newPage();
    page.on('worker', (worker) => worker.on('close', () => workerErrors.push(`compute worker closed: ${worker.url()}`)));
    page.on('pageerror', (error) => workerErrors.push(error.message));
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await studio?.stop();
    if (root) rmSync(root, { recursive: true, force: true });
  });

  it('the page offers its adapter; a job on webgpu (by name) trains in the page and its first loss matches wasm within 1e-3', async () => {
    const started = Date.now();
    await page.goto(studio.url);
    // The page registered: the GPU line names SwiftShader in the studio page (auto will not use it).
    const gpuLine = page.getByText(/GPU unavailable: no adapter \(SwiftShader only: a CPU emulation in the studio page/);
    await expect.poll(() => gpuLine.count(), { timeout: 60_000 }).toBe(1);
    expect(page.workers().map((w) => new URL(w.url()).pathname)).toEqual([expect.stringMatching(/^\/[0-9a-f]+\/compute-host\/compute\.js$/)]);
    const api = await apiClient(studio.url);
    const backends = await api.call<{ name: string; usable: boolean; detail: string }[]>('backends');
    expect(backends.find((b) => b.usable)?.name).not.toBe('webgpu');

    const project = (await api.call<{ dir: string }>('project')).dir;
    const base = tinyTrain(path.join(project, 'model-webgpu'), { limit: 80, epochs: 1 });
    const request: TrainRequest = { ...base, data: { ...base.data, testLimit: 16 } };
    const run = async (backend: string, out: string) => {
      const job = await api.call<JobInfo>('submit', { ...request, out }, { backend });
      for (;;) {
        const info = await api.call<JobInfo>('get', job.id);
        if (['done', 'error', 'cancelled'].includes(info.status)) return { info, events: await api.call<ProgressEvent[]>('events', job.id) };
        await new Promise((r) => setTimeout(r, 200));
      }
    };
    const onPage = await run('webgpu', path.join(project, 'model-webgpu'));
    expect(onPage.info.status, JSON.stringify(onPage.info.error)).toBe('done');
    const pageSeconds = (Date.now() - started) / 1000;
    const onWasm = await run('wasm', path.join(project, 'model-wasm'));
    expect(onWasm.info.status, JSON.stringify(onWasm.info.error)).toBe('done');

    const log = onPage.events.filter((e): e is Extract<ProgressEvent, { type: 'log' }> => e.type === 'log').map((e) => e.message);
    expect(log.some((m) => /^backend: webgpu \(SwiftShader/.test(m))).toBe(true);
    const first = (events: ProgressEvent[]) => events.find((e): e is Extract<ProgressEvent, { type: 'step' }> => e.type === 'step')!;
    // Every training step's gradients were computed in the page's worker.
    const served = await page.workers()[0]!.evaluate(() => (globalThis as unknown as { learngeneComputeServed: Record<string, number> }).learngeneComputeServed);
    const steps = onPage.events.filter((e) => e.type === 'step').length;
    expect(steps).toBeGreaterThanOrEqual(4);
    expect(served).toMatchObject({ open: 1, gradients: steps, close: 1 });
    const gpu = first(onPage.events).losses.total!;
    const cpu = first(onWasm.events).losses.total!;
    console.log(`first step loss: page (webgpu on SwiftShader) ${gpu} · wasm ${cpu} · |Δ| ${Math.abs(gpu - cpu).toExponential(2)}; ${steps} steps in the page (${JSON.stringify(served)}); page ready + job ${pageSeconds.toFixed(1)} s`);
    expect(Math.abs(gpu - cpu)).toBeLessThan(1e-3);
    // The later steps too (AdamW in the job's thread, gradients from the page).
    const losses = (events: ProgressEvent[]) => events.flatMap((e) => (e.type === 'step' ? [e.losses.total!] : []));
    losses(onPage.events).forEach((l, i) => expect(Math.abs(l - losses(onWasm.events)[i]!), `step ${i}`).toBeLessThan(1e-3));
    expect(workerErrors).toEqual([]);
    api.close();
  }, 180_000);
});

it.runIf(notBuilt !== null)('the studio page as WebGPU compute host: not built', () => {
  throw new Error(notBuilt!);
});
