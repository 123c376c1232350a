// The studio's window: Svelte 5 built by Vite from renderer/ into renderer-dist/ with
// relative asset URLs, so the same build loads from file:// in Electron and from
// http://127.0.0.1:<port>/<token>/ in browser mode. (The compute host page has its own
// config: compute/vite.config.ts.)
import { defineConfig } from 'vite';
import { svelte } from '@sveltejs/vite-plugin-svelte';
import { fileURLToPath } from 'node:url';

const renderer = fileURLToPath(new URL('./renderer', import.meta.url));

export default defineConfig({
  root: renderer,
  base: './',
  plugins: [svelte({ configFile: fileURLToPath(new URL('./renderer/svelte.config.js', import.meta.url)) })],
  build: {
    outDir: fileURLToPath(new URL('./renderer-dist', import.meta.url)),
    emptyOutDir: true,
    target: 'es2022',
    sourcemap: true,
    chunkSizeWarningLimit: 1000,
  },
  server: { host: '127.0.0.1', fs: { allow: [fileURLToPath(new URL('.', import.meta.url))] } },
});
