// The job service: events in order, cancel → checkpoint → resume, worker crashes and
// OOM, rejected requests that leave nothing behind, and a restarted service reading
// old runs from disk.

import { existsSync, promises as fs } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ExportRequest } from '../../../shared/api.js';
import { ConfigError } from '../../../shared/config.js';
import type { ProgressEvent } from '../../../shared/events.js';
import { JobService } from '../../../node/jobs/service.js';
import { StepThrottle } from '../../../node/jobs/throttle.js';
import { checkpointsOf, compareTensorFiles, FAULTS_MODULE, requireBuild, SAMPLE_DATA, tempDir } from '../../helpers/jobs.js';
import { tinyTrain } from '../../helpers/requests.js';

requireBuild();

let root: string;
beforeAll(async () => {
  root = await tempDir('service');
});
afterAll(async () => {
  await fs.rm(root, { recursive: true, force: true });
});

function collect(service: JobService): ProgressEvent[] {
  const seen: ProgressEvent[] = [];
  service.on((e) => seen.push(e));
  return seen;
}

describe('events', () => {
  it('events.jsonl has queued, started, every step, epoch, checkpoint … done in order; listeners get throttled steps', async () => {
    const project = path.join(root, 'events');
    const service = new JobService({ projectDir: project, stepIntervalMs: 60_000 });
    const heard = collect(service);
    const job = await service.submit(tinyTrain(path.join(project, 'model')));
    expect(job.status).toBe('queued');
    const info = await service.wait(job.id);
    expect(info.status, JSON.stringify(info.error)).toBe('done');

    const events = await service.events(job.id);
    const types = events.filter((e) => e.type !== 'log').map((e) => e.type);
    const steps = events.filter((e): e is Extract<ProgressEvent, { type: 'step' }> => e.type === 'step');
    const perEpoch = steps[0]!.stepsPerEpoch;
    const epoch = [...Array(perEpoch).fill('step'), 'epoch', 'checkpoint'];
    expect(types).toEqual(['queued', 'started', ...epoch, ...epoch, 'done']);
    expect(events.every((e) => e.jobId === job.id && typeof e.time === 'number')).toBe(true);
    expect(steps.map((s) => s.epoch * perEpoch + s.step)).toEqual([...Array(2 * perEpoch).keys()]);
    expect(Object.keys(steps[0]!.losses)).toEqual(expect.arrayContaining(['total', 'ce']));

    // Listeners: every non-step event, and (with a 60 s interval) only the first step and each epoch's last.
    const heardSteps = heard.filter((e) => e.type === 'step') as typeof steps;
    expect(heard.filter((e) => e.type !== 'step')).toEqual(events.filter((e) => e.type !== 'step'));
    expect(heardSteps.map((s) => `${s.epoch}:${s.step}`)).toEqual(['0:0', `0:${perEpoch - 1}`, `1:${perEpoch - 1}`]);

    const status = JSON.parse(await fs.readFile(path.join(info.runDir, 'status.json'), 'utf8'));
    expect(status).toMatchObject({ id: job.id, kind: 'train', status: 'done', sessions: 1, options: { checkpointEvery: 0 }, backendUsed: 'onnxruntime' });
    expect(existsSync(path.join(info.runDir, 'lock'))).toBe(false);
    expect(JSON.parse(await fs.readFile(path.join(info.runDir, 'request.json'), 'utf8')).out).toBe(path.join(project, 'model'));

    // A restarted app sees the run from disk.
    const restarted = new JobService({ projectDir: project });
    const listed = await restarted.list();
    expect(listed.map((j) => [j.id, j.status])).toEqual([[job.id, 'done']]);
    expect((await restarted.get(job.id))?.result).toMatchObject({ file: path.join(project, 'model/model.safetensors') });
    expect((await restarted.events(job.id)).length).toBe(events.length);
  });

  it('throttles step events per job: at most one per interval, always the last step of an epoch', () => {
    const throttle = new StepThrottle(250);
    const step = (s: number) => ({ type: 'step' as const, phase: 'p', epoch: 0, epochs: 1, step: s, stepsPerEpoch: 10, losses: {}, lr: 0, imagesPerSec: 0, etaSeconds: 0 });
    const passed = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9].filter((s) => throttle.pass(step(s), s * 100));
    expect(passed).toEqual([0, 3, 6, 9]);
    expect(throttle.pass({ type: 'log', level: 'info', message: 'x' }, 901)).toBe(true);
  });
});

