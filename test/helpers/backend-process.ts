// Stand-ins for the Electron utility process that hosts the studio backend: a real Node
// child process running the same entry (dist/node/studio/service-process.js), so a test
// can kill it with a signal the way a native crash ends a process.

import { fork, type ChildProcess } from 'node:child_process';
import { EventEmitter } from 'node:events';
import path from 'node:path';
import type { BackendProcess, FromBackend } from '../../node/studio/remote.js';
import { REPO_ROOT } from './fixtures.js';

export const SERVICE_ENTRY = path.join(REPO_ROOT, 'dist/node/studio/service-process.js');

/** Children started by the helpers below, so a test can crash the current one. */
export const children: ChildProcess[] = [];

function spawnChild(entry: string): ChildProcess {
  // 'advanced' serialization is the structured clone Electron's postMessage uses.
  const child = fork(entry, [], { serialization: 'advanced', stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  children.push(child);
  return child;
}

function describeExit(code: number | null, signal: NodeJS.Signals | null): string {
  return signal ? `it was killed by ${signal}` : `its process exited with code ${code}`;
}

/** A BackendProcess over a child process (what main/backend-process.ts builds over a utility process). */
export function childBackendProcess(entry = SERVICE_ENTRY): () => BackendProcess {
  return () => {
    const child = spawnChild(entry);
    return {
      post: (message) => void child.send(message),
      onMessage: (listener) => void child.on('message', (message: FromBackend) => listener(message)),
      onExit: (listener) => void child.once('exit', (code, signal) => listener(describeExit(code, signal))),
      kill: () => void child.kill(),
    };
  };
}

/** Electron's `utilityProcess` as far as main/backend-process.ts uses it, over child processes. */
export const fakeUtilityProcess = {
  fork(entry: string): EventEmitter & { postMessage(message: unknown): void; kill(): boolean } {
    const child = spawnChild(entry);
    const emitter = new EventEmitter() as EventEmitter & { postMessage(message: unknown): void; kill(): boolean };
    emitter.postMessage = (message) => void child.send(message as never);
    emitter.kill = () => child.kill();
    child.on('spawn', () => emitter.emit('spawn'));
    child.on('message', (message) => emitter.emit('message', message));
    child.on('exit', (code, signal) => emitter.emit('exit', code ?? (signal ? 128 : 0)));
    return emitter;
  },
};
