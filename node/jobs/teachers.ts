// Teachers behind one interface ("images → logits"): a model of ours (trained here, or
// a timm / Hugging Face / torchvision checkpoint imported on the fly) runs in tfjs; any
// ONNX image classifier runs in onnxruntime-node. Both convert the student's batch to
// what the teacher was trained on (size, channels, normalization).

import { promises as fs } from 'node:fs';
import path from 'node:path';
import type { Preprocess } from '../../engine/data/types.js';
import type { Network } from '../../engine/model/vit.js';
import { disposeParams } from '../../engine/model/vit.js';
import type { Teacher } from '../../engine/train/loop.js';
import type { ModelMeta } from '../../engine/io/model-file.js';
import { NetworkTeacher } from '../../engine/train/model-teacher.js';
import type { NormalizationSpec } from '../../engine/data/convert.js';
import { loadAnyModel } from '../import.js';
import { describeOnnx, OnnxTeacher } from '../onnx-teacher.js';

export interface OpenedTeacher {
  kind: 'model' | 'onnx';
  numClasses: number;
  classNames: string[] | null;
  /** What the teacher was trained on, when known (our models; our ONNX exports). */
  preprocess: Preprocess | null;
  /** The teacher as one of our ViTs (teacher-copy needs its blocks; evaluation uses it). */
  model: { network: Network; meta: ModelMeta } | null;
  fingerprint: { path: string; sha256?: string; format: string };
  /** The Teacher to distil from, converting batches made with `student`. */
  teacherFor(student: Preprocess): Promise<Teacher>;
  dispose(): void;
}

async function onnxFileBehind(target: string): Promise<string | null> {
  if (target.endsWith('.onnx')) return target;
  const stat = await fs.stat(target).catch(() => null);
  if (stat?.isDirectory()) {
    const file = path.join(target, 'model.onnx');
    if (await fs.stat(file).then((s) => s.isFile(), () => false)) return file;
  }
  return null;
}

export interface OpenTeacherOptions {
  /** Attention heads of a foreign checkpoint (see `learngene import --heads`). */
  heads?: number;
  /** Normalization an ONNX teacher expects (default: recorded, else ImageNet for RGB). */
  normalization?: NormalizationSpec;
}

export async function openTeacher(teacherPath: string, options: OpenTeacherOptions = {}): Promise<OpenedTeacher> {
  const onnxFile = await onnxFileBehind(teacherPath);
  if (onnxFile) {
    const description = await describeOnnx(onnxFile);
    let opened: OnnxTeacher | null = null;
    return {
      kind: 'onnx',
      numClasses: description.numClasses ?? 0,
      classNames: null,
      preprocess: null,
      model: null,
      fingerprint: { path: onnxFile, format: `onnx (opset ${description.opsets.find((o) => o.domain === '' || o.domain === 'ai.onnx')?.version ?? '?'})` },
      async teacherFor(student) {
        opened ??= await OnnxTeacher.load(onnxFile, student, options.normalization ? { normalization: options.normalization } : {});
        return opened;
      },
      dispose: () => opened?.classifier.dispose(),
    };
  }
  const loaded = await loadAnyModel(teacherPath, options.heads !== undefined ? { heads: options.heads } : {});
  return {
    kind: 'model',
    numClasses: loaded.network.config.numClasses,
    classNames: loaded.meta.classNames,
    preprocess: loaded.meta.preprocess,
    model: { network: loaded.network, meta: loaded.meta },
    fingerprint: { path: loaded.file, sha256: loaded.sha256, format: loaded.naming === 'learngene' ? 'learngene-model' : `${loaded.naming} checkpoint` },
    async teacherFor(student) {
      return new NetworkTeacher(loaded.network, loaded.meta.preprocess, student);
    },
    dispose: () => disposeParams(loaded.network.params),
  };
}
