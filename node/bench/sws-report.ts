// The pure half of `npm run bench:sws` (bench/sws.mjs): from measured trials to rows with
// seed means and 95% intervals, paired differences, the measured training-cost ratio,
// ablation rows, the acceptance checks and the paper-claims verdicts, and the report
// (JSON shape, Markdown, SVG charts). No training, no files: the script measures, this
// module does arithmetic and text; test/node/bench/sws-report.test.ts checks it on
// synthetic numbers.

import { bestTrial, isInterior, meanCi95, pairedDifference } from './sws-stats.js';

export type BenchSetting = 'same-labels' | 'few-images';
export type BenchTeacher = 'cnn-onnx' | 'vit';
export type BenchMethod = 'sws' | 'scratch' | 'tleg' | 'teacher-copy';
export type Metric = 'top1_1ep' | 'top1_final';
export const METHODS: readonly BenchMethod[] = ['sws', 'teacher-copy', 'tleg', 'scratch'];
export const SETTINGS: readonly BenchSetting[] = ['same-labels', 'few-images'];
export const TEACHERS: readonly BenchTeacher[] = ['cnn-onnx', 'vit'];

// ------------------------------------------------------------------ cells and rows

/** One learning-rate trial of the search (seed 0, validation read once at the end). */
export interface LrTrialRecord {
  lr: number;
  /** Validation top-1 (fraction); 0 when the run diverged. */
  val: number;
  diverged: boolean;
  trainSeconds: number;
  images: number;
}

/** One final model: the chosen lr at one seed, its validation and its two test reads. */
export interface SeedRun {
  seed: number;
  val: number;
  /** Test top-1 of the weights after epoch 1 and at the end (the only test reads). */
  test1ep: number;
  testFinal: number;
  trainSeconds: number;
  images: number;
}

/**
 * What the bench measured for one (setting, teacher, method, depth): the lr search on
 * seed 0 and the final models at every seed. Scratch does not depend on the teacher: one
 * scratch cell serves both teachers (teacher null).
 */
export interface CellRecord {
  setting: BenchSetting;
  teacher: BenchTeacher | null;
  method: BenchMethod;
  depth: number;
  params: number;
  epochs: number;
  /** Fine-tuning images per epoch. */
  trainImages: number;
  flopsPerImage: number;
  head: 'inherited' | 'fresh';
  layersSource?: number[];
  lrCentre: number;
  trials: LrTrialRecord[];
  seedRuns: SeedRun[];
}

/** A row of the JSON: one method at one depth for one teacher, over seeds. */
export interface BenchRow {
  setting: BenchSetting;
  teacher: BenchTeacher;
  depth: number;
  method: BenchMethod;
  params: number;
  /** Seed means (kept under the names of the single-seed report). */
  top1_1ep: number;
  top1_final: number;
  top1_1ep_mean: number;
  top1_1ep_ci95: [number, number];
  top1_final_mean: number;
  top1_final_ci95: [number, number];
  val_top1_mean: number;
  seedRuns: SeedRun[];
  /** The chosen learning rate (also under its old name). */
  lr: number;
  lr_grid: number[];
  lr_chosen: number;
  lr_chosen_on: 'val';
  lr_interior: boolean;
  lr_trials: LrTrialRecord[];
  epochs: number;
  trainImages: number;
  head: 'inherited' | 'fresh';
  layersSource?: number[];
  /** Images, FLOPs and mean training seconds of one final run. */
  images: number;
  flops: number;
  seconds: number;
  /** Runs of the cell (search + extra seeds) and their training seconds. */
  runs: number;
  secondsAllRuns: number;
  /** True for scratch: the same runs are listed under both teachers. */
  sharedAcrossTeachers: boolean;
}

/** A row for `teacher`; `shared`: the cell's runs are listed under more than one teacher (scratch). */
export function rowFromCell(cell: CellRecord, teacher: BenchTeacher, shared = false): BenchRow {
  if (cell.seedRuns.length === 0) throw new RangeError(`${cell.method} d${cell.depth}: no final runs`);
  const chosen = bestTrial(cell.trials);
  const grid = [...new Set(cell.trials.map((t) => t.lr))].sort((a, b) => a - b);
  const first = meanCi95(cell.seedRuns.map((s) => s.test1ep));
  const final = meanCi95(cell.seedRuns.map((s) => s.testFinal));
  const images = cell.seedRuns[0]!.images;
  const extraSeeds = cell.seedRuns.filter((s) => s.seed !== cell.seedRuns[0]!.seed);
  return {
    setting: cell.setting,
    teacher,
    depth: cell.depth,
    method: cell.method,
    params: cell.params,
    top1_1ep: first.mean,
    top1_final: final.mean,
    top1_1ep_mean: first.mean,
    top1_1ep_ci95: first.ci95,
    top1_final_mean: final.mean,
    top1_final_ci95: final.ci95,
    val_top1_mean: meanCi95(cell.seedRuns.map((s) => s.val)).mean,
    seedRuns: cell.seedRuns,
    lr: chosen.lr,
    lr_grid: grid,
    lr_chosen: chosen.lr,
    lr_chosen_on: 'val',
    lr_interior: isInterior(chosen.lr, grid),
    lr_trials: cell.trials,
    epochs: cell.epochs,
    trainImages: cell.trainImages,
    head: cell.head,
    ...(cell.layersSource ? { layersSource: cell.layersSource } : {}),
    images,
    flops: images * cell.flopsPerImage,
    seconds: cell.seedRuns.reduce((a, s) => a + s.trainSeconds, 0) / cell.seedRuns.length,
    runs: cell.trials.length + extraSeeds.length,
    secondsAllRuns: cell.trials.reduce((a, t) => a + t.trainSeconds, 0) + extraSeeds.reduce((a, s) => a + s.trainSeconds, 0),
    sharedAcrossTeachers: shared,
  };
}

// ------------------------------------------------------------------ paired differences

export interface Comparison {
  setting: BenchSetting;
  teacher: BenchTeacher;
  depth: number;
  /** a − b, in top-1 fraction. */
  a: BenchMethod;
  b: BenchMethod;
  metric: Metric;
  mean: number;
  ci95: [number, number];
  n: number;
  /** The interval excludes 0. */
  called: boolean;
  sign: -1 | 0 | 1;
}

const seedValue = (run: SeedRun, metric: Metric) => (metric === 'top1_1ep' ? run.test1ep : run.testFinal);

/** a − b over the seeds both rows have (paired: same seed, same fine-tuning images and order). */
export function compareRows(a: BenchRow, b: BenchRow, metric: Metric): Omit<Comparison, 'setting' | 'teacher' | 'depth' | 'a' | 'b' | 'metric'> {
  const seeds = a.seedRuns.map((s) => s.seed).filter((seed) => b.seedRuns.some((t) => t.seed === seed));
  const pick = (row: BenchRow) => seeds.map((seed) => seedValue(row.seedRuns.find((s) => s.seed === seed)!, metric));
  const d = pairedDifference(pick(a), pick(b));
  return { mean: d.mean, ci95: d.ci95, n: d.n, called: d.called, sign: d.sign };
}

/** SWS against every other method, per setting, teacher and depth, after 1 epoch and at the end. */
export function comparisons(rows: readonly BenchRow[]): Comparison[] {
  const out: Comparison[] = [];
  for (const sws of rows.filter((r) => r.method === 'sws')) {
    for (const other of rows.filter((r) => r.method !== 'sws' && r.setting === sws.setting && r.teacher === sws.teacher && r.depth === sws.depth)) {
      for (const metric of ['top1_1ep', 'top1_final'] as const) {
        out.push({ setting: sws.setting, teacher: sws.teacher, depth: sws.depth, a: 'sws', b: other.method, metric, ...compareRows(sws, other, metric) });
      }
    }
  }
  return out;
}

// ------------------------------------------------------------------ measured cost

export interface PhaseCost {
  flops: number;
  seconds: number;
}

/** A long scratch run validated every 1/evalsPerEpoch epoch, stopped at the SWS target. */
export interface ScratchToTargetRun {
  lr: number;
  target: number;
  capEpochs: number;
  evalsPerEpoch: number;
  imagesPerEval: number;
  top1ByEval: number[];
  trainSecondsByEval: number[];
}

export interface CostSizeInput {
  depth: number;
  params: number;
  flopsPerImage: number;
  /** The SWS descendant (seed 0, chosen or nearest-depth lr): its validation top-1 is the target. */
  sws: { lr: number; val: number; images: number; trainSeconds: number };
  scratch: ScratchToTargetRun;
}

