// The one dispatch of a window's calls, behind both adapters (main/ipc.ts for Electron
// IPC, server/studio-server.ts for the WebSocket): the call is checked against its
// argument schema (shared/calls.ts), then handed to the studio backend or the host, and
// every answer, value or error, comes back as an RpcResult envelope.

import type { StudioApi } from '../../shared/api.js';
import { isStudioMethod, validateCall, type CallName } from '../../shared/calls.js';
import { assertValid } from '../../shared/config.js';
import type { StudioHost } from '../../shared/host.js';
import { settle, type RpcResult } from '../../shared/rpc.js';

/** The host's calls (native dialogs, reveal, settings), as an adapter provides them. */
export type HostCalls = Omit<StudioHost, 'kind'>;

export type Dispatch = (method: unknown, args: unknown) => Promise<RpcResult>;

type AnyCall = (...args: unknown[]) => Promise<unknown>;

export function createDispatch(api: StudioApi, host: HostCalls): Dispatch {
  return (method, args) =>
    settle(async () => {
      assertValid(validateCall(method, args));
      // validateCall accepted `method` as a call name and `args` as its list of arguments.
      const name = method as CallName;
      const list = args as unknown[];
      if (isStudioMethod(name)) return (api[name] as AnyCall).apply(api, list);
      return (host[name] as AnyCall).apply(host, list);
    });
}
