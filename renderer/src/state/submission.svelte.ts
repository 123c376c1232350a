// A button that submits a job: disabled while the request is on its way; a refusal goes
// to the studio's error banner (every step's start button works this way).
import { studio } from './studio.svelte.js';

export class Submission {
  busy = $state(false);

  async run(action: () => Promise<unknown>): Promise<void> {
    this.busy = true;
    try {
      await action();
    } catch (error) {
      studio.fail(error);
    } finally {
      this.busy = false;
    }
  }
}
