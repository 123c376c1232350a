// Distillation presets. 'paper' follows the reference recipe (DESIGN.md): AdamW lr 5e-4
// at batch 512, weight decay 0.05, cosine schedule, 5 warm-up epochs, α=1, τ=1.
import { DEFAULT_OPTIM, type OptimConfig } from '../../../shared/config.js';

export type PresetName = 'quick' | 'balanced' | 'paper';

export interface DistillSettings {
  alpha: number;
  tau: number;
  reduction: 'batchmean' | 'numel';
  optim: OptimConfig;
  cropPadding: number;
  horizontalFlip: boolean;
  dropPath: number;
  keepHead: boolean;
}

export const PRESETS: Record<PresetName, { label: string; summary: string; settings: DistillSettings }> = {
  quick: {
    label: 'Quick',
    summary: 'One epoch to check everything runs (minutes on a laptop CPU).',
    settings: { alpha: 1, tau: 1, reduction: 'batchmean', optim: { ...DEFAULT_OPTIM, epochs: 1, batchSize: 32, lr: 2e-3, warmupEpochs: 0 }, cropPadding: 0, horizontalFlip: false, dropPath: 0, keepHead: true },
  },
  balanced: {
    label: 'Balanced',
    summary: 'Five epochs with a short warm-up and light augmentation.',
    settings: { alpha: 1, tau: 1, reduction: 'batchmean', optim: { ...DEFAULT_OPTIM, epochs: 5, batchSize: 32, lr: 2e-3, warmupEpochs: 0.3 }, cropPadding: 2, horizontalFlip: false, dropPath: 0, keepHead: true },
  },
  paper: {
    label: 'Paper',
    summary: 'The reference recipe: AdamW 5e-4 at batch 512, wd 0.05, cosine, 5 warm-up epochs, α=1, τ=1.',
    settings: { alpha: 1, tau: 1, reduction: 'numel', optim: { ...DEFAULT_OPTIM, epochs: 100, batchSize: 512, lr: 5e-4, weightDecay: 0.05, warmupEpochs: 5, minLr: 1e-5 }, cropPadding: 4, horizontalFlip: true, dropPath: 0.1, keepHead: true },
  },
};

export function presetSettings(name: PresetName): DistillSettings {
  const s = PRESETS[name].settings;
  return { ...s, optim: { ...s.optim } };
}
