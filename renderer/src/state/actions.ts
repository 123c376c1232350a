// Actions that touch the host and the wizard together.
import { host } from '../lib/api.js';
import type { Dropped } from '../lib/types.js';
import { wizard } from './wizard.svelte.js';
import { tryIt } from './try-it.svelte.js';

const IMAGE_FILE = /\.(png|jpe?g|webp|gif|tiff?|avif)$/i;

/**
 * Dropped or chosen files → a path the service can read (upload in browser mode) → where
 * they belong: one image on the Evaluate step is classified by every model; a dataset on
 * the Descendants step is the descendants' own (transfer); else a dataset on Data, a
 * model on Teacher.
 */
export async function receive(dropped: Dropped, hint: 'data' | 'teacher' | 'transfer' | 'image' | null): Promise<void> {
  if (hint === 'image' && dropped.top.length === 1 && IMAGE_FILE.test(dropped.top[0]!.name)) return tryIt.fromFiles(dropped);
  if (hint === 'transfer') {
    wizard.transferBusy = host.kind === 'browser' ? 'Uploading…' : 'Opening…';
    try {
      const path = await host.receiveFiles(dropped, (done, total) => (wizard.transferBusy = `Uploading ${done} / ${total}…`));
      await wizard.openTransfer(path);
    } catch (error) {
      wizard.transferError = error instanceof Error ? error.message : String(error);
      wizard.transferBusy = null;
    }
    return;
  }
  if (hint === 'image') hint = null;
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
