import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';
import { svelte } from '@sveltejs/vite-plugin-svelte';

const root = fileURLToPath(new URL('.', import.meta.url));

/**
 * The store manager's dashboard and the operator console (one app), built to fleet/dashboard/dist,
 * which the fleet service serves at `/` beside its API. Its own build, apart from the kiosk's.
 */
export default defineConfig({
  root,
  base: './',
  plugins: [svelte()],
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    target: 'chrome110',
    sourcemap: true,
    reportCompressedSize: true,
  },
  server: {
    host: '127.0.0.1',
    // `npm run dev:dashboard` against a running fleet service: same-origin API through the proxy.
    proxy: { '/api': { target: process.env.FLEET_URL ?? 'http://127.0.0.1:8090' } },
  },
});
