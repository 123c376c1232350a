// The studio's extra API calls (shared/api.ts StudioApi.inspect/backends/project), added
// to any StudioApi: Electron's main process and the browser-mode server both wrap their
// job service with `withStudioExtras`, so the window sees one API whichever host runs it.

import { promises as fs } from 'node:fs';
import path from 'node:path';
import sharp from 'sharp';
import type { BackendInfo, InspectResult, ProjectInfo, SampleImage, StudioApi } from '../../shared/api.js';
import type { WebGpuStatus } from '../compute/host.js';
import { vitParamCount, learngeneParamCount } from '../../shared/param-count.js';
import { decodeSafetensors } from '../../engine/io/safetensors.js';
import { decodeLearngene } from '../../engine/io/learngene-file.js';
import { LEARNGENE_FORMAT } from '../../engine/sws/learngene.js';
import { inspectDataset } from '../data/inspect.js';
import { openDataset } from '../data/open.js';
import { describeModelForInspect } from '../export/index.js';

export const LEARNGENE_FILE = 'learngene.safetensors';
const MODEL_MARKERS = ['model.safetensors', 'model.onnx', 'model.json', 'model.safetensors.index.json', LEARNGENE_FILE];
const MODEL_EXTENSIONS = /\.(safetensors|onnx|json)$/i;

export interface ExtrasOptions {
  projectDir: string;
  /** Backend probe (node/backends.ts detectBackends); injected so tests need no tfjs. */
  detectBackends?: () => Promise<BackendInfo[]>;
  /**
   * The studio's WebGPU answer (its hidden window, or the browser page that offered its
   * GPU), asked afresh on every `backends()` call: a page may come or go after the probe.
   */
  webgpuStatus?: () => Promise<WebGpuStatus>;
  /** Where archives are extracted for inspection. */
  cacheDir?: string;
  /** Thumbnails per class in a dataset report. */
  samplesPerClass?: number;
}

async function statOrNull(p: string) {
  return fs.stat(p).catch(() => null);
}

/** Whether `target` looks like a model (folder with a model file, or a model-like file) rather than a dataset. */
export async function looksLikeModel(target: string): Promise<boolean> {
  const stat = await statOrNull(target);
  if (!stat) throw new Error(`${target}: no such file or folder`);
  if (stat.isFile()) return MODEL_EXTENSIONS.test(target);
  for (const marker of MODEL_MARKERS) if (await statOrNull(path.join(target, marker))) return true;
  return false;
}

async function learngeneFileBehind(target: string): Promise<string | null> {
  const stat = await statOrNull(target);
  if (!stat) return null;
  const file = stat.isDirectory() ? path.join(target, LEARNGENE_FILE) : target;
  if (!file.endsWith('.safetensors') || !(await statOrNull(file))) return null;
  const bytes = new Uint8Array(await fs.readFile(file));
  try {
    return decodeSafetensors(bytes, file).metadata.format === LEARNGENE_FORMAT ? file : null;
  } catch {
    return null;
  }
}

async function inspectModel(target: string): Promise<InspectResult> {
  const learngeneFile = await learngeneFileBehind(target);
  if (learngeneFile) {
    const { learngene, meta } = decodeLearngene(new Uint8Array(await fs.readFile(learngeneFile)), learngeneFile);
    return {
      kind: 'learngene',
      path: learngeneFile,
      learngeneKind: learngene.kind,
      stages: learngene.stages,
      config: learngene.config,
      params: learngeneParamCount(learngene.config, learngene.stages, learngene.kind, learngene.tensors.has('head.weight')),
      classNames: meta.classNames,
      provenance: meta.provenance,
      metrics: meta.metrics,
    };
  }
  const d = await describeModelForInspect(target);
  const notes = [...d.notes];
  if (d.onnx) {
    const io = (v: { name: string; type: string; shape: (number | string)[] }) => `${v.name} [${v.shape.join(', ')}] ${v.type}`;
    notes.unshift(`ONNX opset ${d.onnx.opset ?? '?'}: ${d.onnx.inputs.map(io).join(', ')} → ${d.onnx.outputs.map(io).join(', ')}${d.onnx.numClasses ? ` (${d.onnx.numClasses} classes)` : ''}`);
  }
  return {
    kind: 'model',
    path: d.path,
    format: d.format,
    ...(d.config ? { config: d.config, params: vitParamCount(d.config) } : {}),
    ...(d.classNames ? { classNames: d.classNames } : {}),
    provenance: d.provenance,
    metrics: (d.provenance as { metrics?: unknown } | undefined)?.metrics,
    notes,
  };
}

