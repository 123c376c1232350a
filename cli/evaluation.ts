// What `learngene evaluate` and `learngene predict --image` print: the headline metrics,
// a per-class table and the most confident mistakes; each image's top classes. The whole
// result (confusion matrix included) is their --json.

import type { PredictResult } from '../shared/api.js';
import type { EvaluateResult } from '../shared/results.js';
import { pct } from './command-helpers.js';

export function formatEvaluation(result: EvaluateResult): string {
  const lines = [`${result.split} split of ${result.dataset}: top-1 ${pct(result.top1)}, top-5 ${pct(result.top5)}, loss ${result.loss.toFixed(4)} (n=${result.n})`];
  const width = Math.max(5, ...result.per_class.map((c) => c.label.length));
  lines.push('', `${'class'.padEnd(width)}  ${'n'.padStart(6)}  accuracy  precision  recall`);
  for (const c of result.per_class) {
    lines.push(`${c.label.padEnd(width)}  ${String(c.n).padStart(6)}  ${pct(c.accuracy).padStart(8)}  ${pct(c.precision).padStart(9)}  ${pct(c.recall).padStart(6)}`);
  }
  if (result.mistakes.length) {
    const where = result.indexSplit === 'test' ? 'test' : 'train';
    lines.push('', `most confident mistakes (${where} image index: true → predicted, probability):`);
    for (const m of result.mistakes) lines.push(`  #${m.index}: ${m.label} → ${m.predictedLabel} (${pct(m.probability)})`);
  }
  return lines.join('\n');
}

export function formatPredictions(result: PredictResult): string {
  const lines = [`${result.model} (input ${result.channels === 1 ? 'grayscale' : 'RGB'} ${result.imageSize}×${result.imageSize}):`];
  for (const p of result.predictions) {
    lines.push(`  ${p.image}: ${p.top.map((t) => `${t.label} ${pct(t.probability)}`).join(', ')}`);
  }
  return lines.join('\n');
}
