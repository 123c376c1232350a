// The studio backend of the desktop app runs in an Electron utility process: the jobs'
// native code (onnxruntime, sharp, tfjs-node) never shares a process with the window's
// main process, so a native crash ends the jobs it was running (they resume from their
// last checkpoint), and node/studio/remote.ts starts a fresh process. The process runs
// node/studio/service-process.js, the same host a worker thread runs in the tests.

import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type * as Electron from 'electron';
import { superviseBackend, type BackendProcess, type FromBackend, type RemoteBackendOptions, type SupervisedBackend, type ToBackend } from '../node/studio/remote.js';

const here = path.dirname(fileURLToPath(import.meta.url));
/** dist/node/studio/service-process.js (from the sources, as tests run them: the built one). */
export const SERVICE_ENTRY = import.meta.url.endsWith('.ts') ? path.resolve(here, '../dist/node/studio/service-process.js') : path.resolve(here, '../node/studio/service-process.js');

type UtilityProcessModule = Pick<typeof Electron.utilityProcess, 'fork'>;

/** Starts utility processes running `entry`, as the supervisor's BackendProcess. */
export function utilityBackendProcess(utilityProcess: UtilityProcessModule, entry = SERVICE_ENTRY): () => BackendProcess {
  return () => {
    const child = utilityProcess.fork(entry, [], { serviceName: 'Learngene Studio jobs', stdio: 'inherit' });
    // Messages wait for the process to exist.
    let spawned = false;
    const queue: ToBackend[] = [];
    child.once('spawn', () => {
      spawned = true;
      for (const message of queue.splice(0)) child.postMessage(message);
    });
    let fatal: string | null = null;
    child.on('error', (type: string, location: string) => {
      fatal = `${type} at ${location}`;
    });
    return {
      post: (message) => (spawned ? child.postMessage(message) : void queue.push(message)),
      onMessage: (listener) => void child.on('message', (message: FromBackend) => listener(message)),
      onExit: (listener) => void child.once('exit', (code: number) => listener(fatal ? `it crashed: ${fatal}` : `its process exited with code ${code}`)),
      kill: () => void child.kill(),
    };
  };
}

/** The studio backend of `options.projectDir` in a supervised utility process. */
export function openBackendProcess(utilityProcess: UtilityProcessModule, options: RemoteBackendOptions, entry = SERVICE_ENTRY): Promise<SupervisedBackend> {
  return superviseBackend(utilityBackendProcess(utilityProcess, entry), options);
}
