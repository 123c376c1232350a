// The studio backend in a process of its own (what the desktop app runs in a utility
// process), here a real child process on the same entry: calls and validation cross,
// events arrive, and a process killed mid-job (SIGSEGV, as a native crash in onnxruntime
// or sharp would end it) ends that job with an error, not the app; a fresh process takes
// over and the run resumes from its checkpoint.

import { promises as fs } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { superviseBackend, type SupervisedBackend } from '../../../node/studio/remote.js';
import type { ProgressEvent } from '../../../shared/events.js';
import { RemoteError } from '../../../shared/rpc.js';
import { childBackendProcess, children } from '../../helpers/backend-process.js';
import { requireBuild, tempDir, waitFor } from '../../helpers/jobs.js';
import { tinyTrain } from '../../helpers/requests.js';

requireBuild();

let root: string;
let supervised: SupervisedBackend;
const heard: ProgressEvent[] = [];

beforeAll(async () => {
  root = await tempDir('remote');
  supervised = await superviseBackend(childBackendProcess(), { projectDir: path.join(root, 'project') });
  supervised.api.on((event) => heard.push(event));
});
afterAll(async () => {
  await supervised.close();
  await fs.rm(root, { recursive: true, force: true });
});

describe('the studio backend in its own process', () => {
  it('answers calls, and its refusals keep their field issues across the process boundary', async () => {
    expect(await supervised.api.project()).toEqual({ dir: path.join(root, 'project'), name: 'project' });
    const refused = await supervised.api.submit({ kind: 'train' } as never).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(RemoteError);
    expect((refused as RemoteError).name).toBe('ConfigError');
    expect((refused as RemoteError).issues.map((i) => i.field)).toEqual(['data', 'out', 'model', 'optim', 'seed']);
  });

  it('a crash of the process ends its job with an error; a new process takes over and the run resumes to the end', { timeout: 300_000 }, async () => {
    const out = path.join(root, 'project', 'model');
    const job = await supervised.api.submit(tinyTrain(out, { epochs: 2 }), { checkpointEvery: 2 });
    await waitFor(() => heard.some((e) => e.jobId === job.id && e.type === 'checkpoint'));
    const crashed = children.at(-1)!;
    crashed.kill('SIGSEGV');
    const error = await waitFor(() => heard.find((e): e is Extract<ProgressEvent, { type: 'error' }> => e.jobId === job.id && e.type === 'error'));
    expect(error.name).toBe('ServiceCrash');
    expect(error.message).toMatch(/the job service stopped \(it was killed by SIGSEGV\); the job was interrupted: resume it/);
    // The app carries on with a fresh process, which reads the run as interrupted.
    const listed = await supervised.api.get(job.id);
    expect(supervised.restarts).toBe(1);
    expect(children.at(-1)).not.toBe(crashed);
    expect(listed).toMatchObject({ status: 'error', error: { name: 'Interrupted' } });
    await supervised.api.resume(job.id);
    await waitFor(() => heard.some((e) => e.jobId === job.id && e.type === 'done'));
    const done = await supervised.api.get(job.id);
    expect(done).toMatchObject({ status: 'done', result: { kind: 'train', out } });
    const resumedFrom = (await supervised.api.events(job.id)).find((e) => e.type === 'log' && /resuming .* \(it was interrupted\)/.test(e.message));
    expect(resumedFrom).toBeDefined();
  });
});
