// What `evaluate` and `predict` accept as a model: our model files, foreign checkpoints
// (imported on the fly), and learngenes with a head, taken as their Aux-Net — the
// descendant of the Aux-Net's own depth and layer → stage map, which computes exactly
// what the Aux-Net computed (SWS: each layer its stage's block; TLEG: θA + i/L·θB).

import { ConfigError } from '../shared/config.js';
import { fromStorageLayout, toStorageLayout } from '../engine/model/params.js';
import { paramsFromTensors, VisionTransformer, vitParamShapes } from '../engine/model/vit.js';
import { growDescendant } from '../engine/sws/learngene.js';
import { stageOfLayer } from '../engine/sws/layers-source.js';
import { readAnyModel, type ModelSource } from './import.js';
import type { LoadedModel } from './model-store.js';
import { learngeneBehind, loadLearngene } from './jobs/sws-jobs.js';

/** A model's tensors (timm layout) and metadata; a learngene as its Aux-Net. */
export async function readEvaluable(target: string): Promise<ModelSource> {
  if (!(await learngeneBehind(target))) return readAnyModel(target);
  const loaded = await loadLearngene(target);
  const { learngene, meta } = loaded;
  if (!learngene.tensors.has('head.weight')) {
    throw new ConfigError([{ field: 'model', message: `${loaded.file} is a learngene without a head (distilled with --no-head): grow and fine-tune a descendant to evaluate it` }]);
  }
  const { config } = learngene;
  const grown = growDescendant(learngene, {
    depth: config.depth,
    layersSource: learngene.kind === 'sws' ? stageOfLayer(learngene.stages) : [],
    numClasses: config.numClasses,
    seed: 0,
  });
  return {
    storage: toStorageLayout(grown.tensors, grown.config),
    meta: { config: grown.config, preprocess: meta.preprocess, classNames: meta.classNames, provenance: meta.provenance },
    file: loaded.file,
    sha256: loaded.sha256,
    naming: 'learngene',
    notes: [`the ${learngene.kind.toUpperCase()} Aux-Net of this learngene (stages ${learngene.stages.join(',')})`],
  };
}

/** As readEvaluable, as a network (needs an initialized tfjs backend: the result holds variables). */
export async function loadEvaluable(target: string): Promise<LoadedModel> {
  const source = await readEvaluable(target);
  const { config } = source.meta;
  const params = paramsFromTensors(fromStorageLayout(source.storage), vitParamShapes(config), source.file);
  return { network: new VisionTransformer(config, params), meta: source.meta, file: source.file, sha256: source.sha256 };
}
