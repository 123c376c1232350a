// "Try it": one image (dropped, chosen, or from the dataset's test split) through every
// model of the project, each model's top-k side by side.
import type { DatasetImage, ImageRef, PredictResult } from '../../../shared/api.js';
import { api, host } from '../lib/api.js';
import type { Dropped } from '../lib/types.js';
import { wizard } from './wizard.svelte.js';

export const TOP_K = 3;

function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

class TryIt {
  /** The image being classified and how to show it. */
  image = $state.raw<{ ref: ImageRef; name: string; preview: string | null } | null>(null);
  /** Each model's answer (by model path), or why it failed. */
  results = $state.raw<Record<string, PredictResult | { error: string }>>({});
  busy = $state<string | null>(null);
  error = $state<string | null>(null);
  /** A few images of the main dataset's test split to pick from. */
  samples = $state.raw<DatasetImage[]>([]);
  samplesSplit = $state<'train' | 'test'>('test');
  private samplesFor = '';

  /** Loads the strip of dataset images (once per dataset). */
  async loadSamples(): Promise<void> {
    const data = wizard.data;
    if (!data || !wizard.dataPath || this.samplesFor === wizard.dataPath) return;
    this.samplesFor = wizard.dataPath;
    const test = data.report.splits.test ?? 0;
    const split = test > 0 ? 'test' : 'train';
    const total = test > 0 ? test : data.report.splits.train;
    const count = Math.min(8, total);
    const indices = Array.from({ length: count }, (_, i) => Math.floor((i * total) / count));
    try {
      this.samples = count ? await api.datasetImages({ dataset: wizard.dataPath, split, indices, size: 56 }) : [];
      this.samplesSplit = split;
    } catch {
      this.samples = [];
    }
  }

  /** A dropped or chosen image file. */
  async fromFiles(dropped: Dropped): Promise<void> {
    this.busy = host.kind === 'browser' ? 'Uploading…' : 'Opening…';
    this.error = null;
    try {
      const file = dropped.top[0];
      const path = await host.receiveFiles(dropped);
      await this.classify(path, file?.name ?? path, file ? URL.createObjectURL(file) : null);
    } catch (error) {
      this.error = errorText(error);
    } finally {
      this.busy = null;
    }
  }

  async fromSample(sample: DatasetImage): Promise<void> {
    await this.classify({ dataset: wizard.dataPath, split: this.samplesSplit, index: sample.index }, `${this.samplesSplit} image #${sample.index} (${sample.label})`, sample.dataUrl);
  }

  /** Every model's top-k for `ref`, asked in parallel. */
  async classify(ref: ImageRef, name: string, preview: string | null): Promise<void> {
    const previous = this.image?.preview;
    if (previous?.startsWith('blob:') && previous !== preview) URL.revokeObjectURL(previous);
    this.image = { ref, name, preview };
    this.results = {};
    this.error = null;
    this.busy = 'Classifying…';
    try {
      await Promise.all(wizard.evaluables.map(async (model) => {
        let answer: PredictResult | { error: string };
        try {
          answer = await api.predict({ model: model.path, images: [ref], top: TOP_K });
        } catch (error) {
          answer = { error: errorText(error) };
        }
        this.results = { ...this.results, [model.path]: answer };
      }));
    } finally {
      this.busy = null;
    }
  }
}

export const tryIt = new TryIt();
