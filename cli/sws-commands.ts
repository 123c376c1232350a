// The learngene commands: distill, grow, finetune, compare, demo, layers.

import type { Command } from './main.js';
import { UsageError } from './args.js';
import { COMMON_OPTIONS, DATA_OPTIONS, FORCE_OPTION, OPTIM_OPTIONS, RUN_OPTIONS, dataSpecFrom, optimFrom } from './options.js';
import { describeTrained, ephemeralRun, pct, runOptionsFrom, withDefaults } from './command-helpers.js';
import { runRequest } from './run-request.js';
import { DEFAULT_DATA, IMPORTANCE_KINDS, type BaselineMethod, type CompareRequest, type DemoRequest, type DistillRequest, type FinetuneRequest, type GrowRequest, type ImportanceKind, type PruneRequest } from '../shared/api.js';
import { defaultLayersSource } from '../engine/sws/layers-source.js';

/** "imagenet" | "none" | "m1,m2,m3/s1,s2,s3" → the ONNX teacher's normalization. */
function parseNormalization(text: string): DistillRequest['teacherNormalization'] {
  if (text === 'imagenet' || text === 'none') return text;
  const match = /^([\d.,]+)\/([\d.,]+)$/.exec(text);
  if (match) {
    const mean = match[1]!.split(',').map(Number);
    const std = match[2]!.split(',').map(Number);
    if (mean.length === std.length && mean.every(Number.isFinite) && std.every((s) => s > 0)) return { mean, std };
  }
  throw new UsageError(`--teacher-normalization: expected imagenet, none or MEAN/STD like 0.5,0.5,0.5/0.25,0.25,0.25, got "${text}"`);
}

/** `--classes 5` (a count) or `--classes sandal,shirt,sneaker` (the label names in order). */
function parseGrowClasses(text: string): Pick<GrowRequest, 'numClasses' | 'classNames'> {
  if (/^\s*\d+\s*$/.test(text)) {
    const count = Number(text);
    if (count < 2) throw new UsageError(`--classes: a classifier needs at least 2 classes, got ${count}`);
    return { numClasses: count };
  }
  const names = text.split(',').map((n) => n.trim());
  if (names.length < 2 || names.some((n) => n === '')) throw new UsageError(`--classes: expected a count or at least two comma-separated label names, got "${text}"`);
  if (new Set(names).size !== names.length) throw new UsageError(`--classes: a label is listed twice in "${text}"`);
  return { numClasses: names.length, classNames: names };
}