describe('cancel and resume', () => {
  it('cancel → status cancelled with a checkpoint; resume (after a restart) ends with the uninterrupted weights', async () => {
    const project = path.join(root, 'cancel');
    const service = new JobService({ projectDir: project });
    const request = tinyTrain(path.join(project, 'cancelled-model'), { limit: 1000, seed: 5 });
    const job = await service.submit(request, { checkpointEvery: 5 });
    let cancelAsked = false;
    service.on((e) => {
      // Cancel mid-epoch 2, after an epoch-end checkpoint and a step checkpoint.
      if (e.jobId === job.id && e.type === 'checkpoint' && e.step > 60 && !cancelAsked) {
        cancelAsked = true;
        void service.cancel(job.id);
      }
    });
    const cancelled = await service.wait(job.id);
    expect(cancelled.status).toBe('cancelled');
    const events = await service.events(job.id);
    const last = events[events.length - 1]!;
    expect(last.type).toBe('cancelled');
    const checkpoint = (last as { checkpoint?: string }).checkpoint!;
    expect(existsSync(checkpoint)).toBe(true);
    expect(existsSync(path.join(project, 'cancelled-model'))).toBe(false);
    expect(existsSync(path.join(cancelled.runDir, 'lock'))).toBe(false);

    const restarted = new JobService({ projectDir: project });
    expect((await restarted.get(job.id))?.status).toBe('cancelled');
    const resumed = await restarted.resume(cancelled.runDir);
    expect(resumed.id).toBe(job.id);
    const done = await restarted.wait(job.id);
    expect(done.status, JSON.stringify(done.error)).toBe('done');
    const log = (await restarted.events(job.id)).filter((e) => e.type === 'log').map((e) => (e as { message: string }).message);
    expect(log.some((m) => m.startsWith(`[train] resuming from ${path.basename(checkpoint)}`))).toBe(true);

    const straight = await restarted.submit({ ...request, out: path.join(project, 'straight-model') });
    expect((await restarted.wait(straight.id)).status).toBe('done');
    const comparison = await compareTensorFiles(path.join(project, 'straight-model/model.safetensors'), path.join(project, 'cancelled-model/model.safetensors'));
    console.log(`[cancel-resume] cancelled at ${path.basename(checkpoint)}; ${comparison.tensors} tensors, differing ${comparison.differing.length}, max |Δ| ${comparison.maxAbsDiff}`);
    expect(comparison.bitIdentical).toBe(true);
  });

  it('a resume on another backend says so and ends close to (not necessarily equal to) the uninterrupted weights', async () => {
    const project = path.join(root, 'other-backend');
    const wasm = new JobService({ projectDir: project, backend: 'wasm' });
    const request = tinyTrain(path.join(project, 'mixed'), { limit: 1000, seed: 5 });
    const straight = await wasm.wait((await wasm.submit({ ...request, out: path.join(project, 'straight') })).id);
    expect(straight.status).toBe('done');
    const job = await wasm.submit(request, { checkpointEvery: 5 });
    let asked = false;
    wasm.on((e) => {
      if (e.jobId === job.id && e.type === 'checkpoint' && e.step > 60 && !asked) {
        asked = true;
        void wasm.cancel(job.id);
      }
    });
    expect((await wasm.wait(job.id)).status).toBe('cancelled');
    const cpu = new JobService({ projectDir: project });
    await cpu.resume(job.runDir, { backend: 'cpu' });
    const done = await cpu.wait(job.id);
    expect(done.status, JSON.stringify(done.error)).toBe('done');
    const logs = (await cpu.events(job.id)).filter((e) => e.type === 'log').map((e) => (e as { message: string }).message);
    expect(logs).toContain('this run started on the wasm backend and continues on cpu: the result will be close to, not bit-identical with, an uninterrupted run');
    const comparison = await compareTensorFiles(path.join(project, 'straight/model.safetensors'), path.join(project, 'mixed/model.safetensors'));
    console.log(`[cancel-resume wasm→cpu] ${comparison.differing.length}/${comparison.tensors} tensors differ, max |Δ| ${comparison.maxAbsDiff}`);
    expect(comparison.maxAbsDiff).toBeLessThan(1e-4); // measured ≈ 4e-6 after 112 steps
  });

  it('cancelling a queued job drops it without running it', async () => {
    const project = path.join(root, 'queued');
    const service = new JobService({ projectDir: project, maxConcurrent: 1 });
    const first = await service.submit(tinyTrain(path.join(project, 'a')));
    const second = await service.submit(tinyTrain(path.join(project, 'b')));
    expect((await service.get(second.id))?.status).toBe('queued');
    await service.cancel(second.id);
    expect((await service.get(second.id))?.status).toBe('cancelled');
    expect((await service.wait(first.id)).status).toBe('done');
    expect((await service.events(second.id)).map((e) => e.type)).toEqual(['queued', 'cancelled']);
    expect(existsSync(path.join(project, 'b'))).toBe(false);
  });
});

