// Entry of the process that hosts the studio backend for the desktop app: an Electron
// utility process (`process.parentPort`); tests stand in for one with a Node child
// process (`process.send`) or a worker thread. Either way the same host
// (node/studio/remote.ts) serves the same backend; a native crash in a job takes this
// process down, never the window.

import { parentPort as workerPort } from 'node:worker_threads';
import { hostStudioBackend, type Channel, type FromBackend, type ToBackend } from './remote.js';
import { openStudioBackend } from './backend.js';

/** Electron's utility-process port: messages arrive as events with `data`. */
interface UtilityParentPort {
  postMessage(message: unknown): void;
  on(event: 'message', listener: (event: { data: unknown }) => void): void;
}

function channel(): Channel<FromBackend, ToBackend> {
  const utility = (process as unknown as { parentPort?: UtilityParentPort }).parentPort;
  if (utility) {
    return {
      post: (message) => utility.postMessage(message),
      onMessage: (listener) => utility.on('message', (event) => listener(event.data as ToBackend)),
    };
  }
  if (process.send) {
    const send = process.send.bind(process);
    // Its parent gone, nobody can use it: end with the parent.
    process.on('disconnect', () => process.exit(0));
    return {
      post: (message) => void send(message),
      onMessage: (listener) => void process.on('message', (message: ToBackend) => listener(message)),
    };
  }
  if (workerPort) {
    const port = workerPort;
    return {
      post: (message) => port.postMessage(message),
      onMessage: (listener) => port.on('message', (message: ToBackend) => listener(message)),
    };
  }
  throw new Error('node/studio/service-process.js runs as an Electron utility process, a child process or a worker thread');
}

hostStudioBackend(channel(), (options) => openStudioBackend(options));
