// The command table of `learngene`.

import { promises as fs } from 'node:fs';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import type { Command } from './main.js';
import type { OptionSpec } from './args.js';
import { UsageError } from './args.js';
import { COMMON_OPTIONS, DATA_OPTIONS, FORCE_OPTION, OPTIM_OPTIONS, RUN_OPTIONS, dataSpecFrom, optimFrom } from './options.js';
import { runRequest } from './run-request.js';
import type { TrainRequest, EvaluateRequest, ExportRequest, ImportRequest } from '../shared/api.js';
import type { ViTConfig } from '../shared/config.js';
import { initBackend } from '../node/backends.js';
import { loadAnyModel } from '../node/import.js';
import { EXPORT_FORMATS, type ExportFormat } from '../node/export/index.js';
import { CALIBRATION_METHODS, DEFAULT_DATA, type CalibrationMethod } from '../shared/api.js';
import { OnnxClassifier } from '../node/onnx-teacher.js';
import { decodeNpy, encodeNpy } from '../engine/io/npy.js';
import { FormatError } from '../engine/io/errors.js';
import { forward, disposeParams } from '../engine/model/vit.js';
import { writeFileAtomic } from '../node/fs/atomic.js';
import { foreignContent } from '../node/jobs/outputs.js';
import { openStudioBackend } from '../node/studio/backend.js';
import { formatInspection } from './inspect.js';
import { formatEvaluation, formatPredictions } from './evaluation.js';
import { SWS_COMMANDS } from './sws-commands.js';
import { describeTrained, ephemeralRun, pct, runOptionsFrom, withDefaults, type Values } from './command-helpers.js';
import { JOB_COMMANDS } from './job-commands.js';
import { studioCommand } from './studio-command.js';

const MODEL_SHAPE_OPTIONS: Record<string, OptionSpec> = {
  depth: { kind: 'int', help: 'transformer layers', default: 4, min: 1 },
  dim: { kind: 'int', help: 'embedding width', default: 64, min: 1 },
  heads: { kind: 'int', help: 'attention heads (must divide dim)', default: 4, min: 1 },
  patch: { kind: 'int', help: 'patch size in pixels (must divide the image size)', default: 7, min: 1 },
  'image-size': { kind: 'int', help: 'input size (default: the dataset\'s, else 32)', min: 1 },
  channels: { kind: 'int', help: 'input channels 1 or 3 (default: the dataset\'s)', min: 1 },
  'mlp-ratio': { kind: 'number', help: 'MLP width / dim', default: 4 },
  pooling: { kind: 'string', meta: 'cls|avg', help: 'class token or mean pooling (timm fc_norm)', default: 'avg' },
  'drop-path': { kind: 'number', help: 'stochastic depth rate of the last layer', default: 0, min: 0 },
  gelu: { kind: 'string', meta: 'exact|tanh', help: 'GELU form', default: 'exact' },
};

function modelShapeFrom(values: Values): Partial<ViTConfig> {
  const shape: Partial<ViTConfig> = {
    depth: values.depth as number,
    dim: values.dim as number,
    heads: values.heads as number,
    patchSize: values.patch as number,
    mlpRatio: values['mlp-ratio'] as number,
    pooling: values.pooling as ViTConfig['pooling'],
    dropPath: values['drop-path'] as number,
    gelu: values.gelu as ViTConfig['gelu'],
  };
  if (values['image-size'] !== undefined) shape.imageSize = values['image-size'] as number;
  if (values.channels !== undefined) shape.channels = values.channels as number;
  return shape;
}

