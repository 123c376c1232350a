#!/usr/bin/env node
// Builds resources/fashion-mnist-sample/: a class-balanced, seeded subset of Fashion-MNIST
// stored as IDX .gz files named like the originals, so the app has a dataset to train on
// out of the box. The largest candidate size whose files fit the budget is used.
//
//   npm run build && node scripts/make-fashion-mnist-sample.mjs [sourceDir] [outDir]

import { createHash } from 'node:crypto';
import { existsSync, promises as fs } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
if (!existsSync(path.join(repo, 'dist/node/data/idx.js'))) {
  console.error('dist/ is missing: run `npm run build` first');
  process.exit(1);
}
const { readIdxPair, encodeIdx, encodeIdxGz, FASHION_MNIST_CLASSES } = await import(path.join(repo, 'dist/node/data/idx.js'));
const { selectIndices, classCounts } = await import(path.join(repo, 'dist/engine/data/pipeline.js'));
const { writeFileAtomic } = await import(path.join(repo, 'dist/node/fs/atomic.js'));

const SEED = 20240806;
/** Per-class (train, test) sizes, largest first. */
const CANDIDATES = [[1000, 200], [800, 160], [600, 100]];
const BUDGET_BYTES = 5_000_000;

const sourceDir = path.resolve(process.argv[2] ?? '/usr/share/datasets/fashion-mnist');
const outDir = path.resolve(process.argv[3] ?? path.join(repo, 'resources/fashion-mnist-sample'));

const sha256 = (bytes) => createHash('sha256').update(bytes).digest('hex');

function gather(pair, indices) {
  const imageBytes = pair.height * pair.width;
  const pixels = new Uint8Array(indices.length * imageBytes);
  const labels = new Uint8Array(indices.length);
  indices.forEach((index, k) => {
    pixels.set(pair.images.data.subarray(index * imageBytes, (index + 1) * imageBytes), k * imageBytes);
    labels[k] = pair.labels[index];
  });
  return { pixels, labels, dims: [indices.length, pair.height, pair.width] };
}

async function buildSplit(pair, perClass, split) {
  const labels = Int32Array.from(pair.labels);
  const indices = selectIndices(labels, { perClass, seed: SEED + (split === 'train' ? 0 : 1) });
  const { pixels, labels: picked, dims } = gather(pair, indices);
  const prefix = split === 'train' ? 'train' : 't10k';
  return {
    indices,
    counts: classCounts(picked, 10),
    files: {
      [`${prefix}-images-idx3-ubyte.gz`]: { raw: encodeIdx(dims, pixels), gz: await encodeIdxGz(dims, pixels) },
      [`${prefix}-labels-idx1-ubyte.gz`]: { raw: encodeIdx([picked.length], picked), gz: await encodeIdxGz([picked.length], picked) },
    },
  };
}

const train = await readIdxPair(path.join(sourceDir, 'train-images-idx3-ubyte.gz'), path.join(sourceDir, 'train-labels-idx1-ubyte.gz'));
const test = await readIdxPair(path.join(sourceDir, 't10k-images-idx3-ubyte.gz'), path.join(sourceDir, 't10k-labels-idx1-ubyte.gz'));

let chosen = null;
for (const [trainPerClass, testPerClass] of CANDIDATES) {
  const trainSplit = await buildSplit(train, trainPerClass, 'train');
  const testSplit = await buildSplit(test, testPerClass, 'test');
  const files = { ...trainSplit.files, ...testSplit.files };
  const total = Object.values(files).reduce((n, f) => n + f.gz.length, 0);
  console.log(`${trainPerClass}/class train + ${testPerClass}/class test: ${total} bytes gzipped`);
  if (total <= BUDGET_BYTES) {
    chosen = { trainPerClass, testPerClass, trainSplit, testSplit, files, total };
    break;
  }
}
if (!chosen) {
  console.error(`no candidate fits ${BUDGET_BYTES} bytes`);
  process.exit(1);
}

const sourceFiles = {};
for (const name of ['train-images-idx3-ubyte.gz', 'train-labels-idx1-ubyte.gz', 't10k-images-idx3-ubyte.gz', 't10k-labels-idx1-ubyte.gz']) {
  sourceFiles[name] = sha256(await fs.readFile(path.join(sourceDir, name)));
}

