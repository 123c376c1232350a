// The SWS jobs: distil a learngene from a teacher (SWS or TLEG Aux-Net), grow a
// descendant of any depth from it.

import { promises as fs } from 'node:fs';
import path from 'node:path';
import type { DistillRequest, GrowRequest } from '../../shared/api.js';
import { assertValid, ConfigError, defaultViTConfig, validateAuxNetConfig, type AuxNetConfig, type ViTConfig } from '../../shared/config.js';
import type { DistillResult, GrowResult } from '../../shared/results.js';

export type { DistillResult, GrowResult };
import { createAuxNet } from '../../engine/sws/auxnet.js';
import { extractLearngene, growDescendant, LEARNGENE_FORMAT, learngeneParamCount, sameLabelSet, type Learngene } from '../../engine/sws/learngene.js';
import { decodeSafetensors } from '../../engine/io/safetensors.js';
import { decodeLearngene, encodeLearngene, type LearngeneMeta } from '../../engine/io/learngene-file.js';
import { disposeParams, paramsFromTensors, tensorsFromParams, VisionTransformer, vitParamShapes } from '../../engine/model/vit.js';
import { evaluate } from '../../engine/train/loop.js';
import type { ModelMeta } from '../../engine/io/model-file.js';
import { FormatError } from '../../engine/io/errors.js';
import { saveModel, saveSafetensorsArtifact, sha256 } from '../model-store.js';
import { makeLoaders, measurePreprocess, prepareData, type PreparedData } from './data.js';
import type { Preprocess } from '../../engine/data/types.js';
import { runPhase, type JobContext } from './phase.js';
import { openTeacher, type OpenedTeacher } from './teachers.js';
import { CachedTeacher } from '../../engine/train/teacher-cache.js';
import { fastTeacher } from '../train/onnx-network-teacher.js';
import { assertClassesMatch, countNetworkParams, datasetInput } from './train-jobs.js';

export const LEARNGENE_FILE = 'learngene.safetensors';

/** Writes a learngene to `target`: a .safetensors file, or a folder with learngene.safetensors + learngene.json. */
export async function saveLearngene(target: string, learngene: Learngene, meta: LearngeneMeta): Promise<string> {
  const summary = { kind: learngene.kind, stages: learngene.stages, config: learngene.config, params: learngeneParamCount(learngene), ...meta };
  return saveSafetensorsArtifact(target, LEARNGENE_FILE, encodeLearngene(learngene, meta), { name: 'learngene.json', value: summary });
}

/** The learngene file behind `target` (a learngene folder or file) with its bytes, or null. */
export async function learngeneBehind(target: string): Promise<{ file: string; bytes: Uint8Array } | null> {
  const stat = await fs.stat(target).catch(() => null);
  if (!stat) return null;
  const file = stat.isDirectory() ? path.join(target, LEARNGENE_FILE) : target;
  if (!file.endsWith('.safetensors') || !(await fs.stat(file).catch(() => null))) return null;
  const bytes = new Uint8Array(await fs.readFile(file));
  try {
    return decodeSafetensors(bytes, file).metadata.format === LEARNGENE_FORMAT ? { file, bytes } : null;
  } catch {
    return null;
  }
}

export interface LoadedLearngene {
  learngene: Learngene;
  meta: LearngeneMeta;
  file: string;
  sha256: string;
}

export async function loadLearngene(target: string): Promise<LoadedLearngene> {
  let file = target;
  const stat = await fs.stat(target).catch(() => null);
  if (!stat) throw new FormatError(target, 'does not exist (expected a learngene folder or .safetensors file)');
  if (stat.isDirectory()) file = path.join(target, LEARNGENE_FILE);
  let bytes: Uint8Array;
  try {
    bytes = new Uint8Array(await fs.readFile(file));
  } catch {
    throw new FormatError(target, `has no ${LEARNGENE_FILE} (make one with "learngene distill")`);
  }
  const { learngene, meta } = decodeLearngene(bytes, file);
  return { learngene, meta, file, sha256: sha256(bytes) };
}

