// Learngenes: what an Aux-Net hands down, and how descendants are grown from it.
//
// File layout (safetensors, timm block names under a stage prefix):
//   stages.{s}.norm1.weight, stages.{s}.attn.qkv.weight, ... (SWS: one block per stage)
//   theta_a.*, theta_b.*                                      (TLEG: the two parameter sets)
//   patch_embed.proj.{weight,bias}, pos_embed, [cls_token], norm.{weight,bias}, [head.*]
// `norm` is the Aux-Net's final LayerNorm whatever the pooling (fc_norm for 'avg').
// __metadata__: format "learngene", kind, stages, config (the Aux-Net ViTConfig),
// provenance (teacher, dataset), metrics, preprocess and class names.

import { type AuxKind, type ViTConfig, ConfigError, validateLayersSource } from '../../shared/config.js';
import type { NamedTensor, TensorMap } from '../io/safetensors.js';
import { blockParamShapes, initialValue, stemParamShapes } from '../model/vit.js';
import { stagePrefix, TLEG_A, TLEG_B } from './auxnet.js';
import { resolveLayersSource } from './layers-source.js';

export const LEARNGENE_FORMAT = 'learngene';

export interface Learngene {
  kind: AuxKind;
  /** Layers per stage in the Aux-Net it came from (TLEG: [L]). */
  stages: number[];
  /** The Aux-Net's config (depth = sum of stages). */
  config: ViTConfig;
  /** Memory-layout tensors named as in the file (final norm as `norm.*`). */
  tensors: TensorMap;
}

function finalNormName(config: ViTConfig): 'norm' | 'fc_norm' {
  return config.pooling === 'cls' ? 'norm' : 'fc_norm';
}

/**
 * Cuts the learngene out of a trained Aux-Net's tensors (memory layout).
 * The head is kept only when asked (descendants with the same label set).
 */
export function extractLearngene(
  kind: AuxKind,
  stages: number[],
  config: ViTConfig,
  auxTensors: TensorMap,
  keepHead: boolean,
): Learngene {
  const tensors: TensorMap = new Map();
  const take = (from: string, to = from) => {
    const t = auxTensors.get(from);
    if (!t) throw new Error(`Aux-Net has no "${from}"`);
    tensors.set(to, { shape: t.shape.slice(), data: t.data.slice() });
  };
  take('patch_embed.proj.weight');
  take('patch_embed.proj.bias');
  take('pos_embed');
  if (config.pooling === 'cls') take('cls_token');
  take(`${finalNormName(config)}.weight`, 'norm.weight');
  take(`${finalNormName(config)}.bias`, 'norm.bias');
  if (keepHead) {
    take('head.weight');
    take('head.bias');
  }
  const prefixes = kind === 'sws' ? stages.map((_, s) => stagePrefix(s)) : [TLEG_A, TLEG_B];
  for (const prefix of prefixes) {
    for (const name of blockParamShapes(config).keys()) take(prefix + name);
  }
  return { kind, stages: stages.slice(), config, tensors };
}

/** How a descendant is initialized from a source of blocks. */
export interface GrowPlan {
  depth: number;
  /** SWS: layer → stage; TLEG: unused (layer i uses θA + i/D·θB). */
  layersSource: number[];
  numClasses: number;
  /** Seed for the fresh head (when the label set differs or no head was kept). */
  seed: number;
  /** The descendant keeps the learngene's label set (default true): only then is its head copied. */
  sameLabels?: boolean;
}

/**
 * Whether a head trained on `source` classes can be kept for `target` ones: the same
 * names in the same order. Equal counts are not enough: classes 0–4 → 5–9 of a dataset
 * is a new label set and gets a fresh head.
 */
export function sameLabelSet(source: readonly string[], target: readonly string[]): boolean {
  return source.length === target.length && source.every((name, i) => name === target[i]);
}

/** The descendant's config: the Aux-Net's shape at a new depth and class count. */
export function descendantConfig(config: ViTConfig, depth: number, numClasses: number): ViTConfig {
  return { ...config, depth, numClasses };
}

function copy(t: NamedTensor): NamedTensor {
  return { shape: t.shape.slice(), data: t.data.slice() };
}

/**
 * Grows a Des-Net of `depth` layers: SWS layer i is a verbatim copy of stage
 * layersSource[i]; TLEG layer i is θA + (i/D)·θB. The stem is copied; the learngene's
 * `norm` becomes the descendant's final norm; the head is copied when the learngene has
 * one for the same label set (`sameLabels`, and the same number of classes), otherwise
 * freshly initialized.
 * Returns memory-layout tensors of a plain ViT (`blocks.{i}.*`).
 */