export interface CostSize {
  depth: number;
  params: number;
  swsLr: number;
  target: number;
  swsImages: number;
  swsFlops: number;
  swsSeconds: number;
  scratchLr: number;
  top1ByEval: number[];
  evalsPerEpoch: number;
  /** Epochs the scratch run was allowed (its cosine spans them). */
  capEpochs: number;
  /** Images in one epoch of the training pool. */
  poolImages: number;
  /** Epochs of the training pool scratch needed (null: not within the cap). */
  reachedAtEpochs: number | null;
  scratchImages: number;
  scratchFlops: number;
  scratchSeconds: number;
  /** Scratch never reached the target: its cost is a lower bound. */
  lowerBound: boolean;
  /** Best validation top-1 scratch reached. */
  scratchBest: number;
}

export function costSize(input: CostSizeInput): CostSize {
  const s = input.scratch;
  const index = s.top1ByEval.findIndex((top1) => top1 >= s.target);
  const evals = index >= 0 ? index + 1 : s.top1ByEval.length;
  const images = evals * s.imagesPerEval;
  return {
    depth: input.depth,
    params: input.params,
    swsLr: input.sws.lr,
    target: s.target,
    swsImages: input.sws.images,
    swsFlops: input.sws.images * input.flopsPerImage,
    swsSeconds: input.sws.trainSeconds,
    scratchLr: s.lr,
    top1ByEval: s.top1ByEval.slice(),
    evalsPerEpoch: s.evalsPerEpoch,
    capEpochs: s.capEpochs,
    poolImages: s.imagesPerEval * s.evalsPerEpoch,
    reachedAtEpochs: index >= 0 ? (index + 1) / s.evalsPerEpoch : null,
    scratchImages: images,
    scratchFlops: images * input.flopsPerImage,
    scratchSeconds: s.trainSecondsByEval.slice(0, evals).reduce((a, b) => a + b, 0),
    lowerBound: index < 0,
    scratchBest: s.top1ByEval.length ? Math.max(...s.top1ByEval) : NaN,
  };
}

/**
 * How good a scratch run is for the learning-rate choice of the cost experiment (higher is
 * better): a run that reached the target scores above any that did not, fewer images to
 * the target first, then the higher top-1 where it got there; a run that did not reach it
 * scores its best top-1.
 */
export function scratchRunScore(size: CostSize): number {
  if (size.lowerBound) return size.scratchBest;
  const atReach = size.top1ByEval[Math.round(size.reachedAtEpochs! * size.evalsPerEpoch) - 1]!;
  return 2 - size.scratchImages / (size.capEpochs * size.poolImages) + atReach / 1000;
}

export interface MeasuredCost {
  teacher: BenchTeacher;
  depths: number[];
  sizes: CostSize[];
  /** Aux-Net distillation (the learngene), the teacher's own training. */
  learngene: PhaseCost;
  teacherTraining: PhaseCost;
  learngeneParams: number;
  finetune: PhaseCost;
  scratch: PhaseCost & { lowerBound: boolean };
  /** scratch / (learngene + every fine-tune), FLOPs and wall time; "≥" when lowerBound. */
  costRatio: number;
  wallRatio: number;
  costRatioWithTeacher: number;
  wallRatioWithTeacher: number;
  /** Pre-training alone: scratch to target over every size / the learngene. */
  pretrainRatio: number;
  pretrainRatioWithTeacher: number;
  lowerBound: boolean;
  /** One learngene against every measured size stored separately (parameters of the grown networks). */
  storedParams: { learngene: number; separate: number; ratio: number; sizes: number };
  /** The FLOPs ratio had the user needed only the k smallest sizes. */
  bySizes: { k: number; costRatio: number; costRatioWithTeacher: number }[];
  /** Sizes after which the learngene pays for itself in FLOPs (null: fine-tuning is not cheaper per size). */
  breakEvenSizes: number | null;
  breakEvenSizesWithTeacher: number | null;
}

export function measuredCost(input: { teacher: BenchTeacher; learngene: PhaseCost; teacherTraining: PhaseCost; learngeneParams: number; sizes: CostSize[] }): MeasuredCost {
  const sizes = [...input.sizes].sort((a, b) => a.depth - b.depth);
  const sum = (f: (s: CostSize) => number, upTo = sizes.length) => sizes.slice(0, upTo).reduce((a, s) => a + f(s), 0);
  const finetune = { flops: sum((s) => s.swsFlops), seconds: sum((s) => s.swsSeconds) };
  const lowerBound = sizes.some((s) => s.lowerBound);
  const scratch = { flops: sum((s) => s.scratchFlops), seconds: sum((s) => s.scratchSeconds), lowerBound };
  const { learngene, teacherTraining } = input;
  const saving = (scratch.flops - finetune.flops) / sizes.length;
  return {
    teacher: input.teacher,
    depths: sizes.map((s) => s.depth),
    sizes,
    learngene,
    teacherTraining,
    learngeneParams: input.learngeneParams,
    finetune,
    scratch,
    costRatio: scratch.flops / (learngene.flops + finetune.flops),
    wallRatio: scratch.seconds / (learngene.seconds + finetune.seconds),
    costRatioWithTeacher: scratch.flops / (learngene.flops + teacherTraining.flops + finetune.flops),
    wallRatioWithTeacher: scratch.seconds / (learngene.seconds + teacherTraining.seconds + finetune.seconds),
    pretrainRatio: scratch.flops / learngene.flops,
    pretrainRatioWithTeacher: scratch.flops / (learngene.flops + teacherTraining.flops),
    lowerBound,
    storedParams: { learngene: input.learngeneParams, separate: sum((s) => s.params), ratio: sum((s) => s.params) / input.learngeneParams, sizes: sizes.length },
    bySizes: sizes.map((_, i) => ({
      k: i + 1,
      costRatio: sum((s) => s.scratchFlops, i + 1) / (learngene.flops + sum((s) => s.swsFlops, i + 1)),
      costRatioWithTeacher: sum((s) => s.scratchFlops, i + 1) / (learngene.flops + teacherTraining.flops + sum((s) => s.swsFlops, i + 1)),
    })),
    breakEvenSizes: saving > 0 ? learngene.flops / saving : null,
    breakEvenSizesWithTeacher: saving > 0 ? (learngene.flops + teacherTraining.flops) / saving : null,
  };
}

// ------------------------------------------------------------------ ablations

export interface AblationRecord {
  /** e.g. "stages 1,2,3,2"; the reference is the main learngene's recipe. */
  variant: string;
  changed: 'reference' | 'stages' | 'alpha' | 'tau';
  teacher: BenchTeacher;
  stages: number[];
  alpha: number;
  tau: number;
  depth: number;
  lr: number;
  auxVal: number | null;
  learngeneParams: number;
  distill: PhaseCost;
  seedRuns: SeedRun[];
}

export interface AblationRow extends Omit<AblationRecord, 'seedRuns'> {
  top1_1ep_mean: number;
  top1_1ep_ci95: [number, number];
  top1_final_mean: number;
  top1_final_ci95: [number, number];
  seedRuns: SeedRun[];
  /** This variant − the reference (paired by seed); null for the reference. */
  vsReference: { top1_1ep: ReturnType<typeof pairedDifference>; top1_final: ReturnType<typeof pairedDifference> } | null;
}

export function ablationRows(records: readonly AblationRecord[]): AblationRow[] {
  return records.map((record) => {
    const reference = records.find((r) => r.changed === 'reference' && r.depth === record.depth && r.teacher === record.teacher);
    const paired = (metric: Metric) => {
      const seeds = record.seedRuns.map((s) => s.seed).filter((seed) => reference!.seedRuns.some((t) => t.seed === seed));
      const pick = (runs: SeedRun[]) => seeds.map((seed) => seedValue(runs.find((s) => s.seed === seed)!, metric));
      return pairedDifference(pick(record.seedRuns), pick(reference!.seedRuns));
    };
    const first = meanCi95(record.seedRuns.map((s) => s.test1ep));
    const final = meanCi95(record.seedRuns.map((s) => s.testFinal));
    return {
      ...record,
      top1_1ep_mean: first.mean,
      top1_1ep_ci95: first.ci95,
      top1_final_mean: final.mean,
      top1_final_ci95: final.ci95,
      vsReference: record.changed === 'reference' || !reference ? null : { top1_1ep: paired('top1_1ep'), top1_final: paired('top1_final') },
    };
  });
}

