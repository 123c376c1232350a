// Browser mode's GPU path without a browser: a fake studio page (a ws client running an
// in-process ComputeService on wasm) connects to /<token>/compute as the page's compute
// Worker does, offers an "adapter", and a real job service runs a job submitted with
// backend webgpu through it — each gradient step crossing job worker → MessagePort →
// studio server → WebSocket binary frames → page and back. Its losses match a wasm run
// of the same request; a page that goes away mid-job fails the job with
// ComputeHostLost, and the run resumes on wasm. SwiftShader in a real page:
// test/e2e/compute-page.test.ts.

import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import '../../engine/gradients.js';
import { ComputeService, type ComputeInfo } from '../../engine/compute/service.js';
import { decodeFrame, encodeFrame } from '../../engine/compute/wire.js';
import { openSettings } from '../../main/settings.js';
import { linkFor } from '../../node/compute/source.js';
import { openJobApi, type OpenedJobApi } from '../../server/job-api.js';
import { PageComputeHosts } from '../../server/compute-pages.js';
import { startStudioServer, type StudioServer } from '../../server/studio-server.js';
import type { JobInfo, JobRequest } from '../../shared/api.js';
import type { ProgressEvent } from '../../shared/events.js';
import { requireBuild } from '../helpers/jobs.js';
import { REPO_ROOT, useBackend } from '../helpers/fixtures.js';
import { tinyTrain } from '../helpers/requests.js';

requireBuild();

const ADAPTER = { vendor: 'test', architecture: 'in-process ComputeService', description: 'wasm', fallback: false };

interface FakePage {
  ws: WebSocket;
  calls: string[];
  role: string;
}

/** A studio page's compute Worker, in Node: hello, then answers calls from a ComputeService. */
function fakePage(url: string, origin: string, service: ComputeService, info: ComputeInfo & { error: string | null }, options: { dropAfterGradients?: number } = {}): Promise<FakePage> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { headers: { origin } });
    const page: FakePage = { ws, calls: [], role: '' };
    ws.on('open', () => ws.send(encodeFrame({ type: 'hello', ...info })));
    ws.on('message', (data: Buffer) => {
      const message = decodeFrame(new Uint8Array(data.buffer, data.byteOffset, data.byteLength)) as { type?: string; role?: string; id: number; method: string; args: unknown };
      if (message.type === 'welcome') {
        page.role = message.role!;
        return resolve(page);
      }
      page.calls.push(message.method);
      if (message.method === 'gradients' && page.calls.filter((c) => c === 'gradients').length === options.dropAfterGradients) {
        ws.terminate(); // the tab closes mid-step
        return;
      }
      service.call(message.method, message.args).then(
        (result) => ws.send(encodeFrame({ id: message.id, result })),
        (error: Error) => ws.send(encodeFrame({ id: message.id, error: error.message })),
      );
    });
    ws.on('unexpected-response', (_req, res) => reject(new Error(`refused: ${res.statusCode}`)));
    ws.on('error', reject);
  });
}

function stepsOf(events: ProgressEvent[]): Extract<ProgressEvent, { type: 'step' }>[] {
  return events.filter((e): e is Extract<ProgressEvent, { type: 'step' }> => e.type === 'step');
}

let root: string;
let project: string;
let pages: PageComputeHosts;
let jobs: OpenedJobApi;
let server: StudioServer;
let origin: string;
let computeUrl: string;

beforeAll(async () => {
  await useBackend('wasm');
  root = mkdtempSync(path.join(os.tmpdir(), 'lg-compute-pages-'));
  project = path.join(root, 'project');
  const staticDir = path.join(root, 'static');
  mkdirSync(staticDir, { recursive: true });
  writeFileSync(path.join(staticDir, 'index.html'), '<!doctype html><title>studio</title>');
  pages = new PageComputeHosts();
  jobs = await openJobApi(project, { computeHost: pages });
  server = await startStudioServer({ api: jobs.api, settings: openSettings(path.join(root, 'config')), staticDir, projectDir: project, port: 0, computePages: pages, computeDir: path.join(REPO_ROOT, 'dist/compute-host') });
  origin = `http://127.0.0.1:${server.port}`;
  computeUrl = `ws://127.0.0.1:${server.port}/${server.token}/compute`;
});

afterAll(async () => {
  await server?.close();
  await jobs?.close();
  if (root) rmSync(root, { recursive: true, force: true });
});

