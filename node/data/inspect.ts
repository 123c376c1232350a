// A dataset health report before training: counts per class and split, image sizes,
// channels, and every problem with the file it is about. Image folders are decoded in
// full, so truncated and corrupt files show up here rather than in epoch 7.

import path from 'node:path';

import { classCounts } from '../../engine/data/pipeline.js';
import type { Dataset } from '../../engine/data/types.js';
import { FormatError } from '../../engine/io/errors.js';
import { mapLimit } from './files.js';
import { decodeImageFull, defaultDecodeConcurrency, folderLayoutProblems, type DatasetProblem, type FolderScan } from './folder.js';
import { detectDataset, extractToCache, openDataset, type OpenDatasetOptions } from './open.js';

export type { DatasetProblem } from './folder.js';
import type { DatasetReportInfo } from '../../shared/api.js';

/** The dataset report (the type crosses to the studio window, so it lives in shared/). */
export type InspectReport = DatasetReportInfo;

export interface InspectOptions extends OpenDatasetOptions {
  /** Images decoded at once (folders). */
  concurrency?: number;
  /** Called as folder images are decoded. */
  onProgress?: (progress: { done: number; total: number }) => void;
}

function addSize(sizes: Record<string, number>, width: number, height: number, count: number): void {
  const key = `${width}x${height}`;
  sizes[key] = (sizes[key] ?? 0) + count;
}

function reportFromDataset(dataset: Dataset): InspectReport {
  const { train, test } = dataset;
  const numClasses = train.classNames.length;
  const trainCounts = classCounts(train.labels, numClasses);
  const testCounts = test ? classCounts(test.labels, numClasses) : null;
  const imageSizes: Record<string, number> = {};
  for (const source of test ? [train, test] : [train]) {
    if (source.storedSize) addSize(imageSizes, source.storedSize.width, source.storedSize.height, source.labels.length);
  }
  const problems: DatasetProblem[] = [];
  train.classNames.forEach((name, c) => {
    if (trainCounts[c] === 0) problems.push({ file: train.name, severity: 'warning', message: `class ${c} ("${name}") has no training images` });
  });
  if (numClasses < 2) problems.push({ file: train.name, severity: 'error', message: `has ${numClasses} class; a classifier needs at least two` });
  return {
    format: dataset.format,
    root: dataset.root,
    splits: { train: train.labels.length, test: test ? test.labels.length : null },
    classes: train.classNames.map((name, c) => ({ name, count: trainCounts[c]!, ...(testCounts ? { testCount: testCounts[c]! } : {}) })),
    imageSizes,
    channels: train.channels,
    problems,
  };
}

async function inspectFolder(scan: FolderScan, options: InspectOptions): Promise<InspectReport> {
  const problems: DatasetProblem[] = [...folderLayoutProblems(scan), ...scan.ignored];
  const testByName = new Map((scan.test?.classes ?? []).map((c) => [c.name, c.files.length]));
  const files = [...scan.train.classes, ...(scan.test?.classes ?? [])].flatMap((c) => c.files);
  const imageSizes: Record<string, number> = {};
  let color = false;
  let done = 0;
  await mapLimit(files, options.concurrency ?? defaultDecodeConcurrency(), async (file) => {
    try {
      const image = await decodeImageFull(file, 'warning');
      addSize(imageSizes, image.width, image.height, 1);
      if (image.channels === 3) color = true;
    } catch (strictError) {
      // Some files only trip libvips warnings (e.g. extra bytes after the JPEG end):
      // training reads them, so they are warnings; the rest are errors.
      try {
        const image = await decodeImageFull(file, 'error');
        addSize(imageSizes, image.width, image.height, 1);
        if (image.channels === 3) color = true;
        problems.push({ file, severity: 'warning', message: `decodes with warnings (${(strictError as Error).message.replace(`${file}: `, '')})` });
      } catch (error) {
        const message = error instanceof FormatError ? error.message.slice(error.file.length + 2) : String(error);
        problems.push({ file, severity: 'error', message });
      }
    }
    options.onProgress?.({ done: ++done, total: files.length });
  });
  const trainCount = scan.train.classes.reduce((n, c) => n + c.files.length, 0);
  return {
    format: 'folder',
    root: path.resolve(scan.root),
    splits: { train: trainCount, test: scan.test ? scan.test.classes.reduce((n, c) => n + c.files.length, 0) : null },
    classes: scan.train.classes.map((c) => ({ name: c.name, count: c.files.length, ...(scan.test ? { testCount: testByName.get(c.name) ?? 0 } : {}) })),
    imageSizes,
    channels: color ? 3 : 1,
    problems: sortProblems(problems),
  };
}

