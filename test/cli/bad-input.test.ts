// Bad input, everywhere: each malformed input gives ONE message naming the file or field
// and what was expected, a non-zero exit code, and leaves the project folder
// byte-identical (every file hashed before and after; commands run inside the project,
// which already holds a finished run, and write their --out inside it).

import { existsSync, promises as fs } from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  corruptPngFolder, editedSafetensors, headerLength, idxCountMismatch, idxTruncatedGzip, idxWrongMagic, imageFolder,
  npyWithShape, OVER_HEADER_LIMIT, truncatedJpegFolder, truncatedSafetensors,
} from '../helpers/bad-inputs.js';
import { hashTree, requireBuild, runCli, SAMPLE_DATA, tempDir } from '../helpers/jobs.js';

requireBuild();

const commands = new Set<string>();
for (const name of ['distill', 'grow', 'finetune', 'prune']) if ((await runCli([name, '--help'])).code === 0) commands.add(name);

/** Inputs built once; paths outside the project. */
interface Inputs {
  root: string;
  base: string;
  teacher: string;
  learngene: string | null;
  [name: string]: string | null;
}

interface Row {
  name: string;
  /** `P` is the row's project folder (also the working directory). */
  args: (inputs: Inputs, P: string) => string[];
  /** Expected in the single "learngene <command>: …" error line. */
  message: (inputs: Inputs, P: string) => string | RegExp;
  code?: number;
  needs?: string;
}

const TINY = ['--depth', '1', '--dim', '16', '--heads', '2', '--epochs', '1', '--batch', '4', '--val-fraction', '0'];
const train = (P: string, ...extra: string[]) => ['train', ...TINY, '--out', path.join(P, 'models/x'), '--project', P, ...extra];
const sample = ['--data', SAMPLE_DATA, '--limit', '40'];