await fs.mkdir(outDir, { recursive: true });
const manifestFiles = {};
for (const [name, { raw, gz }] of Object.entries(chosen.files)) {
  await writeFileAtomic(path.join(outDir, name), gz);
  // The uncompressed hash is stable across zlib versions; the .gz hash is of this build.
  manifestFiles[name] = { bytes: gz.length, sha256: sha256(gz), uncompressedSha256: sha256(raw) };
}
await writeFileAtomic(path.join(outDir, 'classes.txt'), FASHION_MNIST_CLASSES.join('\n') + '\n');

const manifest = {
  name: 'fashion-mnist-sample',
  description: 'Class-balanced subset of Fashion-MNIST (Zalando Research), IDX format',
  license: 'MIT',
  copyright: 'Copyright © 2017 Zalando SE, https://tech.zalando.com',
  upstream: 'https://github.com/zalandoresearch/fashion-mnist',
  generator: 'scripts/make-fashion-mnist-sample.mjs',
  seed: SEED,
  selection: 'selectIndices(labels, { perClass, seed }) from engine/data/pipeline.ts; train uses seed, test seed + 1; original order kept',
  imageSize: [28, 28],
  classNames: FASHION_MNIST_CLASSES,
  train: { perClass: chosen.trainPerClass, total: chosen.trainSplit.indices.length, classCounts: chosen.trainSplit.counts },
  test: { perClass: chosen.testPerClass, total: chosen.testSplit.indices.length, classCounts: chosen.testSplit.counts },
  files: manifestFiles,
  source: { dir: sourceDir, sha256: sourceFiles },
};
await writeFileAtomic(path.join(outDir, 'manifest.json'), JSON.stringify(manifest, null, 2) + '\n');

await writeFileAtomic(path.join(outDir, 'README.md'), `# Fashion-MNIST sample

A class-balanced subset of [Fashion-MNIST](https://github.com/zalandoresearch/fashion-mnist)
(Xiao, Rasul & Vollgraf, 2017), shipped so Learngene Studio can train something out of the
box. Same IDX format and file names as the original; open this folder as a dataset.

- train: ${chosen.trainPerClass} images per class (${chosen.trainSplit.indices.length} in all), from the original 60,000
- test (t10k): ${chosen.testPerClass} images per class (${chosen.testSplit.indices.length} in all), from the original 10,000
- 28×28 grayscale, 10 classes: ${FASHION_MNIST_CLASSES.join(', ')}
- chosen with seed ${SEED}; \`manifest.json\` lists the counts and the SHA-256 of every file

Regenerate with \`npm run build && node scripts/make-fashion-mnist-sample.mjs\`.

Fashion-MNIST is © 2017 Zalando SE and released under the MIT license (see \`LICENSE\`).
`);

await writeFileAtomic(path.join(outDir, 'LICENSE'), `The MIT License (MIT) Copyright © 2017 Zalando SE, https://tech.zalando.com

Permission is hereby granted, free of charge, to any person obtaining a copy of this software and associated documentation files (the “Software”), to deal in the Software without restriction, including without limitation the rights to use, copy, modify, merge, publish, distribute, sublicense, and/or sell copies of the Software, and to permit persons to whom the Software is furnished to do so, subject to the following conditions:

The above copyright notice and this permission notice shall be included in all copies or substantial portions of the Software.

THE SOFTWARE IS PROVIDED “AS IS”, WITHOUT WARRANTY OF ANY KIND, EXPRESS OR IMPLIED, INCLUDING BUT NOT LIMITED TO THE WARRANTIES OF MERCHANTABILITY, FITNESS FOR A PARTICULAR PURPOSE AND NONINFRINGEMENT. IN NO EVENT SHALL THE AUTHORS OR COPYRIGHT HOLDERS BE LIABLE FOR ANY CLAIM, DAMAGES OR OTHER LIABILITY, WHETHER IN AN ACTION OF CONTRACT, TORT OR OTHERWISE, ARISING FROM, OUT OF OR IN CONNECTION WITH THE SOFTWARE OR THE USE OR OTHER DEALINGS IN THE SOFTWARE.
`);

const all = await fs.readdir(outDir);
let total = 0;
for (const name of all) total += (await fs.stat(path.join(outDir, name))).size;
console.log(`wrote ${outDir}: ${all.length} files, ${total} bytes (${chosen.trainPerClass}/class train, ${chosen.testPerClass}/class test)`);
