// `evaluate`: top-1, top-5 and loss of a model on a split, and what explains them — the
// confusion matrix, per-class accuracy / precision / recall, the most confident mistakes
// and a few images per confusion cell. A learngene with a head is evaluated as its
// Aux-Net (the descendant of the Aux-Net's own depth, which is the Aux-Net exactly).

import type { EvaluateRequest } from '../../shared/api.js';
import { ConfigError } from '../../shared/config.js';
import type { EvaluateResult } from '../../shared/results.js';
import type { ImageSource } from '../../engine/data/types.js';
import { EvaluationTally } from '../../engine/train/evaluation.js';
import { evaluate } from '../../engine/train/loop.js';
import { disposeParams } from '../../engine/model/vit.js';
import { loadEvaluable } from '../evaluable.js';
import { assertClassesMatch, dataForModel } from './train-jobs.js';

/** Confusion-cell thumbnails are kept for label sets up to this size. */
const MAX_CLASSES_WITH_EXAMPLES = 100;
const EXAMPLES_PER_CELL = 24;
const DEFAULT_MISTAKES = 20;

/** The index of an image in its split as the dataset lists it (undoing a class subset). */
function datasetIndexOf(source: ImageSource): (index: number) => number {
  const base = (source as ImageSource & { baseIndices?: Int32Array }).baseIndices;
  return base ? (index) => base[index]! : (index) => index;
}

/**
 * Evaluates a model (or a learngene's Aux-Net) on the test or validation split: top-1,
 * top-5 and loss, plus the confusion matrix, per-class accuracy / precision / recall, the
 * most confident mistakes and, for thumbnails, a few dataset indices per confusion cell.
 */
export async function runEvaluate(request: EvaluateRequest): Promise<EvaluateResult> {
  const source = await loadEvaluable(request.model);
  try {
    // The training seed reproduces the training run's validation split.
    const seed = Number(source.meta.provenance.details?.seed ?? 0);
    const { data, loaders } = await dataForModel({ ...request.data, valFraction: request.data.valFraction || 0.1 }, seed, source.meta.preprocess, 256);
    assertClassesMatch(source.network.config.numClasses, data, source.file);
    const useTest = request.split === 'test' && loaders.test !== null;
    const loader = useTest ? loaders.test : loaders.val;
    if (!loader) throw new ConfigError([{ field: 'split', message: `${data.path} has no ${request.split} split and no images left for validation` }]);
    const numClasses = source.network.config.numClasses;
    const tally = new EvaluationTally(numClasses, {
      mistakes: request.mistakes ?? DEFAULT_MISTAKES,
      examplesPerCell: numClasses <= MAX_CLASSES_WITH_EXAMPLES ? EXAMPLES_PER_CELL : 0,
    });
    const toDatasetIndex = datasetIndexOf(useTest ? data.test! : data.train);
    const metrics = await evaluate(source.network, loader, undefined, (logits, batch) => {
      tally.add(logits, batch.labels, Array.from(batch.indices ?? [], toDatasetIndex));
    });
    return {
      kind: 'evaluate',
      ...metrics,
      split: useTest ? 'test' : 'val',
      model: source.file,
      dataset: data.path,
      classNames: data.classNames,
      confusion: tally.confusion(),
      per_class: tally.perClass(data.classNames),
      mistakes: tally.mistakes(data.classNames),
      examples: tally.cellExamples(),
      indexSplit: useTest ? 'test' : 'train',
      ...(request.data.classes ? { classes: request.data.classes } : {}),
    };
  } finally {
    disposeParams(source.network.params);
  }
}
