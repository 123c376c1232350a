// A compute host relayed over a MessagePort (main process → job worker): calls, typed
// arrays and errors cross; a closed port rejects pending calls.

import { MessageChannel } from 'node:worker_threads';
import { describe, expect, it } from 'vitest';
import '../../engine/gradients.js';
import { ComputeService } from '../../engine/compute/service.js';
import { createViT, disposeParams } from '../../engine/model/vit.js';
import { LocalGradients, stepDropPath } from '../../engine/train/gradients.js';
import { ComputeHostGradients } from '../../node/compute/gradients.js';
import type { ComputeHost } from '../../node/compute/host.js';
import { connectComputeHost, serveComputeHost } from '../../node/compute/relay.js';
import { useBackend } from '../helpers/fixtures.js';

describe('compute host relay', () => {
  it('carries a training step to the served host and back', async () => {
    await useBackend('wasm');
    const service = new ComputeService();
    const served: ComputeHost = { info: { backend: 'wasm', adapter: null }, call: (m, a) => service.call(m, a) as never, close: async () => undefined };
    const { port1, port2 } = new MessageChannel();
    const stop = serveComputeHost(served, port1);
    const host = await connectComputeHost(port2);
    expect(host.info.backend).toBe('wasm');

    const config = { imageSize: 8, channels: 1, patchSize: 4, dim: 16, depth: 1, heads: 2, mlpRatio: 2, qkvBias: true, pooling: 'avg' as const, layerNormEps: 1e-6, gelu: 'tanh' as const, dropPath: 0, numClasses: 3 };
    const net = createViT(config, 2);
    const batch = { images: new Float32Array(2 * 64).map((_, i) => Math.sin(i)), labels: Int32Array.from([1, 2]), size: 2 };
    const request = { network: net, trainable: new Map(net.params), batch, dropPath: stepDropPath(net, 1, 0, 2), teacher: null, labelSmoothing: 0, distill: { alpha: 1, tau: 1 } };
    const here = await new LocalGradients().compute(request);
    const there = await new ComputeHostGradients(host, net).compute(request);
    expect(there.losses.total).toBe(here.losses.total);
    for (const [name, g] of here.grads) expect(Array.from(there.grads.get(name)!.dataSync()), name).toEqual(Array.from(g.dataSync()));
    await expect(host.call('nope', null)).rejects.toThrow(/unknown method "nope"/);
    disposeParams(net.params);

    stop();
    await expect(host.call('info', null)).rejects.toThrow(/port closed/);
  });
});