function sortProblems(problems: DatasetProblem[]): DatasetProblem[] {
  const rank = (p: DatasetProblem) => (p.severity === 'error' ? 0 : 1);
  return problems.sort((a, b) => rank(a) - rank(b) || (a.file < b.file ? -1 : a.file > b.file ? 1 : 0));
}

/**
 * Inspects `target` (anything openDataset accepts). Unrecognised paths throw; a
 * recognised dataset with bad files returns a report whose problems name them.
 */
export async function inspectDataset(target: string, options: InspectOptions = {}): Promise<InspectReport> {
  let detected = await detectDataset(target, options);
  if (detected.format === 'archive') detected = await detectDataset(await extractToCache(detected.file, options.cacheDir), options);
  if (detected.format === 'folder') return inspectFolder(detected.scan, options);
  if (detected.format === 'archive') throw new FormatError(target, 'is an archive holding only another archive; extract it first');
  try {
    const report = reportFromDataset(await openDataset(detected.dir, options));
    report.problems = sortProblems(report.problems);
    return report;
  } catch (error) {
    if (!(error instanceof FormatError)) throw error;
    return {
      format: detected.format,
      root: path.resolve(detected.dir),
      splits: { train: 0, test: null },
      classes: [],
      imageSizes: {},
      channels: 0,
      problems: [{ file: error.file, severity: 'error', message: error.message.slice(error.file.length + 2) }],
    };
  }
}

/** The report as text for a terminal or a log. */
export function formatInspectReport(report: InspectReport, maxProblems = 50): string {
  const lines: string[] = [];
  const errors = report.problems.filter((p) => p.severity === 'error').length;
  const warnings = report.problems.length - errors;
  lines.push(`Dataset: ${report.root}`);
  lines.push(`Format:  ${report.format}`);
  lines.push(`Images:  ${report.splits.train} train, ${report.splits.test === null ? 'no test split' : `${report.splits.test} test`}`);
  lines.push(`Channels: ${report.channels === 3 ? '3 (colour)' : report.channels === 1 ? '1 (grayscale)' : 'unknown'}`);
  const sizes = Object.entries(report.imageSizes).sort((a, b) => b[1] - a[1]);
  if (sizes.length > 0) {
    const shown = sizes.slice(0, 8).map(([size, n]) => `${size} (${n})`).join(', ');
    lines.push(`Sizes:   ${shown}${sizes.length > 8 ? `, … ${sizes.length} sizes in all` : ''}`);
  }
  if (report.classes.length > 0) {
    lines.push(`Classes (${report.classes.length}):`);
    const width = Math.min(32, Math.max(...report.classes.map((c) => c.name.length)));
    const countWidth = Math.max(...report.classes.map((c) => String(c.count).length));
    for (const c of report.classes) {
      const test = c.testCount === undefined ? '' : `  test ${c.testCount}`;
      lines.push(`  ${c.name.padEnd(width)}  ${String(c.count).padStart(countWidth)}${test}`);
    }
  }
  if (report.problems.length === 0) {
    lines.push('Problems: none');
  } else {
    lines.push(`Problems: ${errors} error${errors === 1 ? '' : 's'}, ${warnings} warning${warnings === 1 ? '' : 's'}`);
    for (const p of report.problems.slice(0, maxProblems)) lines.push(`  ${p.severity === 'error' ? 'error  ' : 'warning'} ${p.file}: ${p.message}`);
    if (report.problems.length > maxProblems) lines.push(`  … and ${report.problems.length - maxProblems} more`);
  }
  return lines.join('\n');
}
