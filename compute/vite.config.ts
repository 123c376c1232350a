// The compute host page: the engine on tfjs WebGPU (and the cpu backend as a fallback)
// as ONE classic script, so it loads from file:// in a hidden Electron window and from
// http://localhost/ in headless Chromium alike. Output: dist/compute-host/.
//   npx vite build --config compute/vite.config.ts      (npm run build:compute)
import { defineConfig } from 'vite';
import { fileURLToPath } from 'node:url';

const here = fileURLToPath(new URL('.', import.meta.url));

export default defineConfig({
  root: here,
  publicDir: fileURLToPath(new URL('./public', import.meta.url)),
  logLevel: 'warn',
  build: {
    outDir: fileURLToPath(new URL('../dist/compute-host', import.meta.url)),
    emptyOutDir: true,
    target: 'es2022',
    sourcemap: false,
    minify: true,
    chunkSizeWarningLimit: 8000,
    lib: {
      entry: fileURLToPath(new URL('./page.ts', import.meta.url)),
      formats: ['iife'],
      name: 'learngeneComputePage',
      fileName: () => 'compute.js',
    },
  },
  define: { 'process.env.NODE_ENV': '"production"' },
});
