// The one place that knows which host the window runs in: Electron's preload bridge
// when present, else the browser-mode WebSocket. Components import `api` and `host`.
import { electronBridge, electronTransport } from './electron.js';
import { wsTransport, type ConnectionState } from './ws-client.js';
import type { Api, Host } from './types.js';

export type { Api, Host } from './types.js';

function pick(): { api: Api; host: Host; onState: (l: (s: ConnectionState) => void) => () => void } {
  const bridge = electronBridge();
  if (bridge) {
    const t = electronTransport(bridge);
    return { ...t, onState: (l) => (l('open'), () => undefined) };
  }
  return wsTransport(window.location);
}

const transport = pick();
export const api: Api = transport.api;
export const host: Host = transport.host;
export const onConnectionState = transport.onState;
