// Actions that touch the host and the wizard together.
import { host } from '../lib/api.js';
import type { Dropped } from '../lib/types.js';
import { wizard } from './wizard.svelte.js';

/** Dropped or chosen files → a path the service can read (upload in browser mode) → inspect. */
export async function receive(dropped: Dropped, hint: 'data' | 'teacher' | null): Promise<void> {
  const toTeacher = hint === 'teacher' || (hint === null && dropped.top.length === 1 && /\.(safetensors|onnx)$/i.test(dropped.top[0]!.name));
  const setBusy = (text: string | null) => (toTeacher ? (wizard.teacherBusy = text) : (wizard.dataBusy = text));
  setBusy(host.kind === 'browser' ? 'Uploading…' : 'Opening…');
  try {
    const path = await host.receiveFiles(dropped, (done, total) => setBusy(`Uploading ${done} / ${total}…`));
    setBusy(null);
    await wizard.openPath(path, toTeacher ? 'teacher' : 'data');
  } catch (error) {
    setBusy(null);
    const message = error instanceof Error ? error.message : String(error);
    if (toTeacher) wizard.teacherError = message;
    else wizard.dataError = message;
  }
}
