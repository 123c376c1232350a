// The studio end to end, in browser mode and Debian Chromium: a new user drops an
// image-folder dataset (as a .tar.gz), trains a tiny teacher, distils a learngene with
// stages 1,1, grows and fine-tunes two depths with the scratch baseline, watches the
// charts update, compares, prunes the depth-2 descendant and heals it; evaluates every
// model (a confusion-matrix cell opens its images, two models side by side), drops an
// image on the page and reads every model's top-k; exports ONNX (float, and the pruned
// model as int8) — the files exist and load in onnxruntime; grows descendants for a
// class subset of another dataset (transfer). Every step: a screenshot under
// test-output/e2e/ (with LEARNGENE_DOCS_SCREENSHOTS=1 the README's also go to
// docs/screenshots/), axe-core (no serious or critical violations) and a Tab walk
// reaching every control. Then the studio restarts on the same project and shows the
// same runs.

import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BrowserContext, Page } from 'playwright-core';
import * as ort from 'onnxruntime-node';
import sharp from 'sharp';
import { checkStep, docsScreenshot, dropFiles, launchBrowser, makeShapesDataset, missingBuild, startStudio, tarGz, type RunningStudio } from './helpers.js';

const STEP_TIMEOUT = 240_000;

/** Opens a wizard step from the sidebar. */
async function step(page: Page, title: string): Promise<void> {
  await page.getByRole('navigation', { name: 'Wizard steps' }).getByRole('button', { name: new RegExp(`^${title}`) }).click();
  await page.getByRole('heading', { name: title, level: 1 }).waitFor();
}
const notBuilt = missingBuild();