// ------------------------------------------------------------------ acceptance and claims

export interface AcceptanceCheck {
  id: string;
  text: string;
  pass: boolean;
  detail: string;
}

const pts = (x: number) => `${x >= 0 ? '+' : ''}${(x * 100).toFixed(2)}`;
const interval = (ci: [number, number]) => (Number.isFinite(ci[0]) ? `[${pts(ci[0])}, ${pts(ci[1])}]` : '[—]');

/** The issue's "what it must show", checked on the result. */
export function acceptance(r: Pick<SwsBenchResult, 'seeds' | 'rows' | 'comparisons' | 'sizes_measured' | 'ablations'>): AcceptanceCheck[] {
  const checks: AcceptanceCheck[] = [];
  checks.push({ id: 'seeds', text: '≥ 3 seeds per cell', pass: r.seeds.length >= 3 && r.rows.every((row) => row.seedRuns.length >= 3), detail: `seeds ${r.seeds.join(', ')}; fewest final runs in a row: ${Math.min(...r.rows.map((row) => row.seedRuns.length))}` });
  for (const teacher of TEACHERS) {
    const ms = r.comparisons.filter((c) => c.setting === 'same-labels' && c.teacher === teacher && c.b === 'scratch' && c.metric === 'top1_1ep').sort((a, b) => a.depth - b.depth);
    checks.push({
      id: `${teacher}:sws-vs-scratch-1ep`,
      text: `teacher ${teacher}: SWS − scratch after 1 epoch ≥ +5 points with a 95% interval excluding 0, at every depth`,
      pass: ms.length > 0 && ms.every((c) => c.mean >= 0.05 && c.called && c.sign > 0),
      detail: ms.length ? ms.map((c) => `d${c.depth} ${pts(c.mean)} ${interval(c.ci95)}`).join('; ') : 'no rows',
    });
  }
  const edge = r.rows.filter((row) => !row.lr_interior);
  const cells = new Set(r.rows.map((row) => `${row.setting}/${row.sharedAcrossTeachers ? 'shared' : row.teacher}/${row.method}/d${row.depth}`));
  checks.push({
    id: 'lr-interior',
    text: 'every chosen learning rate is interior to its grid (chosen on the validation split)',
    pass: edge.length === 0 && r.rows.every((row) => row.lr_chosen_on === 'val'),
    detail: edge.length === 0 ? `${cells.size} searches, all interior` : `at an edge: ${[...new Set(edge.map((row) => `${row.setting} ${row.teacher} ${row.method} d${row.depth} (lr ${row.lr_chosen} of ${row.lr_grid.join(', ')})`))].join('; ')}`,
  });
  checks.push({ id: 'teacher-cnn', text: 'a teacher of another family (CNN, ONNX) has rows', pass: r.rows.some((row) => row.teacher === 'cnn-onnx' && row.method === 'sws'), detail: `${r.rows.filter((row) => row.teacher === 'cnn-onnx').length} rows` });
  checks.push({ id: 'sizes-measured', text: 'training cost measured over ≥ 10 sizes', pass: r.sizes_measured >= 10, detail: `${r.sizes_measured} sizes` });
  const changed = new Set(r.ablations.map((a) => a.changed));
  checks.push({ id: 'ablations', text: 'ablations of stage layout, α and τ', pass: ['stages', 'alpha', 'tau'].every((c) => changed.has(c as AblationRecord['changed'])), detail: [...new Set(r.ablations.map((a) => a.variant))].join('; ') || 'none' });
  return checks;
}

export interface Claim {
  id: 'better-than-scratch' | 'training-cost' | 'stored-params' | 'pre-training';
  claim: string;
  paper: string;
  measured: string;
  verdict: 'holds' | 'partly' | 'does not hold';
  why: string;
}

const x2 = (v: number) => `${v.toFixed(v >= 10 ? 1 : 2)}×`;

/** The paper's claims against the measurement, each with a verdict and the reason in numbers. */
export function paperClaims(r: Pick<SwsBenchResult, 'comparisons' | 'costs'>): Claim[] {
  const claims: Claim[] = [];
  const vsScratch = r.comparisons.filter((c) => c.setting === 'same-labels' && c.b === 'scratch');
  const after = (metric: Metric) => vsScratch.filter((c) => c.metric === metric);
  const won = (metric: Metric) => after(metric).filter((c) => c.called && c.sign > 0).length;
  const lost = (metric: Metric) => after(metric).filter((c) => c.called && c.sign < 0).length;
  const range = (cs: Comparison[]) => (cs.length ? `${pts(Math.min(...cs.map((c) => c.mean)))} … ${pts(Math.max(...cs.map((c) => c.mean)))}` : '—');
  const n1 = after('top1_1ep').length;
  const nN = after('top1_final').length;
  claims.push({
    id: 'better-than-scratch',
    claim: 'SWS descendants beat training from scratch at equal fine-tuning epochs (already after 1 epoch)',
    paper: 'better than scratch at every size, often after 1 epoch',
    measured: `after 1 epoch SWS − scratch ${range(after('top1_1ep'))} points (ahead with an interval excluding 0 in ${won('top1_1ep')} of ${n1} teacher × depth cells); at the end ${range(after('top1_final'))} (${won('top1_final')} of ${nN})`,
    verdict: n1 > 0 && won('top1_1ep') === n1 && won('top1_final') === nN ? 'holds' : won('top1_1ep') + won('top1_final') > 0 && lost('top1_1ep') + lost('top1_final') === 0 ? 'partly' : 'does not hold',
    why: won('top1_1ep') === n1 && won('top1_final') < nN
      ? 'the head start is large after one epoch and shrinks with fine-tuning; where the interval includes 0 at the end the seeds cannot separate the two'
      : 'measured against scratch with its own validation-chosen learning rate at every depth (grids bracket the optimum)',
  });
  const cost = r.costs[0];
  if (cost) {
    const ge = cost.lowerBound ? '≥ ' : '';
    const meanEpochs = cost.sizes.reduce((a, s) => a + (s.reachedAtEpochs ?? s.top1ByEval.length / s.evalsPerEpoch), 0) / cost.sizes.length;
    const perSizeFt = cost.finetune.flops / cost.sizes.length;
    const perSizeScratch = cost.scratch.flops / cost.sizes.length;
    const k66 = sizesForRatio(cost, 6.6);
    claims.push({
      id: 'training-cost',
      claim: 'learngene + fine-tuning every size costs about 6.6× less total training than training every size from scratch',
      paper: '≈ 6.6× less total training cost',
      measured: `${ge}${x2(cost.costRatio)} in FLOPs (${ge}${x2(cost.wallRatio)} wall) over ${cost.sizes.length} sizes; ${ge}${x2(cost.costRatioWithTeacher)} (${ge}${x2(cost.wallRatioWithTeacher)} wall) counting the teacher's training too`,
      verdict: cost.costRatio >= 6.6 ? 'holds' : cost.costRatio > 1 ? 'partly' : 'does not hold',
      why: `the learngene's distillation alone costs ${(cost.learngene.flops / perSizeScratch).toFixed(2)}× an average size's scratch run, and each size fine-tuned instead of trained from scratch saves ${(perSizeScratch / perSizeFt).toFixed(1)}× its fine-tuning cost; over ${cost.sizes.length} sizes that gives the ratio measured${k66 === null ? ', and no number of such sizes would reach 6.6×' : `, and sizes like these would pass 6.6× from about ${Math.ceil(k66)} sizes on (a projection)`}. Scratch reached the SWS descendants' validation top-1 after ${meanEpochs.toFixed(2)} epochs of the ${(cost.sizes[0]?.poolImages ?? 0).toLocaleString('en-US')}-image pool per size on average: a 10-class 28×28 task a small ViT learns in a few epochs, where training each size from scratch at ImageNet scale, the paper's setting, takes far more`,
    });
    claims.push({
      id: 'stored-params',
      claim: 'one learngene stores about 20× fewer parameters than 10 separately trained sizes',
      paper: '≈ 20× fewer parameters stored for 10 sizes',
      measured: `${x2(cost.storedParams.ratio)} (learngene ${cost.storedParams.learngene.toLocaleString('en-US')} vs ${cost.storedParams.separate.toLocaleString('en-US')} for the ${cost.storedParams.sizes} sizes grown here, depths ${cost.depths[0]}–${cost.depths.at(-1)})`,
      verdict: cost.storedParams.ratio >= 20 ? 'holds' : cost.storedParams.ratio >= 10 ? 'partly' : 'does not hold',
      why: cost.storedParams.ratio >= 20
        ? 'the learngene keeps one block per stage; the sizes are larger than it on average'
        : `the ratio is the mean size over the learngene's size; the sizes measured here (depths ${cost.depths[0]}–${cost.depths.at(-1)}) average ${(cost.storedParams.separate / cost.storedParams.sizes / cost.storedParams.learngene).toFixed(1)}× the learngene, whereas the paper's sizes are deeper than its 5-block learngene`,
    });
    claims.push({
      id: 'pre-training',
      claim: 'one learngene needs about 10× less pre-training than pre-training 10 sizes separately',
      paper: '≈ 10× less pre-training for 10 sizes',
      measured: `${ge}${x2(cost.pretrainRatio)} (scratch to target over ${cost.sizes.length} sizes / the learngene's distillation); ${ge}${x2(cost.pretrainRatioWithTeacher)} counting the teacher`,
      verdict: cost.pretrainRatio >= 10 ? 'holds' : cost.pretrainRatio > 1 ? 'partly' : 'does not hold',
      why: `the learngene's distillation cost ${(cost.learngene.flops / (cost.scratch.flops / cost.sizes.length)).toFixed(2)}× an average size's scratch-to-target run`,
    });
  }
  return claims;
}