/** The Aux-Net's shape: the teacher's where it is a ViT, overridden by the request. */
export function auxNetConfig(request: DistillRequest, teacherConfig: ViTConfig | null, imageSize: number, channels: number, numClasses: number): AuxNetConfig {
  // The teacher's shape where it is a ViT of the same input size; otherwise our defaults
  // with a patch that divides the student's images.
  const sameInput = teacherConfig !== null && teacherConfig.imageSize === imageSize;
  const base = sameInput ? teacherConfig : { ...defaultViTConfig(), ...(teacherConfig ? { dim: teacherConfig.dim, heads: teacherConfig.heads, mlpRatio: teacherConfig.mlpRatio } : {}), patchSize: imageSize % 7 === 0 ? 7 : imageSize % 4 === 0 ? 4 : 1 };
  const vit: ViTConfig = {
    ...base,
    imageSize,
    channels,
    depth: request.stages.reduce((a, b) => a + b, 0),
    numClasses,
    pooling: request.aux.pooling ?? 'avg',
    dropPath: request.aux.dropPath ?? 0,
    ...(request.aux.dim !== undefined ? { dim: request.aux.dim } : {}),
    ...(request.aux.heads !== undefined ? { heads: request.aux.heads } : {}),
    ...(request.aux.mlpRatio !== undefined ? { mlpRatio: request.aux.mlpRatio } : {}),
    ...(request.aux.patchSize !== undefined ? { patchSize: request.aux.patchSize } : {}),
  };
  const aux: AuxNetConfig = { kind: request.auxKind, vit, stages: request.stages };
  const issues = validateAuxNetConfig(aux).map((issue) => ({ ...issue, field: issue.field.replace(/^vit\./, 'aux.') }));
  assertValid(issues);
  return aux;
}

/** Student input size/channels/normalization: the teacher's own when it is one of ours, else the data's. */
async function studentPreprocess(opened: OpenedTeacher, request: DistillRequest, data: PreparedData): Promise<Preprocess> {
  const imageSize = request.aux.imageSize ?? data.storedSize ?? 32;
  if (opened.preprocess && opened.preprocess.imageSize === imageSize) return opened.preprocess;
  if (opened.preprocess && request.aux.imageSize === undefined) return opened.preprocess;
  return measurePreprocess(data, imageSize, opened.preprocess?.channels ?? data.channels);
}

export async function runDistill(request: DistillRequest, ctx: JobContext): Promise<DistillResult> {
  const opened = await openTeacher(request.teacher, {
    ...(request.teacherHeads !== undefined ? { heads: request.teacherHeads } : {}),
    ...(request.teacherNormalization !== undefined ? { normalization: request.teacherNormalization } : {}),
  });
  try {
    const data = await prepareData(request.data, request.seed);
    // The student sees the teacher's preprocessing when it can, so both look at the same batch.
    const preprocess = await studentPreprocess(opened, request, data);
    // Our ViT teachers run in onnxruntime (~3× our wasm forward, all cores). Without
    // augmentation an image's teacher logits repeat every epoch: they are cached by dataset
    // index (augmented batches bypass the cache; memory-bounded).
    const teacher = new CachedTeacher(await fastTeacher(await opened.teacherFor(preprocess), (message) => ctx.emit({ type: 'log', level: 'info', message })));
    assertClassesMatch(teacher.numClasses, data, `teacher ${opened.fingerprint.path}`);
    const teacherConfig = opened.model?.network.config ?? null;
    const aux = auxNetConfig(request, teacherConfig, preprocess.imageSize, preprocess.channels, data.classNames.length);
    const loaders = makeLoaders(data, preprocess, request.data, request.optim.batchSize, request.seed);
    const net = createAuxNet(aux, request.seed);
    try {
      const teacherTest = opened.model && loaders.test && opened.preprocess === preprocess ? await evaluate(opened.model.network, loaders.test) : null;
      ctx.emit({
        type: 'log',
        level: 'info',
        message: `distilling ${aux.kind.toUpperCase()} Aux-Net (stages ${aux.stages.join(',')}, dim ${aux.vit.dim}, ${countNetworkParams(net).toLocaleString('en-US')} parameters) from ${opened.fingerprint.path}${teacherTest ? ` (teacher test top-1 ${(teacherTest.top1 * 100).toFixed(2)}%)` : ''}`,
      });
      const phase = await runPhase(ctx, `aux-${aux.kind}`, {
        network: net,
        train: loaders.train,
        val: loaders.val,
        optim: request.optim,
        seed: request.seed,
        teacher,
        distill: request.distill,
      });
      const val = loaders.val ? await evaluate(net, loaders.val) : null;
      const test = loaders.test ? await evaluate(net, loaders.test) : null;
      const learngene = extractLearngene(aux.kind, aux.stages, aux.vit, tensorsFromParams(net.params), request.keepHead);
      const meta: LearngeneMeta = {
        preprocess,
        classNames: data.classNames,
        provenance: {
          createdBy: 'distill',
          createdAt: new Date().toISOString(),
          inputs: { ...datasetInput(data), teacher: { path: opened.fingerprint.path, sha256: opened.fingerprint.sha256, format: opened.fingerprint.format } },
          details: { seed: request.seed, optim: request.optim, distill: request.distill, keepHead: request.keepHead, augment: request.data.augment },
        },
        metrics: { auxVal: val, auxTest: test, teacherTest },
      };
      const file = await saveLearngene(request.out, learngene, meta);
      return {
        kind: 'distill',
        out: request.out,
        file,
        auxKind: aux.kind,
        stages: aux.stages,
        auxConfig: aux.vit,
        learngeneParams: learngeneParamCount(learngene),
        auxParams: countNetworkParams(net),
        teacherParams: opened.model ? countNetworkParams(opened.model.network) : null,
        history: phase.history,
        val,
        test,
        teacherTest,
      };
    } finally {
      disposeParams(net.params);
      await (teacher.inner as { dispose?: () => Promise<void> | void }).dispose?.();
    }
  } finally {
    opened.dispose();
  }
}