describe('worker failures', () => {
  const fault = (project: string, name: string): ExportRequest => ({ kind: 'export', model: SAMPLE_DATA, format: 'onnx', out: path.join(project, name) });

  it('a worker that exits or throws → job error; the next job on the same service succeeds', async () => {
    const project = path.join(root, 'crash');
    const service = new JobService({ projectDir: project, preload: [FAULTS_MODULE] });
    const exited = await service.wait((await service.submit(fault(project, 'exit'))).id);
    expect(exited.status).toBe('error');
    expect(exited.error).toMatchObject({ name: 'WorkerCrash', message: "the job's worker exited with code 3 before finishing" });
    const threw = await service.wait((await service.submit(fault(project, 'throw'))).id);
    expect(threw.status).toBe('error');
    expect(threw.error?.message).toBe("the job's worker crashed: injected uncaught failure");
    expect((await service.events(threw.id)).map((e) => e.type)).toEqual(['queued', 'started', 'log', 'error']);

    const next = await service.wait((await service.submit(tinyTrain(path.join(project, 'model')))).id);
    expect(next.status, JSON.stringify(next.error)).toBe('done');
  });

  it('a worker out of memory → job error naming the limit; the service keeps working', async () => {
    const project = path.join(root, 'oom');
    const service = new JobService({ projectDir: project, preload: [FAULTS_MODULE], resourceLimits: { maxOldGenerationSizeMb: 96 } });
    const oom = await service.wait((await service.submit(fault(project, 'oom'))).id);
    expect(oom.status).toBe('error');
    expect(oom.error?.message).toMatch(/^the job ran out of memory \(heap limit 96 MB\)/);
    const next = await service.wait((await service.submit(tinyTrain(path.join(project, 'model')))).id);
    expect(next.status, JSON.stringify(next.error)).toBe('done');
  });

  it('cancel stops a job without a training phase at once', async () => {
    const project = path.join(root, 'hang');
    const service = new JobService({ projectDir: project, preload: [FAULTS_MODULE] });
    const job = await service.submit(fault(project, 'hang'));
    await new Promise<void>((resolve) => service.on((e) => e.jobId === job.id && e.type === 'log' && resolve()));
    await service.cancel(job.id);
    expect((await service.get(job.id))?.status).toBe('cancelled');
  });
});

describe('rejected requests leave nothing behind', () => {
  it('an invalid request is refused before any folder exists', async () => {
    const project = path.join(root, 'never-created');
    const service = new JobService({ projectDir: project });
    const bad = tinyTrain(path.join(project, 'm'));
    bad.model.dim = 30;
    bad.model.heads = 4;
    await expect(service.submit(bad)).rejects.toThrow(ConfigError);
    await expect(service.submit(bad)).rejects.toThrow('model.heads: heads 4 must divide dim 30');
    await expect(service.submit({ ...tinyTrain('m'), data: { ...tinyTrain('m').data, path: path.join(root, 'nope') } })).rejects.toThrow(/data\.path: .*nope does not exist/);
    await expect(service.submit(tinyTrain('m'), { checkpointEvery: -1 })).rejects.toThrow(/checkpointEvery: must be at least 0, got -1/);
    expect(existsSync(project)).toBe(false);
    expect(() => new JobService({ projectDir: project, backend: 'gpu' })).toThrow(/backend: unknown backend "gpu"/);
  });

  it('input found bad inside the worker (a class that does not exist): job error, run folder and new project removed', async () => {
    const project = path.join(root, 'removed-again');
    const service = new JobService({ projectDir: project });
    const request = tinyTrain(path.join(project, 'm'));
    request.data.classes = [0, 12];
    const info = await service.wait((await service.submit(request)).id);
    expect(info.status).toBe('error');
    expect(info.error).toMatchObject({ name: 'ConfigError', issues: [{ field: 'data.classes' }] });
    expect(info.error?.message).toMatch(/^data\.classes: class 12 does not exist in .* \(it has 10 classes: 0\.\.9\)$/);
    expect(existsSync(project)).toBe(false);
  });

  it('resume refuses a folder that is not a run, and a run this service is running', async () => {
    const project = path.join(root, 'resume-refused');
    const service = new JobService({ projectDir: project });
    await expect(service.resume(root)).rejects.toThrow(/is not a run folder \(no request\.json; runs live in <project>\/runs\/<id>\/\)/);
    const job = await service.submit(tinyTrain(path.join(project, 'm')));
    await expect(service.resume(job.runDir)).rejects.toThrow(/already (queued|running) in this session/);
    expect((await service.wait(job.id)).status).toBe('done');
    expect(await checkpointsOf(job.runDir, 'train')).toEqual([]); // pruned once the phase finished
  });
});