export function growDescendant(learngene: Learngene, plan: GrowPlan): { config: ViTConfig; tensors: TensorMap; headFrom: 'learngene' | 'fresh'; layersSource: number[] } {
  const { kind, stages, tensors: lg } = learngene;
  const config = descendantConfig(learngene.config, plan.depth, plan.numClasses);
  const layersSource = kind === 'sws' ? resolveLayersSource(stages, plan.depth, plan.layersSource.length ? plan.layersSource : undefined) : [];
  if (kind === 'sws') {
    const issues = validateLayersSource(layersSource, stages.length, plan.depth);
    if (issues.length > 0) throw new ConfigError(issues);
  }
  const out: TensorMap = new Map();
  const get = (name: string): NamedTensor => {
    const t = lg.get(name);
    if (!t) throw new Error(`learngene has no "${name}"`);
    return t;
  };
  for (const name of ['patch_embed.proj.weight', 'patch_embed.proj.bias', 'pos_embed', ...(config.pooling === 'cls' ? ['cls_token'] : [])]) {
    out.set(name, copy(get(name)));
  }
  const norm = finalNormName(config);
  out.set(`${norm}.weight`, copy(get('norm.weight')));
  out.set(`${norm}.bias`, copy(get('norm.bias')));
  const blockNames = [...blockParamShapes(config).keys()];
  for (let i = 0; i < plan.depth; i++) {
    for (const name of blockNames) {
      if (kind === 'sws') {
        out.set(`blocks.${i}.${name}`, copy(get(stagePrefix(layersSource[i]!) + name)));
      } else {
        const a = get(TLEG_A + name);
        const b = get(TLEG_B + name);
        // float32 at every step, as the Aux-Net computes θA + ratio·θB in tfjs, so a
        // descendant of the Aux-Net's depth reproduces it bit for bit.
        const ratio = Math.fround(i / plan.depth);
        const data = new Float32Array(a.data.length);
        for (let j = 0; j < data.length; j++) data[j] = Math.fround(a.data[j]! + Math.fround(ratio * b.data[j]!));
        out.set(`blocks.${i}.${name}`, { shape: a.shape.slice(), data });
      }
    }
  }
  const head = lg.get('head.weight');
  let headFrom: 'learngene' | 'fresh' = 'fresh';
  if (head && head.shape[1] === plan.numClasses && plan.sameLabels !== false) {
    out.set('head.weight', copy(head));
    out.set('head.bias', copy(get('head.bias')));
    headFrom = 'learngene';
  } else {
    const shapes = stemParamShapes(config);
    const patchFanIn = config.channels * config.patchSize * config.patchSize;
    for (const name of ['head.weight', 'head.bias']) {
      const shape = shapes.get(name)!;
      out.set(name, { shape, data: initialValue(name, shape, plan.seed, patchFanIn) });
    }
  }
  return { config, tensors: out, headFrom, layersSource };
}

/**
 * The teacher-copy baseline: a descendant whose layers are copies of the teacher's.
 * 'first' takes blocks 0..D-1; 'spread' takes D blocks evenly spaced over the teacher.
 */
export function teacherCopyTensors(
  teacherConfig: ViTConfig,
  teacherTensors: TensorMap,
  depth: number,
  numClasses: number,
  seed: number,
  pick: 'first' | 'spread' = 'first',
): { config: ViTConfig; tensors: TensorMap; layers: number[] } {
  if (depth > teacherConfig.depth) {
    throw new ConfigError([{ field: 'depth', message: `teacher-copy needs depth ≤ the teacher's ${teacherConfig.depth} layers, got ${depth}` }]);
  }
  const layers = pick === 'first'
    ? Array.from({ length: depth }, (_, i) => i)
    : Array.from({ length: depth }, (_, i) => (depth === 1 ? 0 : Math.round((i * (teacherConfig.depth - 1)) / (depth - 1))));
  const config = descendantConfig(teacherConfig, depth, numClasses);
  const out: TensorMap = new Map();
  for (const [name, t] of teacherTensors) {
    const block = /^blocks\.(\d+)\.(.*)$/.exec(name);
    if (block) continue;
    if (name.startsWith('head.')) continue;
    out.set(name, copy(t));
  }
  const blockNames = [...blockParamShapes(config).keys()];
  layers.forEach((source, i) => {
    for (const name of blockNames) {
      const t = teacherTensors.get(`blocks.${source}.${name}`);
      if (!t) throw new Error(`teacher has no "blocks.${source}.${name}"`);
      out.set(`blocks.${i}.${name}`, copy(t));
    }
  });
  const teacherHead = teacherTensors.get('head.weight');
  const patchFanIn = config.channels * config.patchSize * config.patchSize;
  if (teacherHead && teacherHead.shape[1] === numClasses) {
    out.set('head.weight', copy(teacherHead));
    out.set('head.bias', copy(teacherTensors.get('head.bias')!));
  } else {
    const shapes = stemParamShapes(config);
    for (const name of ['head.weight', 'head.bias']) {
      out.set(name, { shape: shapes.get(name)!, data: initialValue(name, shapes.get(name)!, seed, patchFanIn) });
    }
  }
  return { config, tensors: out, layers };
}

/** Parameters stored in a learngene (what must be kept to grow every size). */
export function learngeneParamCount(learngene: Learngene): number {
  let total = 0;
  for (const t of learngene.tensors.values()) total += t.data.length;
  return total;
}