const ROWS: Row[] = [
  // Datasets
  { name: 'corrupt PNG', args: (i, P) => train(P, '--data', i.corruptPng!, '--patch', '8'), message: (i) => `${i.corruptPngFile}: cannot be decoded as an image` },
  { name: 'truncated JPEG', args: (i, P) => train(P, '--data', i.truncJpeg!, '--patch', '8'), message: (i) => `${i.truncJpegFile}: cannot be decoded as an image` },
  { name: 'empty class folder', args: (i, P) => train(P, '--data', i.emptyClass!), message: (i) => `${path.join(i.emptyClass!, 'b')}: class folder "b" has no images` },
  { name: 'single-class folder', args: (i, P) => train(P, '--data', i.singleClass!), message: (i) => `${i.singleClass}: has a single class folder ("a"); a classifier needs at least two classes` },
  { name: 'IDX image/label count mismatch', args: (i, P) => train(P, '--data', i.idxCount!), message: (i) => `holds 10 images but ${path.join(i.idxCount!, 'train-labels-idx1-ubyte')} holds 9 labels; the counts must match` },
  { name: 'IDX wrong magic', args: (i, P) => train(P, '--data', i.idxMagic!), message: (i) => `${path.join(i.idxMagic!, 'train-images-idx3-ubyte')}: is not an IDX image file: magic number 0x00000d03, expected 0x00000803` },
  { name: 'truncated .gz', args: (i, P) => train(P, '--data', i.idxGz!), message: (i) => `${path.join(i.idxGz!, 'train-images-idx3-ubyte.gz')}: is a truncated gzip file` },
  { name: 'nonexistent --data path', args: (i, P) => train(P, '--data', path.join(i.root, 'no-such-dataset')), message: (i) => `data.path: ${path.join(i.root, 'no-such-dataset')} does not exist (expected a dataset` },
  { name: '--classes with one class', args: (_, P) => train(P, ...sample, '--classes', '3'), message: () => 'data.classes: needs at least two class indices to train a classifier' },
  { name: '--classes index out of range', args: (_, P) => train(P, ...sample, '--classes', '0,12'), message: () => `data.classes: class 12 does not exist in ${SAMPLE_DATA} (it has 10 classes: 0..9)` },
  { name: '--val-fraction 1.5', args: (_, P) => train(P, ...sample, '--val-fraction', '1.5'), message: () => 'data.valFraction: must be in [0, 1), got 1.5' },
  // Model shape and optimizer
  { name: 'heads not dividing dim', args: (_, P) => train(P, ...sample, '--dim', '30', '--heads', '4'), message: () => 'model.heads: heads 4 must divide dim 30' },
  { name: 'patch not dividing image size', args: (_, P) => train(P, ...sample, '--patch', '5'), message: () => 'model.patchSize: patch size 5 must divide image size 28' },
  { name: 'negative epochs', args: (_, P) => train(P, ...sample, '--epochs', '-1'), message: () => '--epochs: must be at least 0, got -1' },
  { name: '--epochs abc', args: (_, P) => train(P, ...sample, '--epochs', 'abc'), message: () => '--epochs: expected an integer, got "abc"' },
  { name: '--lr 0', args: (_, P) => train(P, ...sample, '--lr', '0'), message: () => 'optim.lr: must be greater than 0' },
  { name: 'unknown flag', args: (_, P) => train(P, ...sample, '--learning-rate', '1'), message: () => "unknown option '--learning-rate' (see \"learngene train --help\")" },
  { name: 'missing --out', args: (_, P) => ['train', ...sample, '--project', P], message: () => '--out is required (see "learngene train --help")' },
  { name: '--checkpoint-every -1', args: (_, P) => train(P, ...sample, '--checkpoint-every', '-1'), message: () => '--checkpoint-every: must be at least 0, got -1' },
  { name: 'unknown --backend', args: (_, P) => train(P, ...sample, '--backend', 'gpu'), message: () => /^backend: unknown backend "gpu"; choose one of auto, onnxruntime-cuda, ([\w-]+, )*wasm, cpu$/ },
  // Model files
  { name: 'truncated safetensors', args: (i) => ['evaluate', '--model', i.truncated!, ...sample], message: (i) => new RegExp(`^${esc(i.truncated!)}: (tensor "[^"]+" ends at byte \\d+ of the data section but the file holds only \\d+ data bytes \\(truncated\\)|declares a \\d+-byte header)`) },
  { name: 'header larger than the file', args: (i) => ['evaluate', '--model', i.headerTooLong!, ...sample], message: (i) => new RegExp(`^${esc(i.headerTooLong!)}: declares a \\d+-byte header but the file has only \\d+ bytes after the length \\(truncated or not safetensors\\)`) },
  { name: 'header over MAX_HEADER_BYTES', args: (i) => ['evaluate', '--model', i.headerHuge!, ...sample], message: (i) => `${i.headerHuge}: declares a ${OVER_HEADER_LIMIT}-byte header, over the 104857600-byte limit (not a safetensors file, or corrupt)` },
  { name: 'unsupported dtype F8', args: (i) => ['evaluate', '--model', i.dtypeF8!, ...sample], message: (i) => new RegExp(`^${esc(i.dtypeF8!)}: tensor "[^"]+" has unsupported dtype "F8" \\(supported: F64, F32, F16, BF16`) },
  { name: 'unsupported dtype Q4 (finetune, in the worker)', needs: 'finetune', args: (i, P) => ['finetune', '--model', i.dtypeQ4!, ...sample, '--epochs', '1', '--out', path.join(P, 'models/ft'), '--project', P], message: (i) => new RegExp(`^${esc(i.dtypeQ4!)}: tensor "[^"]+" has unsupported dtype "Q4"`) },
  { name: 'tensor shape vs config mismatch', args: (i) => ['evaluate', '--model', i.shapeMismatch!, ...sample], message: (i) => `${i.shapeMismatch}: tensor "head.weight" has shape [16,10] but the config (dim 16, depth 2, 10 classes, patch 7, image 28) needs [10,16]` },
  { name: 'model config in metadata: heads not dividing dim', args: (i) => ['evaluate', '--model', i.badConfig!, ...sample], message: (i) => `${i.badConfig}: __metadata__ config.heads: heads 3 must divide dim 16` },
  { name: 'a 10-class model on a 5-class subset', args: (i) => ['evaluate', '--model', i.teacher, ...sample, '--classes', '0-4'], message: (i) => `data: ${path.join(i.teacher, 'model.safetensors')} predicts 10 classes but ${SAMPLE_DATA} has 5` },
  { name: 'finetune of a model that does not exist', needs: 'finetune', args: (i, P) => ['finetune', '--model', path.join(i.root, 'no-model'), ...sample, '--out', path.join(P, 'models/ft'), '--project', P], message: (i) => `model: ${path.join(i.root, 'no-model')} does not exist (expected a model folder or .safetensors file)` },
  // predict
  { name: 'predict input with the wrong shape', args: (i, P) => ['predict', '--model', i.teacher, '--input', i.wrongShapeNpy!, '--output', path.join(P, 'y.npy')], message: (i) => `${i.wrongShapeNpy}: has shape (2, 1, 14, 14) but ${path.join(i.teacher, 'model.safetensors')} takes (N, 1, 28, 28) float32 NCHW` },
  { name: '.npy that is not npy', args: (i, P) => ['predict', '--model', i.teacher, '--input', i.notNpy!, '--output', path.join(P, 'y.npy')], message: (i) => `${i.notNpy}: is not a .npy file (missing the \\x93NUMPY magic)` },
  // SWS
  { name: 'distill: TLEG with two stages', needs: 'distill', args: (i, P) => ['distill', '--teacher', i.teacher, '--aux', 'tleg', '--stages', '1,1', ...sample, '--out', path.join(P, 'lg'), '--project', P], message: () => 'stages: a TLEG Aux-Net has one stage: give its depth, e.g. --stages 12' },
  { name: 'distill: a stage of 0 layers', needs: 'distill', args: (i, P) => ['distill', '--teacher', i.teacher, '--stages', '1,0', ...sample, '--out', path.join(P, 'lg'), '--project', P], message: () => '--stages: every value must be at least 1, got 1,0' },
  { name: 'distill: teacher labels ≠ data labels', needs: 'distill', args: (i, P) => ['distill', '--teacher', i.teacher, '--stages', '1,1', ...sample, '--classes', '0-4', '--out', path.join(P, 'lg'), '--project', P], message: (i) => `data: teacher ${path.join(i.teacher, 'model.safetensors')} predicts 10 classes but ${SAMPLE_DATA} has 5` },
  { name: 'grow: learngene whose stages do not sum to its depth', needs: 'grow', args: (i, P) => ['grow', '--learngene', i.badStages!, '--depth', '2', '--out', path.join(P, 'models/g')], message: (i) => `${i.badStages}: __metadata__ stages: stages 1,2 sum to 3 layers but depth is 2` },
  { name: 'grow: --layers-source longer than --depth', needs: 'grow', args: (i, P) => ['grow', '--learngene', i.learngene!, '--depth', '2', '--layers-source', '0,0,1', '--out', path.join(P, 'models/g')], message: () => 'layersSource: has 3 entries but depth is 2' },
  { name: 'grow: --layers-source shorter than --depth', needs: 'grow', args: (i, P) => ['grow', '--learngene', i.learngene!, '--depth', '3', '--layers-source', '0,1', '--out', path.join(P, 'models/g')], message: () => 'layersSource: has 2 entries but depth is 3' },
  { name: 'grow: --layers-source index ≥ number of stages', needs: 'grow', args: (i, P) => ['grow', '--learngene', i.learngene!, '--depth', '2', '--layers-source', '0,2', '--out', path.join(P, 'models/g')], message: () => 'layersSource: entry 1 is 2; every index must be a stage in 0..1' },
  { name: 'grow: --layers-source out of stage order', needs: 'grow', args: (i, P) => ['grow', '--learngene', i.learngene!, '--depth', '2', '--layers-source', '1,0', '--out', path.join(P, 'models/g')], message: () => 'layersSource: entry 1 (0) comes after 1; stage order must be kept (non-decreasing)' },
  // Pruning and int8 export
  { name: 'prune: --heads-keep 0', needs: 'prune', args: (i, P) => ['prune', '--model', i.teacher, '--heads-keep', '0', '--mlp-keep', '0.5', '--out', path.join(P, 'models/p')], message: () => 'headsKeep: must keep some heads: a fraction in (0, 1] or a whole count, got 0' },
  { name: 'prune: more heads than the model has', needs: 'prune', args: (i, P) => ['prune', '--model', i.teacher, '--heads-keep', '3', '--mlp-keep', '0.5', '--out', path.join(P, 'models/p')], message: () => 'headsKeep: cannot keep 3 heads: the model has 2' },
  { name: 'prune: a fraction that keeps no head', needs: 'prune', args: (i, P) => ['prune', '--model', i.teacher, '--heads-keep', '0.2', '--mlp-keep', '0.5', '--out', path.join(P, 'models/p')], message: () => 'headsKeep: 0.2 of 2 heads keeps none (the smallest fraction that keeps one is 0.500)' },
  { name: 'prune: --mlp-keep 1.5', needs: 'prune', args: (i, P) => ['prune', '--model', i.teacher, '--heads-keep', '1', '--mlp-keep', '1.5', '--out', path.join(P, 'models/p')], message: () => 'mlpKeep: 1.5 is neither a fraction in (0, 1] nor a whole count of MLP units' },
  { name: 'prune: more MLP units than a learngene has', needs: 'distill', args: (i, P) => ['prune', '--learngene', i.learngene!, '--heads-keep', '1', '--mlp-keep', '100', '--out', path.join(P, 'models/p')], message: () => 'mlpKeep: cannot keep 100 MLP units: the learngene has 64' },
  { name: 'prune: --model and --learngene', needs: 'prune', args: (i, P) => ['prune', '--model', i.teacher, '--learngene', i.teacher, '--heads-keep', '1', '--mlp-keep', '1', '--out', path.join(P, 'models/p')], message: () => 'give exactly one of --model or --learngene' },
  { name: 'export: --quantize int4', args: (i, P) => ['export', '--model', i.teacher, '--format', 'onnx', '--quantize', 'int4', '--out', path.join(P, 'models/q.onnx')], message: () => '--quantize: expected int8, got "int4"' },
  { name: 'export: int8 of a tfjs export', args: (i, P) => ['export', '--model', i.teacher, '--format', 'tfjs', '--quantize', 'int8', '--out', path.join(P, 'models/q')], message: () => '--quantize int8 is for --format onnx, not tfjs' },
  { name: 'export: calibration data without --quantize', args: (i, P) => ['export', '--model', i.teacher, '--format', 'onnx', '--calibration-data', SAMPLE_DATA, '--out', path.join(P, 'models/q.onnx')], message: () => '--calibration-data needs --quantize int8' },
  { name: 'export: calibration data with another label set', args: (i, P) => ['export', '--model', i.teacher, '--format', 'onnx', '--quantize', 'int8', '--calibration-data', i.twoClass!, '--out', path.join(P, 'models/q.onnx')], message: (i) => `calibration.data: ${i.twoClass} has 2 classes but the model predicts 10; calibrate on the data the model was trained for` },
  // Outputs that are not ours (issue 14): refused, never replaced (--force would)
  { name: 'train --out the project folder itself', args: (_, P) => train(P, ...sample).map((a) => (a === path.join(P, 'models/x') ? P : a)), message: (_, P) => `out: ${P} already exists and is a folder with files learngene did not write; it would be replaced.` },
  { name: 'export --out a folder that is not an export', args: (i, P) => ['export', '--model', i.teacher, '--format', 'tfjs', '--out', path.join(P, 'runs')], message: (_, P) => `out: ${path.join(P, 'runs')} already exists and is a folder with files learngene did not write` },
  { name: 'import --out a file that is not ours', args: (i, P) => ['import', path.join(i.teacher, 'model.safetensors'), '--out', path.join(P, 'project.json')], message: (_, P) => `out: ${path.join(P, 'project.json')} already exists and is a file learngene did not write` },
  { name: 'predict --output over an existing file', args: (i, P) => ['predict', '--model', i.teacher, '--input', i.wrongShapeNpy!, '--output', path.join(P, 'project.json')], message: (_, P) => `--output: ${path.join(P, 'project.json')} already exists and is a file learngene did not write; choose another file or pass --force` },
  // Runs
  { name: 'resume of a folder that is not a run', args: (i) => ['resume', i.root], message: (i) => `${i.root}: is not a run folder (no request.json; runs live in <project>/runs/<id>/)` },
  { name: 'resume of an unknown run id', args: (_, P) => ['resume', 'no-such-run', '--project', P], message: (_, P) => `no-such-run: is neither a run folder nor a run id in ${path.join(P, 'runs')}` },
  { name: 'resume of a run with a corrupt request.json', args: (i) => ['resume', i.corruptRun!], message: (i) => `${path.join(i.corruptRun!, 'request.json')}: is not valid JSON` },
  { name: 'resume of a run whose request is invalid', args: (i) => ['resume', i.invalidRun!], message: (i) => `${path.join(i.invalidRun!, 'request.json')}: model.heads heads 4 must divide dim 30` },
];