describe.skipIf(notBuilt !== null)('studio end to end (browser mode)', () => {
  let root: string;
  let project: string;
  let archive: string;
  let otherArchive: string;
  let photo: string;
  let studio: RunningStudio;
  let context: BrowserContext;
  let page: Page;
  const serverLog: string[] = [];
  const pageErrors: string[] = [];

  beforeAll(async () => {
    root = mkdtempSync(path.join(os.tmpdir(), 'lg-e2e-'));
    project = path.join(root, 'project');
    const dataset = path.join(root, 'shapes');
    await makeShapesDataset(dataset);
    archive = path.join(root, 'shapes.tar.gz');
    await tarGz(dataset, archive);
    // Another dataset for the descendants (same drawing, another seed), and a photo of
    // another size than the models' for "try it".
    const other = path.join(root, 'more-shapes');
    await makeShapesDataset(other, 40, 11);
    otherArchive = path.join(root, 'more-shapes.tar.gz');
    await tarGz(other, otherArchive);
    photo = path.join(root, 'my-circle.png');
    await sharp(path.join(dataset, 'circle', '003.png')).resize(40, 30).png().toFile(photo);
    studio = await startStudio(project, path.join(root, 'config'), serverLog);
    context = await launchBrowser();
    page = await context.newPage();
    page.on('pageerror', (error) => pageErrors.push(error.message));
    await page.goto(studio.url);
    await page.getByRole('heading', { name: 'Data', level: 1 }).waitFor();
  }, 120_000);

  afterAll(async () => {
    await context?.close();
    await studio?.stop();
    if (root) rmSync(root, { recursive: true, force: true });
  });

  function expectClean(result: { axe: string[]; keyboard: string[] }) {
    expect(result.axe, `axe-core serious/critical violations:\n${result.axe.join('\n')}`).toEqual([]);
    expect(result.keyboard, `controls Tab never reached:\n${result.keyboard.join('\n')}`).toEqual([]);
  }

  it('shows the backend status and an empty project', async () => {
    await expect.poll(() => page.getByRole('status').filter({ hasText: /wasm|cpu|tensorflow/ }).count(), { timeout: 60_000 }).toBeGreaterThan(0);
    // No GPU here: the first GPU backend says plainly why it cannot be used.
    await expect.poll(() => page.getByText(/^GPU unavailable: \S.+$/).count(), { timeout: 30_000 }).toBe(1);
    expectClean(await checkStep(page, 'start'));
  }, STEP_TIMEOUT);

  it('data: a dropped archive of an image folder is uploaded and reported before anything runs', async () => {
    await dropFiles(page, [archive]);
    const report = page.getByTestId('dataset-report');
    await report.waitFor({ timeout: 60_000 });
    await expect.poll(() => report.getByRole('row').count()).toBe(4);
    for (const name of ['circle', 'cross', 'stripes']) expect(await report.getByRole('rowheader', { name }).count()).toBe(1);
    expect(await report.getByText('No problems').count()).toBe(1);
    expect(await report.locator('img').count()).toBe(12);
    expect(await page.getByLabel('Dataset folder or archive').inputValue()).toContain(path.join(project, 'uploads'));
    expectClean(await checkStep(page, 'data'));
    await docsScreenshot(page, 'data');
  }, STEP_TIMEOUT);

  it('teacher: trains a tiny ViT (depth 1, dim 16, 1 epoch) and shows what it is', async () => {
    await step(page, 'Teacher');
    await page.getByLabel('Train a teacher').check();
    await page.getByLabel('Depth (layers)').fill('1');
    await page.getByLabel('Width (dim)').fill('16');
    await page.getByLabel('Heads').fill('2');
    await page.getByLabel('Patch size').fill('4');
    await page.getByLabel('Epochs').fill('1');
    expect(await page.getByLabel('Image size').inputValue()).toBe('16');
    // The same validation message as the job service, before anything starts.
    await page.getByLabel('Heads').fill('3');
    await expect.poll(() => page.getByText('heads 3 must divide dim 16').count()).toBeGreaterThan(0);
    expect(await page.getByRole('button', { name: 'Train teacher' }).isDisabled()).toBe(true);
    await page.getByLabel('Heads').fill('2');
    await page.getByRole('button', { name: 'Train teacher' }).click();
    const summary = page.getByTestId('teacher-summary');
    await summary.waitFor({ timeout: STEP_TIMEOUT });
    expect(await summary.textContent()).toMatch(/depth 1 · dim 16 · 2 heads · patch 4/);
    expect(await summary.textContent()).toMatch(/3: circle, cross, stripes/);
    const loss = page.locator('figure', { hasText: 'Training loss' });
    expect(Number(await loss.getAttribute('data-points'))).toBeGreaterThanOrEqual(1);
    expectClean(await checkStep(page, 'teacher'));
  }, STEP_TIMEOUT);

  it('stages: resize by dragging and by keyboard, the layer map per depth, parameter counts', async () => {
    await step(page, 'Stages');
    await page.getByRole('button', { name: 'One layer more in stage 1' }).click();
    const handle = page.getByRole('slider', { name: 'Boundary between stage 1 and stage 2' });
    expect(await handle.getAttribute('aria-valuenow')).toBe('2');
    // Drag the boundary one layer to the left: stages 2,1 → 1,2.
    const box = (await handle.boundingBox())!;
    const bar = (await page.getByRole('group', { name: 'Aux-Net layers by stage' }).boundingBox())!;
    await page.mouse.move(box.x + box.width / 2, box.y + box.height / 2);
    await page.mouse.down();
    await page.mouse.move(bar.x + bar.width / 3, box.y + box.height / 2, { steps: 5 });
    await page.mouse.up();
    expect(await handle.getAttribute('aria-valuenow')).toBe('1');
    // Back with the keyboard: → moves the boundary right (2,1), then − on stage 1 → 1,1.
    await handle.focus();
    await page.keyboard.press('ArrowRight');
    expect(await handle.getAttribute('aria-valuenow')).toBe('2');
    await page.getByRole('button', { name: 'One layer fewer in stage 1' }).click();
    expect(await handle.getAttribute('aria-valuenow')).toBe('1');
    await page.getByLabel('Depths to grow').fill('1, 2');
    await expect.poll(() => page.locator('li[data-depth="2"] code').textContent()).toBe('[0,1]');
    expect(await page.locator('li[data-depth="1"] code').textContent()).toBe('[0]');
    expect(await page.getByRole('row', { name: /Learngene \(stored\)/ }).count()).toBe(1);
    expectClean(await checkStep(page, 'stages'));
  }, STEP_TIMEOUT);

  it('distill: the quick preset with stages 1,1; live curves, speed, then the learngene', async () => {
    await step(page, 'Distill');
    await page.getByText('Advanced').click();
    expect(await page.getByLabel('α (soft-label weight)').inputValue()).toBe('1');
    expect(await page.getByText(/stages 1,1/).count()).toBe(1);
    await page.getByRole('button', { name: 'Start distilling' }).click();
    const loss = page.locator('figure', { hasText: 'Distillation loss' });
    await expect.poll(async () => Number(await loss.getAttribute('data-points')), { timeout: STEP_TIMEOUT }).toBeGreaterThanOrEqual(1);
    await expect.poll(() => page.getByTestId('images-per-sec').textContent(), { timeout: 60_000 }).toMatch(/^\d/);
    await page.getByTestId('distill-result').waitFor({ timeout: STEP_TIMEOUT });
    const top1 = page.locator('figure', { hasText: 'Aux-Net validation top-1' });
    expect(Number(await top1.getAttribute('data-points'))).toBeGreaterThanOrEqual(1);
    expect(existsSync(path.join(project, 'learngene', 'learngene.safetensors'))).toBe(true);
    expectClean(await checkStep(page, 'distill'));
    await docsScreenshot(page, 'distill');
  }, STEP_TIMEOUT);

  it('descendants: grows and fine-tunes depths 1 and 2 with the scratch baseline; chart and table', async () => {
    await step(page, 'Descendants');
    expect(await page.getByLabel('Depths').inputValue()).toBe('1, 2');
    expect(await page.getByRole('checkbox', { name: /From scratch/ }).isChecked()).toBe(true);
    await page.getByLabel('Fine-tune epochs').fill('1');
    await page.getByRole('button', { name: 'Grow & fine-tune' }).click();
    const live = page.locator('figure', { hasText: 'Top-1 during fine-tuning' });
    await expect.poll(async () => Number(await live.getAttribute('data-points')), { timeout: STEP_TIMEOUT }).toBeGreaterThanOrEqual(1);
    const comparison = page.getByTestId('comparison');
    await comparison.waitFor({ timeout: STEP_TIMEOUT });
    const rows = comparison.locator('tbody tr');
    expect(await rows.count()).toBe(4);
    expect(await rows.allTextContents()).toEqual(expect.arrayContaining([expect.stringMatching(/^1SWS \(learngene\)/), expect.stringMatching(/^2From scratch/)]));
    const chart = comparison.locator('figure');
    expect(Number(await chart.getAttribute('data-points'))).toBe(4);
    await comparison.getByLabel('by parameters').check();
    expect(await chart.textContent()).toContain('Top-1 after 1 epoch(s)');
    for (const name of ['sws-d1', 'sws-d2', 'scratch-d1', 'scratch-d2']) expect(existsSync(path.join(project, 'compare', 'descendants', name, 'model.safetensors'))).toBe(true);
    expectClean(await checkStep(page, 'descendants'));
    await docsScreenshot(page, 'descendants');
  }, STEP_TIMEOUT);

  it('descendants: grow → prune → fine-tune: half the heads and MLP units of the depth-2 descendant, healed one epoch', async () => {
    const card = page.getByTestId('prune');
    await card.waitFor();
    await card.getByLabel('Model').selectOption(path.join(project, 'compare', 'descendants', 'sws-d2'));
    await card.getByLabel('Attention heads kept').selectOption({ label: 'half' });
    await card.getByLabel('MLP units kept').selectOption({ label: 'half' });
    expect(await card.getByLabel('Healing epochs').inputValue()).toBe('1');
    await card.getByLabel(/Largest effect on the loss/).check();
    await card.getByRole('button', { name: 'Prune & fine-tune' }).click();
    const result = page.getByTestId('prune-result');
    await result.waitFor({ timeout: STEP_TIMEOUT });
    expect(await result.textContent()).toMatch(/Heads per block\s*2 → 1/);
    await expect.poll(() => result.textContent(), { timeout: STEP_TIMEOUT }).toMatch(/Top-1 after fine-tuning\s*\d+\.\d%/);
    for (const name of ['sws-d2-pruned', 'sws-d2-pruned-ft']) expect(existsSync(path.join(project, 'descendants', name, 'model.safetensors'))).toBe(true);
    expectClean(await checkStep(page, 'descendants-pruned'));
  }, STEP_TIMEOUT);

  it('evaluate: every model\'s confusion matrix; a cell opens its images; two models side by side', async () => {
    await step(page, 'Evaluate');
    // Teacher, Aux-Net, the four descendants and the pruned one.
    await page.getByRole('button', { name: /^Evaluate 7 models$/ }).click();
    const evaluation = page.getByTestId('evaluation');
    await evaluation.first().waitFor({ timeout: STEP_TIMEOUT });
    await expect.poll(() => page.getByRole('button', { name: /^Evaluate \d* ?models?$/ }).isDisabled(), { timeout: STEP_TIMEOUT }).toBe(true);
    const matrix = evaluation.first().getByTestId('confusion-matrix');
    // 3 classes: a 3×3 grid whose counts add up to the test images.
    const cells = matrix.locator('tbody button');
    expect(await cells.count()).toBe(9);
    const counts = (await cells.allTextContents()).map(Number);
    expect(counts.reduce((a, b) => a + b, 0)).toBeGreaterThan(0);
    const busiest = counts.indexOf(Math.max(...counts));
    await cells.nth(busiest).click();
    const images = page.getByTestId('cell-images');
    await expect.poll(() => images.locator('img').count(), { timeout: 60_000 }).toBe(Math.min(counts[busiest]!, 24));
    expect(await images.textContent()).toMatch(/True (circle|cross|stripes), predicted (circle|cross|stripes)/);
    expect(await evaluation.first().getByTestId('per-class').locator('tbody tr').count()).toBe(3);
    await page.getByLabel('Side by side with').selectOption({ label: 'SWS · depth 2' });
    await expect.poll(() => evaluation.count()).toBe(2);
    expectClean(await checkStep(page, 'evaluate'));
    await docsScreenshot(page, 'evaluate');
  }, STEP_TIMEOUT);

  it('try it: an image dropped on the page shows every model\'s top-k; one of the test split too', async () => {
    await dropFiles(page, [photo]);
    const predictions = page.getByTestId('prediction');
    await expect.poll(() => predictions.count(), { timeout: 60_000 }).toBe(7);
    await expect.poll(async () => (await Promise.all((await predictions.all()).map((p) => p.locator('ol li').count()))).every((n) => n === 3), { timeout: 60_000 }).toBe(true);
    expect(await page.getByTestId('try-it').textContent()).toContain('my-circle.png');
    const first = await predictions.first().locator('ol li').allTextContents();
    expect(first.join(' ')).toMatch(/(circle|cross|stripes)\s*\d+\.\d%/);
    // The uploaded photo is in the project's uploads.
    expect(existsSync(path.join(project, 'uploads'))).toBe(true);
    await page.getByRole('button', { name: /^Classify (test|train) image \d+/ }).first().click();
    await expect.poll(() => page.getByTestId('try-it').textContent(), { timeout: 60_000 }).toMatch(/(test|train) image #\d+/);
    await expect.poll(async () => (await Promise.all((await predictions.all()).map((p) => p.locator('ol li').count()))).every((n) => n === 3), { timeout: 60_000 }).toBe(true);
    expectClean(await checkStep(page, 'try-it'));
    await docsScreenshot(page, 'try-it');
  }, STEP_TIMEOUT);

  it('export: ONNX of both SWS descendants; the files exist and load in onnxruntime', async () => {
    await step(page, 'Export');
    await page.getByRole('checkbox', { name: /SWS · depth 1/ }).check();
    await page.getByRole('checkbox', { name: /SWS · depth 2/ }).check();
    expect(await page.getByRole('checkbox', { name: /^ONNX runs in onnxruntime/ }).isChecked()).toBe(true);
    await page.getByRole('button', { name: 'Export 2 files' }).click();
    const files = page.getByTestId('export-file');
    await expect.poll(() => files.count(), { timeout: STEP_TIMEOUT }).toBe(2);
    const paths = await files.allTextContents();
    expect(paths.sort()).toEqual([path.join(project, 'exports', 'sws-d1.onnx'), path.join(project, 'exports', 'sws-d2.onnx')]);
    for (const file of paths) {
      expect(existsSync(file)).toBe(true);
      const session = await ort.InferenceSession.create(file);
      const input = new ort.Tensor('float32', new Float32Array(2 * 3 * 16 * 16).fill(0.5), [2, 3, 16, 16]);
      const output = await session.run({ [session.inputNames[0]!]: input });
      expect(output[session.outputNames[0]!]!.dims).toEqual([2, 3]);
    }
    // Browser mode offers a download of each file.
    expect(await page.getByRole('link', { name: 'Download' }).count()).toBe(2);
    expectClean(await checkStep(page, 'export'));
  }, STEP_TIMEOUT);

  it('export: the pruned model as int8 ONNX, calibrated on the dataset; it loads in onnxruntime', async () => {
    for (const name of [/SWS · depth 1/, /SWS · depth 2/, /^ONNX runs in onnxruntime/]) await page.getByRole('checkbox', { name }).uncheck();
    await page.getByRole('checkbox', { name: /Pruned · depth 2/ }).check();
    await page.getByRole('checkbox', { name: /ONNX int8/ }).check();
    await page.getByRole('button', { name: 'Export 1 file' }).click();
    const files = page.getByTestId('export-file');
    await expect.poll(() => files.allTextContents(), { timeout: STEP_TIMEOUT }).toEqual([path.join(project, 'exports', 'sws-d2-pruned-ft-int8.onnx')]);
    expect(await page.getByTestId('quantization').textContent()).toMatch(/^int8 weights in \d+ layers; activation ranges \((minmax|percentile)\) from \d+ images/);
    const session = await ort.InferenceSession.create(path.join(project, 'exports', 'sws-d2-pruned-ft-int8.onnx'));
    const output = await session.run({ [session.inputNames[0]!]: new ort.Tensor('float32', new Float32Array(2 * 3 * 16 * 16).fill(0.5), [2, 3, 16, 16]) });
    expect(output[session.outputNames[0]!]!.dims).toEqual([2, 3]);
    await session.release();
    expectClean(await checkStep(page, 'export-int8'));
  }, STEP_TIMEOUT);

  it('transfer: descendants of another dataset\'s class subset, with fresh heads, next to the first ones', async () => {
    await step(page, 'Descendants');
    await dropFiles(page, [otherArchive]);
    await expect.poll(() => page.getByLabel("Descendants' dataset").inputValue(), { timeout: 60_000 }).toContain(path.join(project, 'uploads'));
    expect(await page.getByLabel('Another dataset (transfer the learngene)').isChecked()).toBe(true);
    const classes = page.getByTestId('descendant-data');
    await classes.getByRole('checkbox', { name: /stripes/ }).uncheck();
    expect(await classes.textContent()).toContain('2 of 3');
    await expect.poll(() => page.getByTestId('cost-estimate').last().textContent()).toMatch(/FLOP/);
    await page.getByRole('button', { name: 'Grow & fine-tune' }).click();
    // A new comparison folder, written when the run is done.
    await expect.poll(() => existsSync(path.join(project, 'compare-2', 'compare.json')), { timeout: STEP_TIMEOUT }).toBe(true);
    const comparison = page.getByTestId('comparison');
    await expect.poll(() => comparison.locator('tbody tr').count(), { timeout: 60_000 }).toBe(4);
    expect(await page.getByTestId('job-status').first().textContent()).toBe('Finished');
    // The first comparison's models stay.
    const report = JSON.parse(readFileSync(path.join(project, 'compare-2', 'compare.json'), 'utf8')) as { rows: { method: string; head: string }[] };
    expect(report.rows.filter((r) => r.method === 'sws').map((r) => r.head)).toEqual(['fresh', 'fresh']);
    expect(existsSync(path.join(project, 'compare', 'descendants', 'sws-d1', 'model.safetensors'))).toBe(true);
    const config = JSON.parse(readFileSync(path.join(project, 'compare-2', 'descendants', 'sws-d1', 'config.json'), 'utf8')) as Record<string, unknown>;
    expect(JSON.stringify(config)).toContain('"classNames":["circle","cross"]');
    expectClean(await checkStep(page, 'transfer'));
    await docsScreenshot(page, 'transfer');
  }, STEP_TIMEOUT);

  it('reopened on the same project, the studio shows the same runs and results', async () => {
    await page.close();
    await studio.stop();
    studio = await startStudio(project, path.join(root, 'config'), serverLog);
    page = await context.newPage();
    page.on('pageerror', (error) => pageErrors.push(error.message));
    await page.goto(studio.url);
    const runs = page.getByRole('region', { name: 'Runs' });
    await expect.poll(() => runs.getByRole('button').count(), { timeout: 60_000 }).toBeGreaterThanOrEqual(4);
    await page.getByTestId('comparison').waitFor({ timeout: 60_000 });
    expect(await page.getByTestId('comparison').locator('tbody tr').count()).toBe(4);
    expect(await page.getByRole('navigation', { name: 'Wizard steps' }).getByRole('button', { name: /^Distill.*done$/ }).count()).toBe(1);
    expectClean(await checkStep(page, 'reopened'));
  }, STEP_TIMEOUT);

  it('the dark theme is a setting that sticks, and passes the same checks', async () => {
    await page.getByLabel('Theme').selectOption('dark');
    await expect.poll(() => page.evaluate(() => document.documentElement.dataset.theme)).toBe('dark');
    await page.reload();
    await page.getByTestId('comparison').waitFor({ timeout: 60_000 });
    await expect.poll(() => page.evaluate(() => document.documentElement.dataset.theme)).toBe('dark');
    expectClean(await checkStep(page, 'dark-descendants'));
    await step(page, 'Data');
    await page.getByTestId('dataset-report').waitFor({ timeout: 60_000 });
    expectClean(await checkStep(page, 'dark-data'));
    expect(pageErrors).toEqual([]);
  }, STEP_TIMEOUT);
});

it.runIf(notBuilt !== null)('studio end to end: not built', () => {
  throw new Error(notBuilt!);
});