export const COMMANDS: Record<string, Command> = {
  train: {
    spec: {
      name: 'train',
      summary: 'train a ViT from scratch (e.g. a teacher)',
      usage: 'learngene train --out M [--data D] [--depth --dim --heads --patch --image-size --epochs --batch --lr --seed --backend]',
      // Defaults tuned on a 6000-image Fashion-MNIST subset (3 epochs: 78% test top-1 vs 72-75% at batch 64 / lr 1e-3).
      options: { out: { kind: 'string', meta: 'PATH', help: 'model folder (or .safetensors file) to write', required: true }, ...DATA_OPTIONS, ...MODEL_SHAPE_OPTIONS, ...withDefaults(OPTIM_OPTIONS, { batch: 32, lr: 2e-3, 'warmup-epochs': 0.3 }), ...RUN_OPTIONS, ...COMMON_OPTIONS },
      examples: ['learngene train --data /usr/share/datasets/fashion-mnist --limit 6000 --depth 4 --dim 64 --heads 4 --patch 7 --epochs 3 --out models/teacher'],
    },
    async run({ values }, io) {
      const request: TrainRequest = { kind: 'train', data: dataSpecFrom(values), out: values.out as string, model: modelShapeFrom(values), optim: optimFrom(values), seed: values.seed as number };
      const { result, runDir } = await runRequest(request, 'train', runOptionsFrom(values, io));
      return { text: describeTrained(result, 'model'), json: { ...result, runDir } };
    },
  },

  ...SWS_COMMANDS,

  evaluate: {
    spec: {
      name: 'evaluate',
      summary: 'top-1 / top-5 / loss of a model (or a learngene\'s Aux-Net) on a split, with per-class metrics, the confusion matrix and the most confident mistakes',
      usage: 'learngene evaluate --model M [--data D] [--split test|val] [--mistakes N] [--json]',
      options: {
        model: { kind: 'string', meta: 'PATH', help: 'model folder, .safetensors file, or a learngene (evaluated as its Aux-Net)', required: true },
        split: { kind: 'string', meta: 'test|val', help: 'test split when the dataset has one (IDX t10k, a test/ folder), else validation', default: 'test' },
        mistakes: { kind: 'int', meta: 'N', help: 'how many of the most confident mistakes to list', default: 20, min: 0 },
        ...DATA_OPTIONS,
        ...COMMON_OPTIONS,
      },
    },
    async run({ values }, io) {
      const split = values.split as string;
      if (split !== 'test' && split !== 'val') throw new UsageError(`--split: expected test or val, got "${split}"`);
      const request: EvaluateRequest = { kind: 'evaluate', model: values.model as string, data: dataSpecFrom(values), split, mistakes: values.mistakes as number };
      const { result } = await runRequest(request, 'evaluate', ephemeralRun(values, io));
      return { text: formatEvaluation(result), json: result };
    },
  },

  predict: {
    spec: {
      name: 'predict',
      summary: 'top-k classes for image files (decoded and preprocessed as the model says), or a raw forward pass of an NCHW .npy',
      usage: 'learngene predict --model M --image a.png [b.jpg …] [--top 5] [--json]   |   learngene predict --model M --input x.npy --output y.npy',
      options: {
        model: { kind: 'string', meta: 'PATH', help: 'model folder, .safetensors (ours, timm, Hugging Face, torchvision), a learngene (its Aux-Net) or .onnx', required: true },
        image: { kind: 'string', meta: 'FILE', help: 'an image (PNG, JPEG, WebP, …) of any size; more may follow as arguments' },
        top: { kind: 'int', meta: 'K', help: 'classes listed per image', default: 5, min: 1 },
        input: { kind: 'string', meta: 'FILE', help: 'raw mode: NCHW float32 .npy, fed as it is (no preprocessing)' },
        output: { kind: 'string', meta: 'FILE', help: 'raw mode: logits .npy to write' },
        heads: { kind: 'int', help: 'attention heads of a foreign checkpoint without config.json', min: 1 },
        ...FORCE_OPTION,
        ...COMMON_OPTIONS,
      },
      positionals: [{ name: 'more images', required: false, variadic: true }],
      examples: ['learngene predict --model models/des-6 --image shoe.jpg shirt.png --top 3', 'learngene predict --model exports/des-6.onnx --image photo.jpg --json'],
    },
    async run({ values, positionals }) {
      if (values.image !== undefined) {
        if (values.input !== undefined || values.output !== undefined) throw new UsageError('--image and --input/--output are two modes: give one of them');
        const backend = await openStudioBackend({ projectDir: process.cwd() });
        try {
          const result = await backend.predict({ model: values.model as string, images: [values.image as string, ...positionals], top: values.top as number });
          return { text: formatPredictions(result), json: result };
        } finally {
          await backend.close();
        }
      }
      if (positionals.length > 0) throw new UsageError(`unexpected argument "${positionals[0]}" (images follow --image)`);
      if (values.input === undefined || values.output === undefined) throw new UsageError('give --image FILE (top-k classes), or --input x.npy with --output y.npy (raw logits)');
      return predictRaw(values);
    },
  },

  import: {
    spec: {
      name: 'import',
      summary: 'import a timm, Hugging Face or torchvision ViT checkpoint (safetensors) as a teacher, or an Aux-Net of the official SWS code as a learngene',
      usage: 'learngene import <file or folder> --out T [--heads N] [--stages 3,3,4,3,3]',
      options: {
        out: { kind: 'string', meta: 'PATH', help: 'model (or learngene) folder, or .safetensors file, to write', required: true },
        heads: { kind: 'int', help: 'attention heads (else config.json beside the file, else dim/64)', min: 1 },
        stages: { kind: 'int-list', meta: 'LIST', help: 'an SWS-code Aux-Net: layers per stage (its repeated_times_schedule; not in its checkpoints)', min: 1 },
        ...FORCE_OPTION,
        ...COMMON_OPTIONS,
      },
      positionals: [{ name: 'checkpoint', required: true }],
      examples: [
        'learngene import ~/Downloads/vit_small_patch16_224/ --out models/vit-s',
        'learngene import model.safetensors --heads 4 --out models/teacher',
        'learngene import aux-deit-small.safetensors --stages 3,3,4,3,3 --heads 6 --out models/learngene-imagenet',
      ],
    },
    async run({ values, positionals }, io) {
      const request: ImportRequest = {
        kind: 'import', source: positionals[0]!, out: values.out as string,
        ...(values.heads !== undefined ? { heads: values.heads as number } : {}),
        ...(values.stages !== undefined ? { stages: values.stages as number[] } : {}),
      };
      const { result } = await runRequest(request, 'import', ephemeralRun(values, io));
      const c = result.config;
      const lines = [
        result.naming === 'sws-reference' ? `imported the SWS-code Aux-Net ${result.source} as a learngene → ${result.file}` : `imported ${result.source} (${result.naming} naming) → ${result.file}`,
        `  ViT ${c.imageSize}px, patch ${c.patchSize}, dim ${c.dim}, depth ${c.depth}, heads ${c.heads}, ${c.pooling} pooling, ${c.numClasses} classes`,
        ...result.notes.map((n) => `  note: ${n}`),
      ];
      return { text: lines.join('\n'), json: result };
    },
  },

  export: {
    spec: {
      name: 'export',
      summary: 'export a model as ONNX (float or int8), a TensorFlow.js graph model, or timm-named safetensors; a learngene in the official SWS code\'s layout',
      usage: 'learngene export --model M --format onnx|tfjs|timm --out P [--quantize int8 [--calibration-data D] [--calibration-images N]]   |   learngene export --model LG --format sws-reference --out DIR',
      options: {
        model: { kind: 'string', meta: 'PATH', help: 'model folder or .safetensors file (foreign checkpoints too); for sws-reference a learngene', required: true },
        format: { kind: 'string', meta: 'FORMAT', help: 'onnx | tfjs | timm | sws-reference', required: true },
        out: { kind: 'string', meta: 'PATH', help: 'output (ONNX: a .onnx file or a folder; tfjs and timm: a folder)', required: true },
        quantize: { kind: 'string', meta: 'int8', help: 'ONNX: int8 weights per output channel; static (QDQ) with --calibration-data, else dynamic' },
        'calibration-data': { kind: 'string', meta: 'PATH', help: 'int8: images (the model\'s label set) whose activation ranges set the static quantization' },
        'calibration-images': { kind: 'int', meta: 'N', help: 'int8: calibration images', default: 256, min: 1 },
        'calibration-method': { kind: 'string', meta: 'auto|minmax|percentile', help: 'int8: activation ranges by MinMax or 99.99th percentile; auto tries both and keeps the more accurate', default: 'auto' },
        heads: { kind: 'int', help: 'attention heads of a foreign checkpoint without config.json', min: 1 },
        ...FORCE_OPTION,
        ...COMMON_OPTIONS,
      },
      examples: [
        'learngene export --model models/des-6 --format onnx --out exports/des-6.onnx',
        'learngene export --model models/des-6 --format onnx --quantize int8 --calibration-data /usr/share/datasets/fashion-mnist --out exports/des-6-int8.onnx',
        'learngene export --model models/des-6 --format timm --out exports/des-6-timm',
        'learngene export --model models/learngene --format sws-reference --out exports/learngene-sws',
      ],
    },
    async run({ values }, io) {
      const format = values.format as string;
      if (!EXPORT_FORMATS.includes(format as ExportFormat)) throw new UsageError(`--format: expected one of ${EXPORT_FORMATS.join(', ')}, got "${format}"`);
      const quantize = values.quantize as string | undefined;
      if (quantize !== undefined && quantize !== 'int8') throw new UsageError(`--quantize: expected int8, got "${quantize}"`);
      if (quantize !== undefined && format !== 'onnx') throw new UsageError(`--quantize int8 is for --format onnx, not ${format}`);
      const method = values['calibration-method'] as string;
      if (!CALIBRATION_METHODS.includes(method as CalibrationMethod)) throw new UsageError(`--calibration-method: expected one of ${CALIBRATION_METHODS.join(', ')}, got "${method}"`);
      const calibrationData = values['calibration-data'] as string | undefined;
      if (calibrationData !== undefined && quantize === undefined) throw new UsageError('--calibration-data needs --quantize int8');
      const request: ExportRequest = {
        kind: 'export',
        model: values.model as string,
        format: format as ExportFormat,
        out: values.out as string,
        ...(values.heads !== undefined ? { heads: values.heads as number } : {}),
        ...(quantize ? { quantize: 'int8' as const } : {}),
        ...(calibrationData !== undefined
          ? { calibration: { data: { ...DEFAULT_DATA, path: calibrationData }, images: values['calibration-images'] as number, method: method as CalibrationMethod } }
          : {}),
      };
      const { result } = await runRequest(request, 'export', ephemeralRun(values, io));
      const q = result.quantization;
      const lines = [
        `${format}${q ? ` int8 (${q.mode}${q.method ? `, ${q.method} ranges from ${q.calibrationImages} images` : ''})` : ''} export written:`,
        ...result.files.map((f) => `  ${f}`),
        ...(q?.tried ? [`  top-1 on ${q.tried[0]!.n} ${q.comparedOn}: float ${pct(q.floatTop1!)}, ${q.tried.map((t) => `${t.method} ${pct(t.top1)}`).join(', ')}`] : []),
        ...result.warnings.map((w) => `  warning: ${w}`),
      ];
      return { text: lines.join('\n'), json: result };
    },
  },

  inspect: {
    spec: {
      name: 'inspect',
      summary: 'describe a model, learngene or dataset: architecture, provenance, classes, counts, problems',
      usage: 'learngene inspect <model|learngene|dataset> [--json]',
      options: { ...COMMON_OPTIONS },
      positionals: [{ name: 'path', required: true }],
    },
    async run({ positionals }) {
      const backend = await openStudioBackend({ projectDir: process.cwd() });
      const result = await backend.inspect(positionals[0]!, { samples: false });
      return { text: formatInspection(result), json: result };
    },
  },

  backends: {
    spec: {
      name: 'backends',
      summary: 'which compute backends (onnxruntime execution providers, TensorFlow.js) work here, and why the others do not',
      usage: 'learngene backends [--json]',
      options: { json: COMMON_OPTIONS.json!, help: COMMON_OPTIONS.help! },
    },
    async run() {
      const backend = await openStudioBackend({ projectDir: process.cwd() });
      const statuses = await backend.backends();
      const chosen = statuses.find((s) => s.default) ?? null;
      const width = Math.max(...statuses.map((s) => s.name.length));
      const speed = (s: (typeof statuses)[number]) => (s.usable && s.trainGflops ? ` · trains at ${s.trainGflops.toFixed(1)} GFLOP/s here` : '');
      const lines = statuses.map((s) => `${s === chosen ? '*' : ' '} ${s.name.padEnd(width)}  ${s.usable ? 'ok' : 'unavailable'}  ${s.detail}${speed(s)}`);
      lines.push('', chosen ? `* default: ${chosen.name} (override with --backend)` : 'no usable backend');
      return { text: lines.join('\n'), json: { backends: statuses, default: chosen?.name ?? null } };
    },
  },

  ...JOB_COMMANDS,
  studio: studioCommand,
};