/**
 * Sizes (of the measured average cost) after which the FLOPs ratio reaches `ratio`:
 * k·S / (L + k·F) = ratio with S, F the mean scratch and fine-tuning cost per size and L
 * the learngene; null when the per-size saving never gets there (S/F ≤ ratio).
 */
export function sizesForRatio(c: MeasuredCost, ratio: number): number | null {
  const n = c.sizes.length;
  const s = c.scratch.flops / n;
  const f = c.finetune.flops / n;
  return s > ratio * f ? (ratio * c.learngene.flops) / (s - ratio * f) : null;
}

/**
 * SWS against the other initializations (not scratch), per teacher: where the difference
 * at the end of fine-tuning and after 1 epoch is called ahead, behind, or level.
 */
export function initializationFindings(comps: readonly Comparison[]): string[] {
  const lines: string[] = [];
  for (const teacher of TEACHERS) {
    for (const other of METHODS.filter((m) => m !== 'sws' && m !== 'scratch')) {
      const mine = comps.filter((c) => c.setting === 'same-labels' && c.teacher === teacher && c.b === other);
      if (mine.length === 0) continue;
      const say = (metric: Metric) => {
        const cs = mine.filter((c) => c.metric === metric).sort((a, b) => a.depth - b.depth);
        const at = (sign: number) => cs.filter((c) => c.sign === sign).map((c) => c.depth);
        const parts = [[1, 'ahead'], [-1, 'behind'], [0, 'level (interval includes 0)']].filter(([sign]) => at(sign as number).length > 0).map(([sign, word]) => `${word} at depth ${at(sign as number).join(', ')}`);
        return `${cs.map((c) => `d${c.depth} ${pts(c.mean)}`).join(', ')} — ${parts.join('; ')}`;
      };
      lines.push(`${TEACHER_LABEL[teacher]}, SWS − ${METHOD_LABEL[other]}: at the end ${say('top1_final')}; after 1 epoch ${say('top1_1ep')}.`);
    }
  }
  return lines;
}

/**
 * Where the learngene pays the most, read off the measurements: the SWS − scratch margin
 * with few fine-tuning images against the main setting at the same depths, and the cost
 * ratio as the number of sizes grows (with the per-size limit it tends to).
 */
