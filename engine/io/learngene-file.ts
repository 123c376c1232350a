// Learngene files: safetensors with stage-prefixed timm block names (see sws/learngene.ts).

import { type AuxKind, type ViTConfig, validateStages, validateViTConfig } from '../../shared/config.js';
import type { Preprocess } from '../data/types.js';
import { FormatError } from './errors.js';
import type { Provenance } from './model-file.js';
import { decodeSafetensors, encodeSafetensors } from './safetensors.js';
import { fromStorageLayout, toStorageLayout } from '../model/params.js';
import { LEARNGENE_FORMAT, type Learngene } from '../sws/learngene.js';

export interface LearngeneMeta {
  preprocess: Preprocess;
  classNames: string[];
  provenance: Provenance;
  metrics?: Record<string, unknown>;
}

export function encodeLearngene(learngene: Learngene, meta: LearngeneMeta): Uint8Array {
  return encodeSafetensors(toStorageLayout(learngene.tensors, learngene.config), {
    format: LEARNGENE_FORMAT,
    kind: learngene.kind,
    stages: JSON.stringify(learngene.stages),
    config: JSON.stringify(learngene.config),
    preprocess: JSON.stringify(meta.preprocess),
    classNames: JSON.stringify(meta.classNames),
    provenance: JSON.stringify(meta.provenance),
    ...(meta.metrics ? { metrics: JSON.stringify(meta.metrics) } : {}),
  });
}

function json<T>(metadata: Record<string, string>, key: string, source: string): T {
  if (metadata[key] === undefined) throw new FormatError(source, `__metadata__ has no "${key}"`);
  try {
    return JSON.parse(metadata[key]!) as T;
  } catch (error) {
    throw new FormatError(source, `__metadata__.${key} is not valid JSON (${(error as Error).message})`);
  }
}

export function decodeLearngene(bytes: Uint8Array, source: string): { learngene: Learngene; meta: LearngeneMeta } {
  const file = decodeSafetensors(bytes, source);
  if (file.metadata.format !== LEARNGENE_FORMAT) {
    throw new FormatError(source, `is not a learngene (its __metadata__.format is ${JSON.stringify(file.metadata.format ?? null)}; make one with "learngene distill")`);
  }
  const kind = file.metadata.kind as AuxKind;
  if (kind !== 'sws' && kind !== 'tleg') throw new FormatError(source, `__metadata__.kind must be "sws" or "tleg", got ${JSON.stringify(kind)}`);
  const config = json<ViTConfig>(file.metadata, 'config', source);
  const stages = json<number[]>(file.metadata, 'stages', source);
  const issues = [...validateViTConfig(config, 'config.'), ...validateStages(stages, config.depth)];
  if (issues.length > 0) throw new FormatError(source, `__metadata__ ${issues.map((i) => `${i.field}: ${i.message}`).join('; ')}`);
  return {
    learngene: { kind, stages, config, tensors: fromStorageLayout(file.tensors) },
    meta: {
      preprocess: json<Preprocess>(file.metadata, 'preprocess', source),
      classNames: json<string[]>(file.metadata, 'classNames', source),
      provenance: json<Provenance>(file.metadata, 'provenance', source),
      metrics: file.metadata.metrics ? json<Record<string, unknown>>(file.metadata, 'metrics', source) : undefined,
    },
  };
}
