// Step events for UIs: a tiny model trains hundreds of steps a second, and a chart or a
// progress bar needs a few updates a second. events.jsonl keeps every step; listeners get
// at most one step per interval per job, plus the last step of every epoch (so a bar
// reaches 100% and per-epoch charts see their final point). Other events always pass.

import type { JobEvent } from '../../shared/events.js';

export const DEFAULT_STEP_INTERVAL_MS = 250;

export class StepThrottle {
  private lastPassed = -Infinity;

  constructor(private readonly intervalMs = DEFAULT_STEP_INTERVAL_MS) {}

  /** Whether to forward `event` (arriving at time `now`, ms) to listeners. */
  pass(event: JobEvent, now: number): boolean {
    if (event.type !== 'step') return true;
    const lastOfEpoch = event.step === event.stepsPerEpoch - 1;
    if (lastOfEpoch || now - this.lastPassed >= this.intervalMs) {
      this.lastPassed = now;
      return true;
    }
    return false;
  }
}