function esc(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

let inputs: Inputs;

beforeAll(async () => {
  const root = await tempDir('bad-input');
  const base = path.join(root, 'base-project');
  const teacher = path.join(root, 'teacher');
  const trained = await runCli(['train', '--data', SAMPLE_DATA, '--limit', '200', '--test-limit', '50', '--epochs', '1', '--depth', '2', '--dim', '16', '--heads', '2', '--batch', '16', '--out', teacher, '--project', base]);
  expect(trained.code, trained.stderr).toBe(0);
  const model = path.join(teacher, 'model.safetensors');
  let learngene: string | null = null;
  if (commands.has('distill')) {
    const lg = path.join(root, 'learngene');
    const distilled = await runCli(['distill', '--teacher', teacher, '--stages', '1,1', '--data', SAMPLE_DATA, '--limit', '200', '--epochs', '1', '--batch', '16', '--out', lg, '--project', path.join(root, 'lg-project'), '--json']);
    expect(distilled.code, distilled.stderr).toBe(0);
    learngene = JSON.parse(distilled.stdout.trim().split('\n').pop()!).file as string;
  }
  const f = (name: string) => path.join(root, name);
  const corruptPng = await corruptPngFolder(f('corrupt-png'));
  const truncJpeg = await truncatedJpegFolder(f('truncated-jpeg'));
  const corruptRun = f('corrupt-run');
  await fs.mkdir(corruptRun);
  await fs.writeFile(path.join(corruptRun, 'request.json'), '{"kind": "train", "data": ');
  const invalidRun = f('invalid-run');
  await fs.mkdir(invalidRun);
  await fs.writeFile(path.join(invalidRun, 'request.json'), JSON.stringify({
    kind: 'train', out: 'x', seed: 0, model: { dim: 30, heads: 4 }, data: { valFraction: 0.1, augment: { cropPadding: 0, horizontalFlip: false } },
    optim: { epochs: 1, batchSize: 4, lr: 1e-3, minLr: 0, weightDecay: 0, warmupEpochs: 0, beta1: 0.9, beta2: 0.999, eps: 1e-8, clipGradNorm: 1, labelSmoothing: 0 },
  }));
  inputs = {
    root,
    base,
    teacher,
    learngene,
    corruptPng: corruptPng.dir,
    corruptPngFile: corruptPng.bad,
    truncJpeg: truncJpeg.dir,
    truncJpegFile: truncJpeg.bad,
    emptyClass: await imageFolder(f('empty-class'), { a: 3, b: 0 }),
    singleClass: await imageFolder(f('single-class'), { a: 3 }),
    twoClass: await imageFolder(f('two-class'), { a: 3, b: 3 }),
    idxCount: await idxCountMismatch(f('idx-count')),
    idxMagic: await idxWrongMagic(f('idx-magic')),
    idxGz: await idxTruncatedGzip(f('idx-gz')),
    truncated: await truncatedSafetensors(model, f('truncated.safetensors')),
    headerTooLong: await headerLength(model, f('header-too-long.safetensors'), (await fs.stat(model)).size + 1000),
    headerHuge: await headerLength(model, f('header-huge.safetensors'), OVER_HEADER_LIMIT),
    dtypeF8: await editedSafetensors(model, f('dtype-f8.safetensors'), (h) => (h['head.bias'].dtype = 'F8')),
    dtypeQ4: await editedSafetensors(model, f('dtype-q4.safetensors'), (h) => (h['head.bias'].dtype = 'Q4')),
    shapeMismatch: await editedSafetensors(model, f('shape.safetensors'), (h) => (h['head.weight'].shape = [...h['head.weight'].shape].reverse())),
    badConfig: await editedSafetensors(model, f('bad-config.safetensors'), (h) => {
      h.__metadata__.config = JSON.stringify({ ...JSON.parse(h.__metadata__.config), heads: 3 });
    }),
    wrongShapeNpy: await npyWithShape(f('wrong-shape.npy'), [2, 1, 14, 14]),
    notNpy: f('not.npy'),
    badStages: learngene ? await editedSafetensors(learngene, f('bad-stages.safetensors'), (h) => (h.__metadata__.stages = '[1,2]')) : null,
    corruptRun,
    invalidRun,
  };
  await fs.writeFile(inputs.notNpy!, 'x,y\n1,2\n');
  expect(ROWS.filter((r) => !r.needs || commands.has(r.needs)).length).toBeGreaterThanOrEqual(25);
});

describe('bad input: one clear message, exit code ≠ 0, project unchanged', () => {
  it.each(ROWS.map((row, index) => ({ ...row, index })))('$name', async (row) => {
    if (row.needs && !commands.has(row.needs)) {
      console.log(`[bad-input] skipped "${row.name}": no "learngene ${row.needs}" command yet`);
      return;
    }
    // Each row gets its own copy of a project that already holds a finished run.
    const P = path.join(inputs.root, 'rows', String(row.index));
    await fs.cp(inputs.base, P, { recursive: true });
    const before = await hashTree(P);
    const args = row.args(inputs, P);
    const result = await runCli(args, { cwd: P });
    const after = await hashTree(P);

    const command = args[0]!;
    const errorLines = result.stderr.split('\n').filter((l) => l.startsWith(`learngene ${command}: `));
    console.log(`[bad-input] ${row.name} → exit ${result.code}: ${errorLines.join(' | ')}`);
    expect(result.code, result.stderr).toBe(row.code ?? 2);
    expect(errorLines, result.stderr).toHaveLength(1);
    const message = errorLines[0]!.slice(`learngene ${command}: `.length);
    const expected = row.message(inputs, P);
    if (typeof expected === 'string') expect(message).toContain(expected);
    else expect(message).toMatch(expected);
    expect(after).toEqual(before);
    expect(result.stdout).toBe('');
    expect(existsSync(path.join(P, 'models'))).toBe(false);
  });
});