export function regimeFindings(r: Pick<SwsBenchResult, 'comparisons' | 'costs' | 'rows'>): string[] {
  const lines: string[] = [];
  const few = r.comparisons.filter((c) => c.setting === 'few-images' && c.b === 'scratch');
  for (const metric of ['top1_1ep', 'top1_final'] as const) {
    const parts = few.filter((c) => c.metric === metric).map((f) => {
      const main = r.comparisons.find((c) => c.setting === 'same-labels' && c.teacher === f.teacher && c.depth === f.depth && c.b === 'scratch' && c.metric === metric);
      return `depth ${f.depth}: ${pts(f.mean)} ${interval(f.ci95)} with few images vs ${main ? `${pts(main.mean)} ${interval(main.ci95)}` : '—'} in the main setting`;
    });
    if (parts.length) {
      const fewRow = r.rows.find((row) => row.setting === 'few-images');
      const mainRow = r.rows.find((row) => row.setting === 'same-labels');
      lines.push(`Fewer fine-tuning images (${fewRow?.trainImages.toLocaleString('en-US')} vs ${mainRow?.trainImages.toLocaleString('en-US')} per epoch, ${TEACHER_LABEL[few[0]!.teacher]}), SWS − scratch ${metric === 'top1_1ep' ? 'after 1 epoch' : 'at the end'}: ${parts.join('; ')}.`);
    }
  }
  for (const c of r.costs) {
    const ge = c.lowerBound ? '≥ ' : '';
    const best = c.bySizes.reduce((a, b) => (b.costRatio > a.costRatio ? b : a), c.bySizes[0]!);
    const perSize = c.scratch.flops / Math.max(c.finetune.flops, 1);
    const k66 = sizesForRatio(c, 6.6);
    lines.push(`More sizes: the FLOPs ratio goes from ${ge}${c.bySizes[0]!.costRatio.toFixed(2)}× for one size to ${ge}${c.bySizes.at(-1)!.costRatio.toFixed(2)}× for ${c.bySizes.length} (highest: ${ge}${best.costRatio.toFixed(2)}× at ${best.k}); each further size costs a fine-tune instead of a scratch run, so with many sizes the ratio tends to ${ge}${perSize.toFixed(1)}× (scratch to target / fine-tuning, per size, measured)${k66 === null ? ', below the paper\'s 6.6× however many sizes' : `, and sizes like these would pass the paper's 6.6× from about ${Math.ceil(k66)} sizes on`} — a projection beyond the ${c.bySizes.length} sizes measured, not a measurement.`);
  }
  return lines;
}

// ------------------------------------------------------------------ the JSON

export interface PretrainPhase {
  teacher: BenchTeacher;
  name: 'teacher' | 'aux-sws' | 'aux-tleg';
  architecture: string;
  epochs: number;
  trainImages: number;
  images: number;
  flops: number;
  seconds: number;
  /** Validation top-1 (the held-out split) and, for teachers, test top-1 (read once). */
  val: number | null;
  test: number | null;
  learngeneParams?: number;
  stages?: number[];
}

/** What bench/results/sws-fashion-mnist.json holds. */
export interface SwsBenchResult {
  command: string;
  mode: 'full' | 'quick';
  date: string;
  seeds: number[];
  rows: BenchRow[];
  comparisons: Comparison[];
  /** Measured over the grown sizes of the cost experiment. */
  stored_params_ratio: number;
  cost_ratio: number | null;
  cost_ratio_lower_bound: boolean;
  cost_ratio_measured: number | null;
  cost_ratio_measured_with_teacher: number | null;
  sizes_measured: number;
  storedParams: MeasuredCost['storedParams'] | null;
  pretrain: PretrainPhase[];
  costs: MeasuredCost[];
  ablations: AblationRow[];
  trialBudget: { searches: number; searchTrials: number; extraSeedRuns: number; ablationRuns: number; costRuns: number; perMethod: Record<string, { searches: number; trials: number }> };
  acceptance: AcceptanceCheck[];
  claims: Claim[];
  config: Record<string, unknown>;
  timings: { totalSeconds: number; phases: Record<string, number> };
  machine: Record<string, unknown>;
  loadAverage: { start: number[]; end: number[]; samples?: { at: string; load1: number }[] };
  notes: string[];
}

/** Trials per method: every search starts equal; widening adds trials only at an edge. */
export function trialBudget(rows: readonly BenchRow[], ablationRuns: number, costRuns: number): SwsBenchResult['trialBudget'] {
  const seen = new Set<string>();
  const perMethod: Record<string, { searches: number; trials: number }> = {};
  let searches = 0;
  let searchTrials = 0;
  let extraSeedRuns = 0;
  for (const row of rows) {
    const key = `${row.setting}/${row.sharedAcrossTeachers ? 'shared' : row.teacher}/${row.method}/${row.depth}`;
    if (seen.has(key)) continue;
    seen.add(key);
    searches += 1;
    searchTrials += row.lr_trials.length;
    extraSeedRuns += row.runs - row.lr_trials.length;
    const m = (perMethod[row.method] ??= { searches: 0, trials: 0 });
    m.searches += 1;
    m.trials += row.lr_trials.length;
  }
  return { searches, searchTrials, extraSeedRuns, ablationRuns, costRuns, perMethod };
}

export const REQUIRED_KEYS = ['command', 'seeds', 'rows', 'stored_params_ratio', 'cost_ratio', 'cost_ratio_measured', 'cost_ratio_measured_with_teacher', 'sizes_measured', 'ablations'] as const;
export const REQUIRED_ROW_KEYS = ['setting', 'teacher', 'depth', 'method', 'params', 'top1_1ep', 'top1_final', 'top1_1ep_mean', 'top1_1ep_ci95', 'top1_final_mean', 'top1_final_ci95', 'lr_grid', 'lr_chosen', 'lr_chosen_on'] as const;

/** Problems with a result object's shape (empty when it has every required key with the right types). */
export function checkResultShape(result: unknown): string[] {
  const problems: string[] = [];
  if (typeof result !== 'object' || result === null) return ['not an object'];
  const r = result as Record<string, unknown>;
  for (const key of REQUIRED_KEYS) if (!(key in r)) problems.push(`missing "${key}"`);
  if (typeof r.command !== 'string') problems.push('"command" is not a string');
  if (!Array.isArray(r.seeds)) problems.push('"seeds" is not an array');
  if (typeof r.stored_params_ratio !== 'number') problems.push('"stored_params_ratio" is not a number');
  for (const key of ['cost_ratio', 'cost_ratio_measured', 'cost_ratio_measured_with_teacher']) {
    if (r[key] !== null && typeof r[key] !== 'number') problems.push(`"${key}" is neither a number nor null`);
  }
  if (!Array.isArray(r.ablations)) problems.push('"ablations" is not an array');
  if (!Array.isArray(r.rows)) return [...problems, '"rows" is not an array'];
  r.rows.forEach((row: Record<string, unknown>, i: number) => {
    for (const key of REQUIRED_ROW_KEYS) if (!(key in row)) problems.push(`rows[${i}] misses "${key}"`);
    if (!SETTINGS.includes(row.setting as BenchSetting)) problems.push(`rows[${i}].setting is ${JSON.stringify(row.setting)}`);
    if (!TEACHERS.includes(row.teacher as BenchTeacher)) problems.push(`rows[${i}].teacher is ${JSON.stringify(row.teacher)}`);
    if (!METHODS.includes(row.method as BenchMethod)) problems.push(`rows[${i}].method is ${JSON.stringify(row.method)}`);
    if (row.lr_chosen_on !== 'val') problems.push(`rows[${i}].lr_chosen_on is ${JSON.stringify(row.lr_chosen_on)}`);
    for (const key of ['depth', 'params', 'top1_1ep', 'top1_final', 'top1_1ep_mean', 'top1_final_mean', 'lr_chosen']) if (typeof row[key] !== 'number') problems.push(`rows[${i}].${key} is not a number`);
    for (const key of ['top1_1ep_ci95', 'top1_final_ci95']) if (!Array.isArray(row[key]) || (row[key] as unknown[]).length !== 2) problems.push(`rows[${i}].${key} is not a [low, high] pair`);
  });
  return problems;
}

// ---------------------------------------------------------------------------- Markdown

const pct = (x: number | null | undefined, digits = 2) => (x === null || x === undefined || !Number.isFinite(x) ? '—' : (x * 100).toFixed(digits));
const thousands = (n: number) => n.toLocaleString('en-US');
const sci = (n: number) => (n === 0 ? '0' : `${(n / 10 ** Math.floor(Math.log10(n))).toFixed(2)}e${Math.floor(Math.log10(n))}`);
const secs = (s: number) => (s >= 120 ? `${(s / 60).toFixed(1)} min` : `${s.toFixed(0)} s`);
export const METHOD_LABEL: Record<BenchMethod, string> = { sws: 'SWS', 'teacher-copy': 'teacher-copy', tleg: 'TLEG', scratch: 'scratch' };
export const TEACHER_LABEL: Record<BenchTeacher, string> = { 'cnn-onnx': 'CNN teacher (ONNX)', vit: 'ViT teacher' };
/** "87.12 ± 0.40" from a mean and its interval (the half-width). */
const withCi = (m: number, ci: [number, number]) => `${pct(m)}${Number.isFinite(ci[0]) ? ` ± ${((ci[1] - ci[0]) * 50).toFixed(2)}` : ''}`;
const diffCell = (c: Comparison | undefined) => (c ? `${pts(c.mean)} ${interval(c.ci95)}${c.called ? '' : ' ≈'}` : '—');

/** Results of one (setting, teacher): test top-1 per method (mean ± 95% half-width) and SWS − others. */
export function settingTable(rows: readonly BenchRow[], comps: readonly Comparison[], setting: BenchSetting, teacher: BenchTeacher): string {
  const mine = rows.filter((r) => r.setting === setting && r.teacher === teacher);
  const depths = [...new Set(mine.map((r) => r.depth))].sort((a, b) => a - b);
  const methods = METHODS.filter((m) => mine.some((r) => r.method === m));
  const others = methods.filter((m) => m !== 'sws');
  const epochs = mine[0]?.epochs ?? 0;
  const head = ['depth', 'params', ...methods.map((m) => `${METHOD_LABEL[m]} 1 ep`), ...methods.map((m) => `${METHOD_LABEL[m]} ${epochs} ep`), ...others.flatMap((m) => [`SWS − ${METHOD_LABEL[m]} 1 ep`, `SWS − ${METHOD_LABEL[m]} ${epochs} ep`])];
  const lines = [`| ${head.join(' | ')} |`, `|${head.map(() => '---:').join('|')}|`];
  for (const depth of depths) {
    const get = (m: BenchMethod) => mine.find((r) => r.depth === depth && r.method === m);
    const comp = (m: BenchMethod, metric: Metric) => comps.find((c) => c.setting === setting && c.teacher === teacher && c.depth === depth && c.b === m && c.metric === metric);
    lines.push(`| ${[
      String(depth),
      thousands(get('sws')?.params ?? get('scratch')?.params ?? 0),
      ...methods.map((m) => { const r = get(m); return r ? withCi(r.top1_1ep_mean, r.top1_1ep_ci95) : '—'; }),
      ...methods.map((m) => { const r = get(m); return r ? withCi(r.top1_final_mean, r.top1_final_ci95) : '—'; }),
      ...others.flatMap((m) => [diffCell(comp(m, 'top1_1ep')), diffCell(comp(m, 'top1_final'))]),
    ].join(' | ')} |`);
  }
  return lines.join('\n');
}

/** Every search: the grid with validation top-1 per lr, the chosen lr, interior or not. */
export function lrTable(rows: readonly BenchRow[]): string {
  const lines = ['| setting | teacher | method | depth | lr → validation top-1 (seed 0) | chosen | interior |', '|---|---|---|---:|---|---:|---|'];
  const seen = new Set<string>();
  for (const r of rows) {
    const key = `${r.setting}/${r.sharedAcrossTeachers ? 'shared' : r.teacher}/${r.method}/${r.depth}`;
    if (seen.has(key)) continue;
    seen.add(key);
    const trials = [...r.lr_trials].sort((a, b) => a.lr - b.lr).map((t) => `${t.lr} → ${t.diverged ? 'diverged' : pct(t.val)}`).join(', ');
    lines.push(`| ${r.setting} | ${r.sharedAcrossTeachers ? 'both (shared)' : r.teacher} | ${METHOD_LABEL[r.method]} | ${r.depth} | ${trials} | ${r.lr_chosen} | ${r.lr_interior ? 'yes' : '**no**'} |`);
  }
  return lines.join('\n');
}

export interface MarkdownExtras {
  /** One line per plan item (data, epochs, grids) as the run used them. */
  recipe?: string[];
  /** What the run trimmed to fit the time budget, and what it did not do. */
  trimmed?: string[];
  /** Tuning or checks done outside this run. */
  tried?: string[];
}

function costSection(c: MeasuredCost): string[] {
  const ge = c.lowerBound ? '≥ ' : '';
  const lines: string[] = [];
  lines.push(`Teacher: ${TEACHER_LABEL[c.teacher]}. Per size: the SWS descendant fine-tuned once (seed 0) — its validation top-1 is the target — and a scratch network of the same size trained on the whole training pool, validated every 1/${c.sizes[0]?.evalsPerEpoch ?? '?'} epoch until it reaches the target (or the cap: then its cost is a lower bound, marked ≥). FLOPs from shapes (shared/flops.ts: matrix products, a multiply-add = 2 FLOPs, a training step = 3× forward; the CNN from its layer shapes); wall = training time only, evaluation excluded.`, '');
  lines.push('| depth | params | SWS lr | SWS val top-1 (target) | SWS fine-tune images | SWS FLOPs | SWS wall | scratch lr | scratch val top-1 by epoch | reached after (epochs) | scratch images | scratch FLOPs | scratch wall |', '|---:|---:|---:|---:|---:|---:|---:|---:|---|---:|---:|---:|---:|');
  for (const s of c.sizes) {
    const perEpoch = s.top1ByEval.filter((_, i) => (i + 1) % s.evalsPerEpoch === 0 || i === s.top1ByEval.length - 1).map((v) => pct(v, 1)).join(' ');
    const cap = s.capEpochs !== Math.min(...c.sizes.map((x) => x.capEpochs)) ? ` (cap ${s.capEpochs})` : '';
    lines.push(`| ${s.depth} | ${thousands(s.params)} | ${s.swsLr} | ${pct(s.target)} | ${thousands(s.swsImages)} | ${sci(s.swsFlops)} | ${secs(s.swsSeconds)} | ${s.scratchLr} | ${perEpoch} | ${s.reachedAtEpochs === null ? `not within ${(s.top1ByEval.length / s.evalsPerEpoch).toFixed(2)} (best ${pct(s.scratchBest)})` : s.reachedAtEpochs.toFixed(2)}${cap} | ${s.lowerBound ? '≥ ' : ''}${thousands(s.scratchImages)} | ${s.lowerBound ? '≥ ' : ''}${sci(s.scratchFlops)} | ${s.lowerBound ? '≥ ' : ''}${secs(s.scratchSeconds)} |`);
  }
  lines.push('');
  lines.push(`- SWS: learngene ${sci(c.learngene.flops)} FLOPs (${secs(c.learngene.seconds)}) + ${c.sizes.length} fine-tunes ${sci(c.finetune.flops)} (${secs(c.finetune.seconds)}); teacher training ${sci(c.teacherTraining.flops)} FLOPs (${secs(c.teacherTraining.seconds)}).`);
  lines.push(`- Scratch to the same validation top-1, every size: ${ge}${sci(c.scratch.flops)} FLOPs (${ge}${secs(c.scratch.seconds)}).`);
  lines.push(`- **cost_ratio_measured = ${ge}${c.costRatio.toFixed(2)}×** in FLOPs (${ge}${c.wallRatio.toFixed(2)}× wall); **with the teacher's training: ${ge}${c.costRatioWithTeacher.toFixed(2)}×** (${ge}${c.wallRatioWithTeacher.toFixed(2)}× wall).`);
  lines.push(`- Pre-training alone (scratch to target over every size / the learngene): ${ge}${c.pretrainRatio.toFixed(2)}× (${ge}${c.pretrainRatioWithTeacher.toFixed(2)}× with the teacher).`);
  lines.push(`- Parameters stored: one learngene ${thousands(c.storedParams.learngene)} vs the ${c.storedParams.sizes} grown sizes ${thousands(c.storedParams.separate)}: **${c.storedParams.ratio.toFixed(1)}×**.`);
  lines.push(`- Had the user needed only the k smallest sizes (FLOPs ratio, without / with teacher): ${c.bySizes.map((b) => `k=${b.k}: ${b.costRatio.toFixed(2)} / ${b.costRatioWithTeacher.toFixed(2)}`).join('; ')}. ${c.breakEvenSizes === null ? 'Fine-tuning is not cheaper than scratch per size here: the learngene never pays for itself.' : `The learngene pays for itself after ${ge ? 'at most ' : ''}${c.breakEvenSizes.toFixed(1)} sizes (${c.breakEvenSizesWithTeacher!.toFixed(1)} counting the teacher).`}`);
  return lines;
}

export function renderMarkdown(r: SwsBenchResult, extras: MarkdownExtras = {}): string {
  const m = r.machine;
  const lines: string[] = [];
  lines.push(`# SWS learngenes on Fashion-MNIST (${r.mode} run, ${r.date.slice(0, 10)})`, '');
  lines.push(`Command: \`${r.command}\` · seeds ${r.seeds.join(', ')} · total ${secs(r.timings.totalSeconds)} · ${String(m.cpu ?? '?')}, ${String(m.cores ?? '?')} cores, backend ${String(m.backend ?? '?')}${m.lanes ? ` · ${String(m.lanes)} lanes` : ''} · load average ${r.loadAverage.start.join(' ')} at start, ${r.loadAverage.end.join(' ')} at end · git ${String(m.git ?? '?')}${m.gitDirty ? ' (uncommitted changes)' : ''}`, '');
  lines.push('## What held and what did not', '');
  for (const c of r.claims) lines.push(`- **${c.verdict === 'holds' ? 'Holds' : c.verdict === 'partly' ? 'Partly' : 'Does not hold'}** — ${c.claim} (paper: ${c.paper}). Measured: ${c.measured}. Why: ${c.why}.`);
  for (const a of r.acceptance.filter((x) => !x.pass)) lines.push(`- **Not met** — ${a.text}: ${a.detail}.`);
  lines.push('');
  if (extras.recipe?.length) {
    lines.push('## Protocol', '');
    for (const line of extras.recipe) lines.push(`- ${line}`);
    const b = r.trialBudget;
    lines.push(`- Trial budget: ${b.searches} learning-rate searches with ${b.searchTrials} trials (${Object.entries(b.perMethod).map(([k, v]) => `${METHOD_LABEL[k as BenchMethod] ?? k} ${v.trials} in ${v.searches}`).join(', ')}), ${b.extraSeedRuns} further seed runs at the chosen rates, ${b.ablationRuns} ablation runs, ${b.costRuns} cost-experiment runs.`);
    lines.push('');
  }
  lines.push('## Teachers and learngenes', '', '| teacher | network | epochs | images | FLOPs | wall | val top-1 | test top-1 |', '|---|---|---:|---:|---:|---:|---:|---:|');
  for (const p of r.pretrain) lines.push(`| ${p.teacher} | ${p.architecture} | ${p.epochs} | ${thousands(p.images)} | ${sci(p.flops)} | ${secs(p.seconds)} | ${pct(p.val)} | ${pct(p.test)} |`);
  lines.push('');
  for (const setting of SETTINGS) {
    for (const teacher of TEACHERS) {
      if (!r.rows.some((row) => row.setting === setting && row.teacher === teacher)) continue;
      const first = r.rows.find((row) => row.setting === setting && row.teacher === teacher)!;
      lines.push(`## Descendants: ${setting}, ${TEACHER_LABEL[teacher]}`, '');
      lines.push(`Test top-1 (%) after 1 epoch and after ${first.epochs} of fine-tuning on ${thousands(first.trainImages)} images, mean ± 95% half-width over ${first.seedRuns.length} seeds; differences in points with their 95% interval (paired by seed; "≈": the interval includes 0, no difference called).`, '');
      lines.push(settingTable(r.rows, r.comparisons, setting, teacher), '');
    }
  }
  const others = initializationFindings(r.comparisons);
  if (others.length > 0) {
    lines.push('## SWS against the other initializations', '');
    for (const line of others) lines.push(`- ${line}`);
    lines.push('');
  }
  lines.push('## Learning-rate searches (validation split, seed 0)', '', lrTable(r.rows), '');
  lines.push('## Training cost, measured', '');
  if (r.costs.length === 0) lines.push('Not measured in this run.', '');
  for (const c of r.costs) lines.push(...costSection(c), '');
  const regimes = regimeFindings(r);
  if (regimes.length > 0) {
    lines.push('## Where the learngene pays the most', '');
    for (const line of regimes) lines.push(`- ${line}`);
    lines.push('');
  }
  if (r.ablations.length > 0) {
    lines.push('## Ablations (what to set up a run with)', '');
    lines.push('Test top-1 (%) of SWS descendants (mean ± 95% half-width over seeds) grown from learngenes distilled with one setting changed; the change against the reference in points, paired by seed, with its 95% interval ("≈": no difference called).', '');
    lines.push('| variant | depth | lr | Aux-Net val top-1 | learngene params | 1 ep | final | − reference 1 ep | − reference final |', '|---|---:|---:|---:|---:|---:|---:|---:|---:|');
    for (const a of r.ablations) {
      const d = (x: ReturnType<typeof pairedDifference> | undefined) => (x ? `${pts(x.mean)} ${interval(x.ci95)}${x.called ? '' : ' ≈'}` : '—');
      lines.push(`| ${a.variant} | ${a.depth} | ${a.lr} | ${pct(a.auxVal)} | ${thousands(a.learngeneParams)} | ${withCi(a.top1_1ep_mean, a.top1_1ep_ci95)} | ${withCi(a.top1_final_mean, a.top1_final_ci95)} | ${d(a.vsReference?.top1_1ep)} | ${d(a.vsReference?.top1_final)} |`);
    }
    lines.push('');
  }
  lines.push('## Acceptance (issue 13)', '', '| criterion | result | numbers |', '|---|---|---|');
  for (const a of r.acceptance) lines.push(`| ${a.text} | ${a.pass ? 'met' : '**not met**'} | ${a.detail} |`);
  lines.push('');
  if (extras.trimmed?.length) {
    lines.push('## Trimmed to fit, and not done', '');
    for (const t of extras.trimmed) lines.push(`- ${t}`);
    lines.push('');
  }
  if (extras.tried?.length) {
    lines.push('## Checked outside this run', '');
    for (const t of extras.tried) lines.push(`- ${t}`);
    lines.push('');
  }
  if (r.notes.length > 0) {
    lines.push('## Notes', '');
    for (const n of r.notes) lines.push(`- ${n}`);
    lines.push('');
  }
  lines.push('Charts: `sws-fashion-mnist.png` (top-1 vs depth), `sws-fashion-mnist-cost.png` (top-1 vs cumulative training FLOPs). Raw numbers (every trial, seed, test read, timing, machine): `sws-fashion-mnist.json`.', '');
  return lines.join('\n');
}

// ---------------------------------------------------------------------------- SVG charts

export const METHOD_STYLE: Record<BenchMethod, { color: string; dash: string; marker: 'circle' | 'square' | 'diamond' | 'triangle' }> = {
  sws: { color: '#d62728', dash: '', marker: 'circle' },
  'teacher-copy': { color: '#1f77b4', dash: '6 3', marker: 'square' },
  tleg: { color: '#2ca02c', dash: '2 3', marker: 'diamond' },
  scratch: { color: '#555555', dash: '8 3 2 3', marker: 'triangle' },
};

function escapeXml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

function marker(kind: 'circle' | 'square' | 'diamond' | 'triangle', x: number, y: number, color: string): string {
  const r = 4.5;
  switch (kind) {
    case 'circle':
      return `<circle cx="${x.toFixed(1)}" cy="${y.toFixed(1)}" r="${r}" fill="${color}"/>`;
    case 'square':
      return `<rect x="${(x - r).toFixed(1)}" y="${(y - r).toFixed(1)}" width="${2 * r}" height="${2 * r}" fill="${color}"/>`;
    case 'diamond':
      return `<path d="M${x.toFixed(1)} ${(y - r - 1).toFixed(1)} L${(x + r + 1).toFixed(1)} ${y.toFixed(1)} L${x.toFixed(1)} ${(y + r + 1).toFixed(1)} L${(x - r - 1).toFixed(1)} ${y.toFixed(1)} Z" fill="${color}"/>`;
    case 'triangle':
      return `<path d="M${x.toFixed(1)} ${(y - r - 1).toFixed(1)} L${(x + r + 1).toFixed(1)} ${(y + r).toFixed(1)} L${(x - r - 1).toFixed(1)} ${(y + r).toFixed(1)} Z" fill="${color}"/>`;
  }
}

/** "Nice" axis bounds and ticks (in percent) around [lo, hi]. */
function axisTicks(lo: number, hi: number): { min: number; max: number; ticks: number[] } {
  const span = Math.max(hi - lo, 1);
  const step = span > 40 ? 10 : span > 16 ? 5 : span > 6 ? 2 : 1;
  const min = Math.floor((lo - span * 0.04) / step) * step;
  const max = Math.ceil((hi + span * 0.04) / step) * step;
  const ticks: number[] = [];
  for (let t = min; t <= max + 1e-9; t += step) ticks.push(Math.round(t * 10) / 10);
  return { min, max, ticks };
}

function svgOpen(width: number, height: number, title: string): string[] {
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="DejaVu Sans, Verdana, sans-serif">`,
    `<rect width="${width}" height="${height}" fill="#ffffff"/>`,
    `<text x="${width / 2}" y="30" text-anchor="middle" font-size="19" font-weight="bold" fill="#222">${escapeXml(title)}</text>`,
  ];
}

function legend(out: string[], items: { label: string; color: string; dash: string; marker: 'circle' | 'square' | 'diamond' | 'triangle'; bold?: boolean }[], width: number, y: number): void {
  const itemW = Math.max(200, ...items.map((i) => 60 + i.label.length * 8));
  const x0 = width / 2 - (items.length * itemW) / 2;
  items.forEach((item, i) => {
    const x = x0 + i * itemW;
    out.push(`<line x1="${x}" x2="${x + 40}" y1="${y}" y2="${y}" stroke="${item.color}" stroke-width="${item.bold ? 3 : 2}"${item.dash ? ` stroke-dasharray="${item.dash}"` : ''}/>`);
    out.push(marker(item.marker, x + 20, y, item.color));
    out.push(`<text x="${x + 48}" y="${y + 5}" font-size="14" fill="#222">${escapeXml(item.label)}</text>`);
  });
}

/**
 * Test top-1 vs depth per method with 95% intervals as error bars: one column per teacher
 * (same-labels setting), the top row at the end of fine-tuning, the bottom after 1 epoch.
 */
export function renderSvg(r: Pick<SwsBenchResult, 'rows'> & { title?: string }): string {
  const rows = r.rows.filter((row) => row.setting === 'same-labels');
  const teachers = TEACHERS.filter((t) => rows.some((row) => row.teacher === t));
  const panels: { mean: 'top1_final_mean' | 'top1_1ep_mean'; ci: 'top1_final_ci95' | 'top1_1ep_ci95'; title: (epochs: number) => string }[] = [
    { mean: 'top1_final_mean', ci: 'top1_final_ci95', title: (n) => `after ${n} epoch${n === 1 ? '' : 's'}` },
    { mean: 'top1_1ep_mean', ci: 'top1_1ep_ci95', title: () => 'after 1 epoch' },
  ];
  const panelW = 430;
  const panelH = 270;
  const left = 62;
  const top = 64;
  const gapX = 70;
  const gapY = 78;
  const width = left + Math.max(1, teachers.length) * panelW + (Math.max(1, teachers.length) - 1) * gapX + 40;
  const height = top + panels.length * panelH + (panels.length - 1) * gapY + 86;
  const out = svgOpen(width, height, r.title ?? 'Fashion-MNIST: test top-1 of descendants vs depth');
  teachers.forEach((teacher, col) => {
    const mine = rows.filter((row) => row.teacher === teacher);
    const epochs = mine[0]?.epochs ?? 0;
    const depths = [...new Set(mine.map((row) => row.depth))].sort((a, b) => a - b);
    const dMin = depths[0] ?? 0;
    const dMax = depths.at(-1) ?? 1;
    panels.forEach((panel, rowIndex) => {
      const x0 = left + col * (panelW + gapX);
      const y0 = top + rowIndex * (panelH + gapY);
      const values = mine.flatMap((row) => [row[panel.mean], row[panel.ci][0], row[panel.ci][1]]).map((v) => v * 100).filter(Number.isFinite);
      const { min, max, ticks } = axisTicks(Math.min(...values), Math.max(...values));
      const px = (d: number) => x0 + 20 + ((d - dMin) / Math.max(1, dMax - dMin)) * (panelW - 40);
      const py = (v: number) => y0 + panelH - ((v - min) / (max - min)) * panelH;
      out.push(`<text x="${x0 + panelW / 2}" y="${y0 - 12}" text-anchor="middle" font-size="15" fill="#222">${escapeXml(`${TEACHER_LABEL[teacher]} · ${panel.title(epochs)}`)}</text>`);
      out.push(`<rect x="${x0}" y="${y0}" width="${panelW}" height="${panelH}" fill="#fafafa" stroke="#999"/>`);
      for (const t of ticks) {
        const y = py(t);
        out.push(`<line x1="${x0}" x2="${x0 + panelW}" y1="${y.toFixed(1)}" y2="${y.toFixed(1)}" stroke="#e2e2e2"/>`);
        out.push(`<text x="${x0 - 7}" y="${(y + 4).toFixed(1)}" text-anchor="end" font-size="12" fill="#444">${t}</text>`);
      }
      for (const d of depths) {
        out.push(`<line x1="${px(d).toFixed(1)}" x2="${px(d).toFixed(1)}" y1="${y0 + panelH}" y2="${y0 + panelH + 5}" stroke="#666"/>`);
        out.push(`<text x="${px(d).toFixed(1)}" y="${y0 + panelH + 19}" text-anchor="middle" font-size="12" fill="#444">${d}</text>`);
      }
      out.push(`<text x="${x0 + panelW / 2}" y="${y0 + panelH + 38}" text-anchor="middle" font-size="13" fill="#333">descendant depth (layers)</text>`);
      out.push(`<text transform="translate(${x0 - 44} ${y0 + panelH / 2}) rotate(-90)" text-anchor="middle" font-size="13" fill="#333">test top-1 (%)</text>`);
      const methods = METHODS.filter((m) => mine.some((row) => row.method === m));
      methods.forEach((method, k) => {
        const pts = mine.filter((row) => row.method === method).sort((a, b) => a.depth - b.depth);
        const style = METHOD_STYLE[method];
        // Methods side by side at a depth, so error bars do not hide each other.
        const shift = (k - (methods.length - 1) / 2) * 5;
        const d = pts.map((p, i) => `${i === 0 ? 'M' : 'L'}${(px(p.depth) + shift).toFixed(1)} ${py(p[panel.mean] * 100).toFixed(1)}`).join(' ');
        out.push(`<path d="${d}" fill="none" stroke="${style.color}" stroke-width="${method === 'sws' ? 3 : 2}"${style.dash ? ` stroke-dasharray="${style.dash}"` : ''}/>`);
        for (const p of pts) {
          const [lo, hi] = p[panel.ci];
          if (Number.isFinite(lo)) out.push(`<line class="ci" x1="${(px(p.depth) + shift).toFixed(1)}" x2="${(px(p.depth) + shift).toFixed(1)}" y1="${py(lo * 100).toFixed(1)}" y2="${py(hi * 100).toFixed(1)}" stroke="${style.color}" stroke-width="1.5"/>`);
          out.push(marker(style.marker, px(p.depth) + shift, py(p[panel.mean] * 100), style.color));
        }
      });
    });
  });
  const present = METHODS.filter((m) => rows.some((row) => row.method === m));
  legend(out, present.map((m) => ({ label: `${METHOD_LABEL[m]}${m === 'scratch' ? ' (own lr)' : ''}`, ...METHOD_STYLE[m], bold: m === 'sws' })), width, height - 28);
  out.push('</svg>');
  return out.join('\n');
}

/**
 * Cumulative training FLOPs against the mean validation top-1 of the sizes ready so far
 * (sizes added in order of depth, each point labelled with their number): SWS starts at
 * the learngene's cost (or the learngene plus the teacher's), scratch at zero. Both reach
 * the same accuracies, so the horizontal gap between the curves is the cost ratio.
 */
export function renderCostSvg(cost: MeasuredCost, title = 'Fashion-MNIST: top-1 against cumulative training FLOPs'): string {
  const series: { label: string; color: string; dash: string; marker: 'circle' | 'square' | 'diamond' | 'triangle'; bold?: boolean; points: { x: number; y: number; k: number; lowerBound?: boolean }[] }[] = [];
  const cumulative = (start: number, add: (s: CostSize) => number, value: (s: CostSize) => number, lower = false) => {
    let total = start;
    let sumTop1 = 0;
    let anyLower = false;
    return cost.sizes.map((s, i) => {
      total += add(s);
      sumTop1 += value(s);
      anyLower ||= lower && s.lowerBound;
      return { x: total, y: (sumTop1 / (i + 1)) * 100, k: i + 1, ...(anyLower ? { lowerBound: true } : {}) };
    });
  };
  series.push({ label: 'SWS (learngene + fine-tunes)', ...METHOD_STYLE.sws, bold: true, points: cumulative(cost.learngene.flops, (s) => s.swsFlops, (s) => s.target) });
  series.push({ label: 'SWS + teacher training', color: '#ff7f0e', dash: '5 3', marker: 'circle', points: cumulative(cost.learngene.flops + cost.teacherTraining.flops, (s) => s.swsFlops, (s) => s.target) });
  series.push({ label: 'scratch, every size', ...METHOD_STYLE.scratch, points: cumulative(0, (s) => s.scratchFlops, (s) => (s.lowerBound ? s.scratchBest : s.target), true) });
  const width = 900;
  const height = 560;
  const x0 = 90;
  const y0 = 64;
  const panelW = width - x0 - 40;
  const panelH = height - y0 - 130;
  const out = svgOpen(width, height, title);
  const xs = series.flatMap((s) => s.points.map((p) => p.x)).filter((v) => v > 0);
  const ys = series.flatMap((s) => s.points.map((p) => p.y));
  const lx0 = Math.floor(Math.log10(Math.min(...xs)));
  const lx1 = Math.ceil(Math.log10(Math.max(...xs)));
  const { min, max, ticks } = axisTicks(Math.min(...ys), Math.max(...ys));
  const px = (v: number) => x0 + ((Math.log10(v) - lx0) / Math.max(1e-9, lx1 - lx0)) * panelW;
  const py = (v: number) => y0 + panelH - ((v - min) / (max - min)) * panelH;
  out.push(`<rect x="${x0}" y="${y0}" width="${panelW}" height="${panelH}" fill="#fafafa" stroke="#999"/>`);
  for (const t of ticks) {
    out.push(`<line x1="${x0}" x2="${x0 + panelW}" y1="${py(t).toFixed(1)}" y2="${py(t).toFixed(1)}" stroke="#e2e2e2"/>`);
    out.push(`<text x="${x0 - 7}" y="${(py(t) + 4).toFixed(1)}" text-anchor="end" font-size="12" fill="#444">${t}</text>`);
  }
  for (let e = lx0; e <= lx1; e++) {
    const x = px(10 ** e);
    out.push(`<line x1="${x.toFixed(1)}" x2="${x.toFixed(1)}" y1="${y0}" y2="${y0 + panelH}" stroke="#e2e2e2"/>`);
    out.push(`<text x="${x.toFixed(1)}" y="${y0 + panelH + 19}" text-anchor="middle" font-size="12" fill="#444">1e${e}</text>`);
  }
  out.push(`<text x="${x0 + panelW / 2}" y="${y0 + panelH + 40}" text-anchor="middle" font-size="13" fill="#333">cumulative training FLOPs (log scale) when k sizes are ready (depths ${cost.depths.join(', ')}, in order)</text>`);
  out.push(`<text transform="translate(${x0 - 52} ${y0 + panelH / 2}) rotate(-90)" text-anchor="middle" font-size="13" fill="#333">mean validation top-1 of the k sizes (%)</text>`);
  for (const s of series) {
    const d = s.points.map((p, i) => `${i === 0 ? 'M' : 'L'}${px(p.x).toFixed(1)} ${py(p.y).toFixed(1)}`).join(' ');
    out.push(`<path d="${d}" fill="none" stroke="${s.color}" stroke-width="${s.bold ? 3 : 2}"${s.dash ? ` stroke-dasharray="${s.dash}"` : ''}/>`);
    for (const p of s.points) {
      out.push(p.lowerBound ? `<circle cx="${px(p.x).toFixed(1)}" cy="${py(p.y).toFixed(1)}" r="5" fill="none" stroke="${s.color}" stroke-width="2"/>` : marker(s.marker, px(p.x), py(p.y), s.color));
      if (s.bold || s.marker === 'triangle') out.push(`<text x="${(px(p.x) + 6).toFixed(1)}" y="${(py(p.y) - 7).toFixed(1)}" font-size="11" fill="${s.color}">${p.k}</text>`);
    }
  }
  legend(out, series, width, height - 40);
  out.push(`<text x="${width / 2}" y="${height - 12}" text-anchor="middle" font-size="12" fill="#555">${escapeXml(`cost ratio ${cost.lowerBound ? '≥ ' : ''}${cost.costRatio.toFixed(2)}× (${cost.lowerBound ? '≥ ' : ''}${cost.costRatioWithTeacher.toFixed(2)}× with the teacher)${cost.lowerBound ? '; open circles: a scratch size did not reach its target within the cap (lower-bound cost, its best top-1)' : ''}`)}</text>`);
  out.push('</svg>');
  return out.join('\n');
}
