import { describe, expect, it } from 'vitest';
import { defaultViTConfig, type ViTConfig } from '../../shared/config.js';
import { blockParamCount, descendantParamCount, formatParams, learngeneParamCount, stemParamCount, vitParamCount } from '../../shared/param-count.js';
import { blockParamShapes, stemParamShapes, vitParamShapes } from '../../engine/model/vit.js';

const size = (shapes: Map<string, number[]>) => [...shapes.values()].reduce((n, s) => n + s.reduce((a, b) => a * b, 1), 0);

const CONFIGS: ViTConfig[] = [
  defaultViTConfig(),
  defaultViTConfig({ pooling: 'cls', qkvBias: false, mlpRatio: 2, numClasses: 3 }),
  defaultViTConfig({ imageSize: 224, patchSize: 16, channels: 3, dim: 192, heads: 3, depth: 12, numClasses: 1000, pooling: 'cls' }),
  defaultViTConfig({ imageSize: 16, patchSize: 4, channels: 3, dim: 16, heads: 2, depth: 1, numClasses: 3 }),
];

describe('param-count (pure arithmetic) matches the engine\'s shapes', () => {
  it.each(CONFIGS)('ViT %#', (config) => {
    expect(vitParamCount(config)).toBe(size(vitParamShapes(config)));
    expect(blockParamCount(config)).toBe(size(blockParamShapes(config)));
    const stem = stemParamShapes(config);
    const head = stem.get('head.weight')!.reduce((a, b) => a * b, 1) + stem.get('head.bias')![0]!;
    expect(stemParamCount(config)).toBe(size(stem) - head);
  });

  it('ViT-Ti/16 has the published 5.7 M parameters', () => {
    expect(formatParams(vitParamCount(CONFIGS[2]!))).toBe('5.72 M');
  });

  it('a learngene stores one block per stage (SWS) or two (TLEG), the stem, and the head when kept', () => {
    const config = defaultViTConfig({ depth: 16 });
    const stages = [3, 3, 4, 3, 3];
    const stem = stemParamCount(config);
    const block = blockParamCount(config);
    expect(learngeneParamCount(config, stages)).toBe(stem + 5 * block);
    expect(learngeneParamCount(config, [12], 'tleg')).toBe(stem + 2 * block);
    expect(learngeneParamCount(config, stages, 'sws', true) - learngeneParamCount(config, stages)).toBe(config.dim * config.numClasses + config.numClasses);
    expect(descendantParamCount(config, 12, 5)).toBe(vitParamCount({ ...config, depth: 12, numClasses: 5 }));
  });

  it('formats counts', () => {
    expect(formatParams(999)).toBe('999');
    expect(formatParams(12_345)).toBe('12.3 k');
    expect(formatParams(86_567_656)).toBe('86.6 M');
  });
});