/** Polls the job until it is done, failed or cancelled. */
async function settled(id: string): Promise<JobInfo> {
  for (;;) {
    const info = await jobs.api.get(id);
    if (info && ['done', 'error', 'cancelled'].includes(info.status)) return info;
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function runJob(backend: string, request: JobRequest, options: { checkpointEvery?: number } = {}): Promise<{ info: JobInfo; events: ProgressEvent[] }> {
  const submitted = await jobs.api.submit(request, { backend, ...options });
  const info = await settled(submitted.id);
  return { info, events: await jobs.api.events(submitted.id) };
}

describe('a studio page as the compute host (browser mode, no browser)', () => {
  it('serves the compute bundle under the token, lets the page start it as a worker, and guards /compute', async () => {
    const script = await fetch(`${server.url}compute-host/compute.js`);
    expect(script.status).toBe(200);
    expect(script.headers.get('content-type')).toMatch(/javascript/);
    expect((await script.text()).length).toBeGreaterThan(10_000);
    expect((await fetch(`${server.url}compute-host/index.html`)).status).toBe(404);
    expect((await fetch(`${origin}/wrong-token/compute-host/compute.js`)).status).toBe(401);
    const page = await fetch(server.url);
    expect(page.headers.get('content-security-policy')).toContain("worker-src 'self'");
    await expect(fakePage(`ws://127.0.0.1:${server.port}/nope/compute`, origin, new ComputeService(), { backend: 'wasm', adapter: ADAPTER, error: null })).rejects.toThrow(/401/);
    await expect(fakePage(computeUrl, 'http://evil.example', new ComputeService(), { backend: 'wasm', adapter: ADAPTER, error: null })).rejects.toThrow(/403/);
  });

  it('a page without an adapter is reported, not kept; SwiftShader is never picked by auto', async () => {
    expect(await pages.status()).toEqual({ usable: false, detail: expect.stringMatching(/no studio page has offered/) });
    const none = await fakePage(computeUrl, origin, new ComputeService(), { backend: 'cpu', adapter: null, error: 'no WebGPU adapter' });
    expect(none.role).toBe('none');
    await new Promise((r) => none.ws.once('close', r));
    expect(await pages.status()).toEqual({ usable: false, detail: 'no adapter' }); // the status bar: "GPU unavailable: no adapter"
    const swiftshader = await fakePage(computeUrl, origin, new ComputeService(), { backend: 'webgpu', adapter: { vendor: 'google', architecture: 'swiftshader', description: '', fallback: true }, error: null });
    expect(swiftshader.role).toBe('host');
    const status = await pages.status();
    expect(status).toMatchObject({ usable: false, fallback: true, detail: expect.stringMatching(/SwiftShader only.*the studio page/) });
    expect((await linkFor(pages, 'auto'))!.port).toBeNull(); // auto: no port, the worker goes to wasm
    const byName = (await linkFor(pages, 'webgpu'))!;
    expect(byName.port).not.toBeNull(); // webgpu by name: it runs there
    byName.stop();
    expect(await linkFor(pages, 'wasm')).toBeNull();
    swiftshader.ws.close();
    await expect.poll(() => pages.count).toBe(0);
  });

  it('a job submitted with backend webgpu runs its gradient steps in the page; losses match wasm within 1e-3', async () => {
    const page = await fakePage(computeUrl, origin, new ComputeService(), { backend: 'wasm', adapter: ADAPTER, error: null });
    expect(page.role).toBe('host');
    const backends = await jobs.api.backends!();
    await useBackend('wasm'); // the probe switched this thread's backend; the fake page computes here
    expect(backends.find((b) => b.name === 'webgpu')).toEqual({ name: 'webgpu', usable: true, detail: 'test in-process ComputeService wasm (WebGPU in the studio page)' });

    const request = tinyTrain(path.join(project, 'model-page'), { limit: 96, epochs: 1 });
    const onPage = await runJob('webgpu', request);
    expect(onPage.info.status, JSON.stringify(onPage.info.error)).toBe('done');
    const onWasm = await runJob('wasm', { ...request, out: path.join(project, 'model-wasm') });
    expect(onWasm.info.status, JSON.stringify(onWasm.info.error)).toBe('done');

    const pageSteps = stepsOf(onPage.events);
    const wasmSteps = stepsOf(onWasm.events);
    expect(pageSteps.length).toBeGreaterThan(2);
    expect(page.calls.filter((c) => c === 'gradients')).toHaveLength(pageSteps.length);
    expect(page.calls).toContain('open');
    await expect.poll(() => page.calls.at(-1)).toBe('close'); // the job's session is closed when it ends
    expect(onPage.events.some((e) => e.type === 'log' && /backend: webgpu \(test in-process ComputeService wasm \(WebGPU in the studio page\)\)/.test(e.message))).toBe(true);
    console.log(`first step loss: page ${pageSteps[0]!.losses.total} · wasm ${wasmSteps[0]!.losses.total}; ${pageSteps.length} steps`);
    expect(pageSteps.length).toBe(wasmSteps.length);
    pageSteps.forEach((s, i) => expect(Math.abs(s.losses.total! - wasmSteps[i]!.losses.total!), `step ${i}`).toBeLessThan(1e-3));
    page.ws.close();
    await expect.poll(() => pages.count).toBe(0);
  });

  it('a page that goes away mid-job fails the job with ComputeHostLost; the run resumes on wasm', async () => {
    const page = await fakePage(computeUrl, origin, new ComputeService(), { backend: 'wasm', adapter: ADAPTER, error: null }, { dropAfterGradients: 4 });
    const request = tinyTrain(path.join(project, 'model-dropped'), { limit: 96, epochs: 1 });
    const failed = await runJob('webgpu', request, { checkpointEvery: 2 });
    expect(failed.info.status).toBe('error');
    expect(failed.info.error).toMatchObject({ name: 'ComputeHostLost', message: expect.stringMatching(/studio page that was computing on its GPU \(WebGPU\) went away/) });
    expect(failed.events.find((e) => e.type === 'error')).toMatchObject({ name: 'ComputeHostLost' });
    expect(stepsOf(failed.events)).toHaveLength(3);
    expect(page.calls.filter((c) => c === 'gradients')).toHaveLength(4);
    expect(await pages.status()).toMatchObject({ usable: false });

    // No page now: webgpu by name is refused with the reason; resuming on wasm finishes the run.
    const refused = await jobs.api.submit({ ...request, out: path.join(project, 'model-refused') }, { backend: 'webgpu' });
    expect(await settled(refused.id)).toMatchObject({ status: 'error', error: { message: expect.stringMatching(/webgpu: unusable here: no adapter/) } });
    const resumed = await jobs.api.resume(failed.info.id, { backend: 'wasm' });
    const done = await settled(resumed.id);
    expect(done.status, JSON.stringify(done.error)).toBe('done');
    const events = await jobs.api.events(resumed.id);
    expect(events.some((e) => e.type === 'log' && /continues on wasm/.test(e.message))).toBe(true);
  });
});
