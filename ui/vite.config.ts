import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';
import { svelte } from '@sveltejs/vite-plugin-svelte';

const root = fileURLToPath(new URL('.', import.meta.url));

/**
 * The kiosk (shopper screen). Built to ui/dist, which the daemon serves at `/` beside socket.io.
 * `base: './'` keeps every asset URL relative, so the build works from any origin or sub-path.
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
    reportCompressedSize: false,
  },
  server: {
    host: '127.0.0.1',
    // `npm run dev:ui` against a running daemon: the socket goes to the daemon, the UI hot-reloads.
    proxy: {
      '/socket.io': { target: process.env.MIRROR_DAEMON_URL ?? 'http://127.0.0.1:8080', ws: true },
    },
  },
});