/** `predict --input x.npy --output y.npy`: the raw forward pass, no preprocessing. */
async function predictRaw(values: Values): Promise<{ text: string; json: unknown }> {
  const inputFile = values.input as string;
  const output = values.output as string;
  // An .npy carries no mark of who wrote it: an existing file is replaced only with --force.
  const existing = await foreignContent(output);
  if (existing && !values.force) throw new UsageError(`--output: ${output} already exists and ${existing}; choose another file or pass --force to replace it`);
  let bytes: Uint8Array;
  try {
    bytes = new Uint8Array(await fs.readFile(inputFile));
  } catch {
    throw new FormatError(inputFile, 'cannot be read');
  }
  const input = decodeNpy(bytes, inputFile);
  const modelPath = values.model as string;
  let logits: Float32Array;
  let classes: number;
  if (modelPath.endsWith('.onnx')) {
    // onnxruntime runs it as exported: the input is fed as given (NCHW, no preprocessing).
    const classifier = await OnnxClassifier.load(modelPath, { normalization: 'none', layout: 'NCHW', ...(input.shape.length === 4 ? { imageSize: input.shape[2]!, channels: input.shape[1]! } : {}) });
    try {
      const { channels, height, width } = classifier.input;
      if (input.shape.length !== 4 || input.shape.slice(1).join(',') !== [channels, height, width].join(',')) {
        throw new FormatError(inputFile, `has shape (${input.shape.join(', ')}) but ${modelPath} takes (N, ${channels}, ${height}, ${width}) float32 NCHW`);
      }
      logits = await classifier.run(input.data, input.shape[0]!);
      classes = classifier.numClasses;
    } finally {
      classifier.dispose();
    }
  } else {
    await initBackend(values.backend as string);
    const { network, file } = await loadAnyModel(modelPath, values.heads !== undefined ? { heads: values.heads as number } : {});
    try {
      const { channels, imageSize } = network.config;
      const expected = [channels, imageSize, imageSize];
      if (input.shape.length !== 4 || input.shape.slice(1).join(',') !== expected.join(',')) {
        throw new FormatError(inputFile, `has shape (${input.shape.join(', ')}) but ${file} takes (N, ${expected.join(', ')}) float32 NCHW`);
      }
      const out = tf.tidy(() => forward(network, tf.tensor4d(input.data, input.shape as [number, number, number, number]), { training: false }));
      logits = (await out.data()) as Float32Array;
      out.dispose();
      classes = network.config.numClasses;
    } finally {
      disposeParams(network.params);
    }
  }
  await fs.mkdir(path.dirname(path.resolve(output)), { recursive: true });
  await writeFileAtomic(output, encodeNpy({ shape: [input.shape[0]!, classes], data: logits }));
  return { text: `logits (${input.shape[0]} × ${classes}) written to ${output}`, json: { output, shape: [input.shape[0], classes] } };
}