export const SWS_COMMANDS: Record<string, Command> = {
  distill: {
    spec: {
      name: 'distill',
      summary: 'distil a learngene from a teacher into an Aux-Net with stage-wise shared blocks (SWS) or linear expansion (TLEG)',
      usage: 'learngene distill --teacher T --stages 3,3,4,3,3 --out LG [--data D] [--aux sws|tleg] [--dim --heads --alpha --tau --epochs …]',
      options: {
        teacher: { kind: 'string', meta: 'PATH', help: 'teacher: a model of ours, a timm/HF/torchvision ViT checkpoint, or any ONNX image classifier', required: true },
        stages: { kind: 'int-list', meta: 'LIST', help: 'layers per stage of the Aux-Net (TLEG: one number, its depth)', default: [2, 2, 2, 2], min: 1 },
        aux: { kind: 'string', meta: 'sws|tleg', help: 'Aux-Net kind: stage-wise weight sharing or TLEG linear expansion', default: 'sws' },
        out: { kind: 'string', meta: 'PATH', help: 'learngene folder (or .safetensors file) to write', required: true },
        dim: { kind: 'int', help: 'Aux-Net width (default: the teacher\'s)', min: 1 },
        heads: { kind: 'int', help: 'Aux-Net attention heads (default: the teacher\'s)', min: 1 },
        'mlp-ratio': { kind: 'number', help: 'Aux-Net MLP width / dim (default: the teacher\'s)' },
        'image-size': { kind: 'int', help: 'student input size (default: the teacher\'s when it is ours, else the data\'s)', min: 1 },
        pooling: { kind: 'string', meta: 'avg|cls', help: 'Aux-Net pooling (the reference uses mean pooling, no class token)', default: 'avg' },
        'drop-path': { kind: 'number', help: 'stochastic depth rate (per layer, shared blocks included)', default: 0, min: 0 },
        alpha: { kind: 'number', help: 'loss = (1-α)·CE + α·τ²·KL(teacher‖student)', default: 1, min: 0 },
        tau: { kind: 'number', help: 'distillation temperature τ', default: 1 },
        'kd-reduction': { kind: 'string', meta: 'batchmean|numel', help: 'KL averaging: per sample (batchmean) or over B·K like the DeiT/SWS code (numel)', default: 'batchmean' },
        'no-head': { kind: 'boolean', help: 'leave the Aux-Net head out of the learngene (kept by default for descendants with the same labels)' },
        'teacher-heads': { kind: 'int', help: 'attention heads of a foreign teacher checkpoint without config.json', min: 1 },
        'teacher-normalization': { kind: 'string', meta: 'SPEC', help: 'what an ONNX teacher expects: imagenet, none, or MEAN/STD (default: recorded, else ImageNet for RGB)' },
        ...DATA_OPTIONS,
        ...withDefaults(OPTIM_OPTIONS, { epochs: 5, batch: 32, lr: 2e-3, 'warmup-epochs': 0.3 }),
        ...RUN_OPTIONS,
        ...COMMON_OPTIONS,
      },
      examples: ['learngene distill --teacher models/teacher --stages 2,2,2,2 --epochs 5 --out models/learngene', 'learngene distill --teacher models/teacher --aux tleg --stages 8 --epochs 5 --out models/learngene-tleg'],
    },
    async run({ values }, io) {
      const auxKind = values.aux as string;
      if (auxKind !== 'sws' && auxKind !== 'tleg') throw new UsageError(`--aux: expected sws or tleg, got "${auxKind}"`);
      const reduction = values['kd-reduction'] as string;
      if (reduction !== 'batchmean' && reduction !== 'numel') throw new UsageError(`--kd-reduction: expected batchmean or numel, got "${reduction}"`);
      const pooling = values.pooling as string;
      if (pooling !== 'avg' && pooling !== 'cls') throw new UsageError(`--pooling: expected avg or cls, got "${pooling}"`);
      const request: DistillRequest = {
        kind: 'distill',
        teacher: values.teacher as string,
        data: dataSpecFrom(values),
        out: values.out as string,
        auxKind,
        stages: values.stages as number[],
        aux: {
          pooling,
          dropPath: values['drop-path'] as number,
          ...(values.dim !== undefined ? { dim: values.dim as number } : {}),
          ...(values.heads !== undefined ? { heads: values.heads as number } : {}),
          ...(values['mlp-ratio'] !== undefined ? { mlpRatio: values['mlp-ratio'] as number } : {}),
          ...(values['image-size'] !== undefined ? { imageSize: values['image-size'] as number } : {}),
        },
        distill: { alpha: values.alpha as number, tau: values.tau as number, reduction },
        optim: optimFrom(values),
        seed: values.seed as number,
        keepHead: !values['no-head'],
        ...(values['teacher-heads'] !== undefined ? { teacherHeads: values['teacher-heads'] as number } : {}),
        ...(values['teacher-normalization'] !== undefined ? { teacherNormalization: parseNormalization(values['teacher-normalization'] as string) } : {}),
      };
      const { result: r, runDir } = await runRequest(request, 'distill', runOptionsFrom(values, io));
      const lines = [
        `${r.auxKind.toUpperCase()} learngene saved to ${r.file}: ${r.learngeneParams.toLocaleString('en-US')} parameters (stages ${r.stages.join(',')}; Aux-Net ${r.auxParams.toLocaleString('en-US')}${r.teacherParams ? `, teacher ${r.teacherParams.toLocaleString('en-US')}` : ''})`,
        ...(r.teacherTest ? [`  teacher test top-1 ${pct(r.teacherTest.top1)}`] : []),
        ...(r.test ? [`  Aux-Net test top-1 ${pct(r.test.top1)} (n=${r.test.n})`] : []),
      ];
      return { text: lines.join('\n'), json: { ...r, runDir } };
    },
  },

  grow: {
    spec: {
      name: 'grow',
      summary: 'initialize a descendant ViT of any depth from a learngene (layer i = stage layersSource[i])',
      usage: 'learngene grow --learngene LG --depth D --out M [--layers-source 0,0,1,2,3,4] [--classes N | --classes cat,dog,…]',
      options: {
        learngene: { kind: 'string', meta: 'PATH', help: 'learngene folder or .safetensors file', required: true },
        depth: { kind: 'int', help: 'layers of the descendant', required: true, min: 1 },
        'layers-source': { kind: 'int-list', meta: 'LIST', help: 'stage index for each layer, non-decreasing (default: spread in proportion to the Aux-Net\'s stage sizes)', min: 0 },
        classes: { kind: 'string', meta: 'N|NAMES', help: 'the descendant\'s classes: a count, or the label names in order; a head is inherited only for the learngene\'s own label set' },
        out: { kind: 'string', meta: 'PATH', help: 'model folder (or .safetensors file) to write', required: true },
        seed: { kind: 'int', help: 'seed of a fresh head', default: 0, min: 0 },
        ...FORCE_OPTION,
        ...COMMON_OPTIONS,
      },
      examples: ['learngene grow --learngene models/learngene --depth 12 --out models/des-12', 'learngene grow --learngene models/learngene --depth 6 --layers-source 0,0,1,2,3,4 --classes 5 --out models/des-6'],
    },
    async run({ values }, io) {
      const request: GrowRequest = {
        kind: 'grow',
        learngene: values.learngene as string,
        depth: values.depth as number,
        ...(values['layers-source'] ? { layersSource: values['layers-source'] as number[] } : {}),
        ...(values.classes !== undefined ? parseGrowClasses(values.classes as string) : {}),
        out: values.out as string,
        seed: values.seed as number,
      };
      const { result: r } = await runRequest(request, 'grow', ephemeralRun(values, io));
      return { text: `descendant of depth ${r.depth} saved to ${r.file}: ${r.params.toLocaleString('en-US')} parameters, layers from stages ${r.layersSource.join(',') || '(TLEG expansion)'}, head ${r.headFrom === 'learngene' ? 'from the learngene' : 'fresh'}`, json: r };
    },
  },

  prune: {
    spec: {
      name: 'prune',
      summary: 'structured pruning: keep the most important attention heads and MLP units of every block of a model or learngene',
      usage: 'learngene prune (--model M | --learngene LG) --heads-keep F --mlp-keep F --out M2 [--importance weight|taylor [--data D] [--batches N]]',
      options: {
        model: { kind: 'string', meta: 'PATH', help: 'model folder or .safetensors file (foreign checkpoints too)' },
        learngene: { kind: 'string', meta: 'PATH', help: 'a learngene instead: every descendant grown from the result inherits the smaller blocks' },
        'heads-keep': { kind: 'number', meta: 'F', help: 'attention heads kept per block: a fraction in (0, 1] (0.5 = half) or a whole count', required: true },
        'mlp-keep': { kind: 'number', meta: 'F', help: 'MLP hidden units kept per block: a fraction in (0, 1] or a whole count', required: true },
        out: { kind: 'string', meta: 'PATH', help: 'model (or learngene) folder, or .safetensors file, to write', required: true },
        importance: { kind: 'string', meta: 'weight|taylor', help: 'weight norms, or first-order Taylor scores on a few training batches of --data', default: 'weight' },
        batches: { kind: 'int', meta: 'N', help: 'Taylor: training batches of 64 images', default: 8, min: 1 },
        data: DATA_OPTIONS.data!,
        limit: DATA_OPTIONS.limit!,
        classes: DATA_OPTIONS.classes!,
        seed: { kind: 'int', help: 'seed of the Taylor batches\' draw', default: 0, min: 0 },
        ...FORCE_OPTION,
        ...COMMON_OPTIONS,
      },
      examples: [
        'learngene prune --model models/des-6 --heads-keep 0.5 --mlp-keep 0.5 --out models/des-6-pruned',
        'learngene finetune --model models/des-6-pruned --epochs 1 --out models/des-6-pruned-ft',
        'learngene prune --learngene models/learngene --heads-keep 2 --mlp-keep 0.5 --importance taylor --out models/learngene-small',
      ],
    },
    async run({ values }, io) {
      const importance = values.importance as string;
      if (!IMPORTANCE_KINDS.includes(importance as ImportanceKind)) throw new UsageError(`--importance: expected weight or taylor, got "${importance}"`);
      if ((values.model === undefined) === (values.learngene === undefined)) throw new UsageError('give exactly one of --model or --learngene');
      const request: PruneRequest = {
        kind: 'prune',
        ...(values.model !== undefined ? { model: values.model as string } : { learngene: values.learngene as string }),
        out: values.out as string,
        headsKeep: values['heads-keep'] as number,
        mlpKeep: values['mlp-keep'] as number,
        importance: importance as ImportanceKind,
        ...(importance === 'taylor' ? { data: { ...DEFAULT_DATA, path: values.data as string | undefined, limit: values.limit as number | undefined, classes: values.classes as number[] | undefined }, batches: values.batches as number } : {}),
        seed: values.seed as number,
      };
      const { result: r } = await runRequest(request, 'prune', ephemeralRun(values, io));
      const share = (a: number, b: number) => `${((a / b) * 100).toFixed(0)}%`;
      const text = [
        `pruned ${r.pruned} saved to ${r.file} (${r.importance === 'taylor' ? 'Taylor' : 'weight-norm'} importance)`,
        `  heads per block ${r.heads.before} → ${r.heads.after}, MLP units ${r.mlpUnits.before} → ${r.mlpUnits.after}`,
        `  parameters ${r.params.before.toLocaleString('en-US')} → ${r.params.after.toLocaleString('en-US')} (${share(r.params.after, r.params.before)})`,
        r.pruned === 'model' ? `  heal it: learngene finetune --model ${r.out} --epochs 1 --out ${r.out}-ft` : `  grow from it: learngene grow --learngene ${r.out} --depth D --out M`,
      ];
      return { text: text.join('\n'), json: r };
    },
  },

  finetune: {
    spec: {
      name: 'finetune',
      summary: 'fine-tune a model (e.g. a grown descendant) on a dataset; a new label set gets a fresh head',
      usage: 'learngene finetune --model M --out M2 [--data D] [--epochs E --lr …]',
      options: {
        model: { kind: 'string', meta: 'PATH', help: 'model folder or .safetensors file (foreign checkpoints too)', required: true },
        out: { kind: 'string', meta: 'PATH', help: 'model folder (or .safetensors file) to write', required: true },
        ...DATA_OPTIONS,
        ...withDefaults(OPTIM_OPTIONS, { batch: 32, lr: 1e-3, 'warmup-epochs': 0.2 }),
        ...RUN_OPTIONS,
        ...COMMON_OPTIONS,
      },
    },
    async run({ values }, io) {
      const request: FinetuneRequest = { kind: 'finetune', model: values.model as string, data: dataSpecFrom(values), out: values.out as string, optim: optimFrom(values), seed: values.seed as number };
      const { result: r, runDir } = await runRequest(request, 'finetune', runOptionsFrom(values, io));
      return { text: describeTrained(r, 'fine-tuned model') + (r.headReset ? '\n  (head re-initialized for the new label set)' : ''), json: { ...r, runDir } };
    },
  },

  compare: {
    spec: {
      name: 'compare',
      summary: 'fine-tune descendants of several depths from a learngene next to baselines, same budget; prints the table',
      usage: 'learngene compare --learngene LG --depths 2,4,6 --epochs E [--baselines scratch,tleg,teacher-copy] [--teacher T] [--tleg-learngene LG2] [--data D]',
      options: {
        learngene: { kind: 'string', meta: 'PATH', help: 'SWS learngene', required: true },
        depths: { kind: 'int-list', meta: 'LIST', help: 'descendant depths', required: true, min: 1 },
        baselines: { kind: 'string-list', meta: 'LIST', help: 'any of scratch, tleg, teacher-copy', default: ['scratch'] },
        teacher: { kind: 'string', meta: 'PATH', help: 'teacher model (teacher-copy baseline)' },
        'tleg-learngene': { kind: 'string', meta: 'PATH', help: 'TLEG learngene (tleg baseline)' },
        'scratch-lrs': { kind: 'string', meta: 'LIST', help: 'learning rates tried for scratch; the best is reported (default: --lr and 2×--lr)' },
        out: { kind: 'string', meta: 'DIR', help: 'also save every fine-tuned descendant and compare.json here' },
        ...DATA_OPTIONS,
        ...withDefaults(OPTIM_OPTIONS, { batch: 32, lr: 1e-3, 'warmup-epochs': 0.2 }),
        ...RUN_OPTIONS,
        ...COMMON_OPTIONS,
      },
      examples: ['learngene compare --learngene models/learngene --teacher models/teacher --depths 2,4,6 --epochs 3 --baselines scratch,teacher-copy'],
    },
    async run({ values }, io) {
      const baselines = values.baselines as string[];
      const known = ['scratch', 'tleg', 'teacher-copy'];
      const unknown = baselines.filter((b) => !known.includes(b));
      if (unknown.length) throw new UsageError(`--baselines: unknown ${unknown.join(', ')}; choose from ${known.join(', ')}`);
      let scratchLrs: number[] | undefined;
      if (values['scratch-lrs'] !== undefined) {
        scratchLrs = String(values['scratch-lrs']).split(',').map((t) => Number(t.trim()));
        if (scratchLrs.some((lr) => !(lr > 0))) throw new UsageError(`--scratch-lrs: expected positive numbers like 1e-3,2e-3, got "${values['scratch-lrs']}"`);
      }
      const request: CompareRequest = {
        kind: 'compare',
        learngene: values.learngene as string,
        ...(values['tleg-learngene'] ? { tlegLearngene: values['tleg-learngene'] as string } : {}),
        ...(values.teacher ? { teacher: values.teacher as string } : {}),
        data: dataSpecFrom(values),
        depths: values.depths as number[],
        baselines: baselines as BaselineMethod[],
        optim: optimFrom(values),
        ...(scratchLrs ? { scratchLrs } : {}),
        seed: values.seed as number,
        ...(values.out ? { out: values.out as string } : {}),
      };
      const { result: r, runDir } = await runRequest(request, 'compare', runOptionsFrom(values, io));
      const text = `${r.table}\n\nevaluated on ${r.evalImages} ${r.evaluatedOn} images · learngene ${r.learngeneParams.toLocaleString('en-US')} parameters vs ${r.separateParams.toLocaleString('en-US')} for the ${r.rows.filter((x) => x.method === 'sws').length} descendants stored separately (${r.storedParamsRatio.toFixed(1)}×)`;
      return { text, json: { ...r, runDir } };
    },
  },

  demo: {
    spec: {
      name: 'demo',
      summary: 'the whole story on Fashion-MNIST: train a teacher, distil a learngene, grow and fine-tune descendants next to scratch',
      usage: 'learngene demo [--quick] [--data D] [--out DIR]',
      options: {
        quick: { kind: 'boolean', help: 'a smaller run (≤ 3 minutes on 2 cores)' },
        out: { kind: 'string', meta: 'DIR', help: 'where the teacher, learngene, descendants and report go', default: 'learngene-demo' },
        data: DATA_OPTIONS.data!,
        limit: DATA_OPTIONS.limit!,
        'test-limit': DATA_OPTIONS['test-limit']!,
        seed: OPTIM_OPTIONS.seed!,
        ...RUN_OPTIONS,
        ...COMMON_OPTIONS,
      },
      examples: ['learngene demo', 'learngene demo --quick'],
    },
    async run({ values }, io) {
      const request: DemoRequest = {
        kind: 'demo',
        data: { ...DEFAULT_DATA, path: values.data as string | undefined, limit: values.limit as number | undefined, testLimit: values['test-limit'] as number | undefined },
        quick: Boolean(values.quick),
        out: values.out as string,
        seed: values.seed as number,
      };
      const { result: r, runDir } = await runRequest(request, 'demo', runOptionsFrom(values, io));
      return { text: `${r.report}\n(${(r.seconds / 60).toFixed(1)} minutes)`, json: { ...r, runDir } };
    },
  },

  layers: {
    spec: {
      name: 'layers',
      summary: 'show the default layer → stage mapping for descendant depths (no training)',
      usage: 'learngene layers --stages 3,3,4,3,3 --depths 2,4,6,12',
      options: {
        stages: { kind: 'int-list', meta: 'LIST', help: 'layers per stage of the Aux-Net', required: true, min: 1 },
        depths: { kind: 'int-list', meta: 'LIST', help: 'descendant depths', required: true, min: 1 },
        json: COMMON_OPTIONS.json!,
        help: COMMON_OPTIONS.help!,
      },
    },
    async run({ values }) {
      const stages = values.stages as number[];
      const mapping = (values.depths as number[]).map((depth) => ({ depth, layersSource: defaultLayersSource(stages, depth) }));
      return { text: mapping.map((m) => `depth ${String(m.depth).padStart(2)}: ${m.layersSource.join(',')}`).join('\n'), json: { stages, mapping } };
    },
  },
};