/** A descendant as an in-memory network (for compare) plus what grow reports. */
export function growNetwork(loaded: LoadedLearngene, depth: number, numClasses: number, seed: number, layersSource?: number[], sameLabels = true) {
  const grown = growDescendant(loaded.learngene, { depth, layersSource: layersSource ?? [], numClasses, seed, sameLabels });
  const network = new VisionTransformer(grown.config, paramsFromTensors(grown.tensors, vitParamShapes(grown.config), loaded.file));
  return { network, grown };
}

export async function runGrow(request: GrowRequest): Promise<GrowResult> {
  const loaded = await loadLearngene(request.learngene);
  const learngeneClasses = loaded.meta.classNames;
  const numClasses = request.numClasses ?? request.classNames?.length ?? loaded.learngene.config.numClasses;
  if (request.classNames && request.classNames.length !== numClasses) {
    throw new ConfigError([{ field: 'classNames', message: `lists ${request.classNames.length} names for ${numClasses} classes` }]);
  }
  // Named classes keep the head only when they are the learngene's, in its order; a bare
  // count keeps it when it is the learngene's count (the same labels are assumed).
  const classNames = request.classNames
    ?? (numClasses === learngeneClasses.length ? learngeneClasses : Array.from({ length: numClasses }, (_, i) => String(i)));
  const sameLabels = sameLabelSet(learngeneClasses, classNames);
  const { network, grown } = growNetwork(loaded, request.depth, numClasses, request.seed, request.layersSource, sameLabels);
  try {
    const meta: ModelMeta = {
      config: grown.config,
      preprocess: loaded.meta.preprocess,
      classNames,
      provenance: {
        createdBy: 'grow',
        createdAt: new Date().toISOString(),
        inputs: { learngene: { path: loaded.file, sha256: loaded.sha256, format: `learngene-${loaded.learngene.kind}` } },
        details: { depth: request.depth, layersSource: grown.layersSource, stages: loaded.learngene.stages, headFrom: grown.headFrom, seed: request.seed },
      },
    };
    const file = await saveModel(request.out, network, meta);
    return { kind: 'grow', out: request.out, file, depth: request.depth, layersSource: grown.layersSource, headFrom: grown.headFrom, params: countNetworkParams(network), config: grown.config };
  } finally {
    disposeParams(network.params);
  }
}
