// `evaluate`: top-1, top-5 and loss of a model on a split, and what explains them — the
// confusion matrix, per-class accuracy / precision / recall, the most confident mistakes
// and a few images per confusion cell. A learngene with a head is evaluated as its
// Aux-Net (the descendant of the Aux-Net's own depth, which is the Aux-Net exactly); an
// ONNX file runs in onnxruntime as it is.

import type { EvaluateRequest } from '../../shared/api.js';
import { ConfigError } from '../../shared/config.js';
import type { EvaluateResult } from '../../shared/results.js';
import type { Batch, ImageSource, Preprocess } from '../../engine/data/types.js';
import type { BatchLoader } from '../../engine/data/pipeline.js';
import type { EvalMetrics } from '../../shared/events.js';
import type { Provenance } from '../../engine/io/model-file.js';
import { FormatError } from '../../engine/io/errors.js';
import { evaluateLogits } from '../export/onnx-eval.js';
import { OnnxClassifier, ONNX_METADATA_PREFIX } from '../onnx-teacher.js';
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

/** What is evaluated: how its images are prepared and how a batch becomes metrics. */
interface Evaluated {
  file: string;
  numClasses: number;
  preprocess: Preprocess;
  /** The seed of the training run (its validation split is reproduced). */
  seed: number;
  run(loader: BatchLoader, observe: (logits: Float32Array, batch: Batch) => void): Promise<EvalMetrics>;
}

/** The provenance of the model an ONNX export of ours was made from. */
function recordedSourceProvenance(metadata: Record<string, string>): Provenance | undefined {
  try {
    const exported = JSON.parse(metadata[ONNX_METADATA_PREFIX + 'provenance'] ?? 'null') as Provenance | null;
    return exported?.details?.sourceProvenance as Provenance | undefined;
  } catch {
    return undefined;
  }
}

/**
 * Evaluates a model (or a learngene's Aux-Net, or an ONNX file — ours, float or int8, or
 * another square NCHW classifier — in onnxruntime) on the test or validation split: top-1,
 * top-5 and loss, plus the confusion matrix, per-class accuracy / precision / recall, the
 * most confident mistakes and, for thumbnails, a few dataset indices per confusion cell.
 */
export async function runEvaluate(request: EvaluateRequest): Promise<EvaluateResult> {
  if (request.model.endsWith('.onnx')) {
    const classifier = await OnnxClassifier.load(request.model);
    try {
      const preprocess = classifier.preprocess;
      if (!preprocess || classifier.input.layout !== 'NCHW') throw new FormatError(request.model, 'takes non-square or NHWC images; evaluate runs square NCHW classifiers');
      return await explain(request, {
        file: request.model,
        numClasses: classifier.numClasses,
        preprocess,
        seed: Number(recordedSourceProvenance(classifier.description.metadata)?.details?.seed ?? 0),
        run: (loader, observe) => evaluateLogits(loader, classifier.numClasses, (batch) => classifier.run(batch.images, batch.size), observe),
      });
    } finally {
      await classifier.dispose();
    }
  }
  const source = await loadEvaluable(request.model);
  try {
    return await explain(request, {
      file: source.file,
      numClasses: source.network.config.numClasses,
      preprocess: source.meta.preprocess,
      seed: Number(source.meta.provenance.details?.seed ?? 0),
      run: (loader, observe) => evaluate(source.network, loader, undefined, observe),
    });
  } finally {
    disposeParams(source.network.params);
  }
}

async function explain(request: EvaluateRequest, model: Evaluated): Promise<EvaluateResult> {
  const { data, loaders } = await dataForModel({ ...request.data, valFraction: request.data.valFraction || 0.1 }, model.seed, model.preprocess, 256);
  assertClassesMatch(model.numClasses, data, model.file);
  const useTest = request.split === 'test' && loaders.test !== null;
  const loader = useTest ? loaders.test : loaders.val;
  if (!loader) throw new ConfigError([{ field: 'split', message: `${data.path} has no ${request.split} split and no images left for validation` }]);
  const tally = new EvaluationTally(model.numClasses, {
    mistakes: request.mistakes ?? DEFAULT_MISTAKES,
    examplesPerCell: model.numClasses <= MAX_CLASSES_WITH_EXAMPLES ? EXAMPLES_PER_CELL : 0,
  });
  const toDatasetIndex = datasetIndexOf(useTest ? data.test! : data.train);
  const metrics = await model.run(loader, (logits, batch) => tally.add(logits, batch.labels, Array.from(batch.indices ?? [], toDatasetIndex)));
  return {
    kind: 'evaluate',
    ...metrics,
    split: useTest ? 'test' : 'val',
    model: model.file,
    dataset: data.path,
    classNames: data.classNames,
    confusion: tally.confusion(),
    per_class: tally.perClass(data.classNames),
    mistakes: tally.mistakes(data.classNames),
    examples: tally.cellExamples(),
    indexSplit: useTest ? 'test' : 'train',
    ...(request.data.classes ? { classes: request.data.classes } : {}),
  };
}
