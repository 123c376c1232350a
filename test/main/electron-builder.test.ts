// The packaging config (electron-builder.yml): valid for electron-builder's own schema,
// fuses flipped against running the binary as Node and against loading code from
// outside the checked app.asar, and the app's code inside that archive (only native and
// wasm files unpacked).

import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = path.resolve(__dirname, '../..');
const require = createRequire(import.meta.url);
const yaml = require('js-yaml') as { load(text: string): unknown };
const { minimatch } = require('minimatch') as { minimatch(file: string, pattern: string, options?: { dot?: boolean }): boolean };

interface BuilderConfig {
  asar: boolean;
  asarUnpack: string[];
  files: string[];
  electronFuses: Record<string, boolean>;
}

const config = yaml.load(readFileSync(path.join(ROOT, 'electron-builder.yml'), 'utf8')) as BuilderConfig;
const unpacked = (file: string) => config.asarUnpack.some((pattern) => minimatch(file, pattern, { dot: true }));

describe('electron-builder.yml', () => {
  it('passes electron-builder\'s own validation', async () => {
    const { validateConfiguration } = require('app-builder-lib/out/util/config/config.js') as { validateConfiguration(c: unknown, logger: unknown): Promise<void> };
    await expect(validateConfiguration(config, { isEnabled: false, add: () => undefined })).resolves.toBeUndefined();
    // The check does refuse a wrong config (so the line above can fail).
    await expect(validateConfiguration({ ...config, electronFuses: { runAsNode: 'no' } }, { isEnabled: false, add: () => undefined })).rejects.toThrow(/Invalid configuration object/);
  });

  it('flips the fuses: no running as Node, no NODE_OPTIONS or --inspect, the app only from an integrity-checked asar', () => {
    expect(config.electronFuses).toEqual({
      runAsNode: false,
      enableCookieEncryption: true,
      enableNodeOptionsEnvironmentVariable: false,
      enableNodeCliInspectArguments: false,
      enableEmbeddedAsarIntegrityValidation: true,
      onlyLoadAppFromAsar: true,
      grantFileProtocolExtraPrivileges: false,
    });
  });

  it('keeps the app\'s own code in the asar and unpacks only native and wasm files', () => {
    expect(config.asar).toBe(true);
    for (const own of ['dist/main/electron-main.js', 'dist/main/preload.cjs', 'dist/node/studio/service-process.js', 'dist/node/jobs/worker.js', 'dist/engine/model/vit.js', 'renderer-dist/index.html', 'resources/fashion-mnist-sample/manifest.json', 'node_modules/onnxruntime-node/dist/index.js', 'node_modules/sharp/lib/index.js']) {
      expect(unpacked(own), own).toBe(false);
    }
    for (const native of [
      'node_modules/onnxruntime-node/bin/napi-v6/linux/x64/onnxruntime_binding.node',
      'node_modules/onnxruntime-node/bin/napi-v6/linux/x64/libonnxruntime.so.1',
      'node_modules/@img/sharp-linux-x64/lib/sharp-linux-x64.node',
      'node_modules/@img/sharp-libvips-linux-x64/lib/libvips-cpp.so.8.17.3',
      'node_modules/@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm-simd.wasm',
      'node_modules/@tensorflow/tfjs-node/lib/napi-v8/tfjs_binding.node',
      'node_modules/@tensorflow/tfjs-node/lib/napi-v8/libtensorflow.so.2',
    ]) {
      expect(unpacked(native), native).toBe(true);
    }
  });
});