/** A few PNG thumbnails per class (data URLs), read through the dataset's own reader. */
export async function sampleThumbnails(target: string, perClass: number, options: { cacheDir?: string; size?: number } = {}): Promise<SampleImage[]> {
  const size = options.size ?? 48;
  const dataset = await openDataset(target, options.cacheDir ? { cacheDir: options.cacheDir } : {});
  const { train } = dataset;
  const picked: number[] = [];
  const taken = new Map<number, number>();
  for (let i = 0; i < train.labels.length && picked.length < perClass * train.classNames.length; i++) {
    const c = train.labels[i]!;
    if ((taken.get(c) ?? 0) >= perClass) continue;
    taken.set(c, (taken.get(c) ?? 0) + 1);
    picked.push(i);
  }
  const samples: SampleImage[] = [];
  // One image at a time: a corrupt file costs its own thumbnail, not the others'.
  for (const index of picked) {
    try {
      const channels = train.channels === 3 ? 3 : 1;
      const pixels = await train.read([index], size, size, channels);
      const png = await sharp(Buffer.from(pixels.buffer, pixels.byteOffset, pixels.byteLength), { raw: { width: size, height: size, channels } }).png().toBuffer();
      samples.push({ className: train.classNames[train.labels[index]!]!, dataUrl: `data:image/png;base64,${png.toString('base64')}` });
    } catch {
      // The report lists the file's problem.
    }
  }
  return samples;
}

async function inspectAnyDataset(target: string, options: ExtrasOptions): Promise<InspectResult> {
  const report = await inspectDataset(target, options.cacheDir ? { cacheDir: options.cacheDir } : {});
  let samples: SampleImage[] = [];
  if (report.splits.train > 0) {
    samples = await sampleThumbnails(target, options.samplesPerClass ?? 4, options.cacheDir ? { cacheDir: options.cacheDir } : {}).catch(() => []);
  }
  return { kind: 'dataset', path: target, report, samples };
}

export function createExtras(options: ExtrasOptions): Required<Pick<StudioApi, 'inspect' | 'backends' | 'project'>> {
  let backends: Promise<BackendInfo[]> | null = null;
  return {
    async inspect(target: string): Promise<InspectResult> {
      if (typeof target !== 'string' || target.trim() === '') throw new Error('inspect: give a file or folder');
      // "sample:fashion-mnist" names the embedded sample (node/data/open.ts).
      if (/^sample:/.test(target)) return inspectAnyDataset(target, options);
      const resolved = path.resolve(options.projectDir, target);
      return (await looksLikeModel(resolved)) ? inspectModel(resolved) : inspectAnyDataset(resolved, options);
    },
    async backends(): Promise<BackendInfo[]> {
      const webgpu = options.webgpuStatus;
      const detect = options.detectBackends ?? (async () => (await import('../backends.js')).detectBackends(webgpu ? { webgpu } : {}));
      // Probed once: probing switches tfjs's active backend, which must not happen twice.
      backends ??= detect().catch((error: unknown) => {
        backends = null;
        throw error;
      });
      const list = await backends;
      if (!webgpu) return list;
      // WebGPU as it stands now; usable only if it was (the local wasm it needs worked) or is new.
      const status = await webgpu().catch((error: unknown) => ({ usable: false, detail: (error as Error).message ?? String(error) }));
      const wasmOk = list.some((b) => b.name === 'wasm' && b.usable);
      return list.map((b) => (b.name === 'webgpu' ? { name: 'webgpu', usable: status.usable && wasmOk, detail: status.detail } : b));
    },
    async project(): Promise<ProjectInfo> {
      const dir = path.resolve(options.projectDir);
      return { dir, name: path.basename(dir) };
    },
  };
}

/** `api` with inspect/backends/project filled in where it has none. */
export function withStudioExtras(api: StudioApi, options: ExtrasOptions): StudioApi & Required<Pick<StudioApi, 'inspect' | 'backends' | 'project'>> {
  const extras = createExtras(options);
  return {
    submit: (request, submitOptions) => api.submit(request, submitOptions),
    list: () => api.list(),
    get: (id) => api.get(id),
    cancel: (id) => api.cancel(id),
    resume: (runDirOrId, resumeOptions) => api.resume(runDirOrId, resumeOptions),
    events: (id) => api.events(id),
    on: (listener) => api.on(listener),
    inspect: api.inspect ? (p) => api.inspect!(p) : extras.inspect,
    backends: api.backends ? () => api.backends!() : extras.backends,
    project: api.project ? () => api.project!() : extras.project,
  };
}
