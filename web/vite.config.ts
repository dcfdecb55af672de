import { defineConfig } from 'vite';

/**
 * The dashboard builds into dist/web, where the runtime looks for it (src/cli/runtime.ts). Asset names carry
 * a content hash, so the server can cache everything under assets/ for good and revalidate only index.html.
 */
export default defineConfig({
  root: import.meta.dirname,
  base: '/',
  logLevel: 'warn',
  // `vite --config web/vite.config.ts` serves the sources with hot reload against a running `edgestream demo`.
  server: {
    proxy: {
      '/api': 'http://127.0.0.1:8080',
      '/health': 'http://127.0.0.1:8080',
      '/metrics': 'http://127.0.0.1:8080',
    },
  },
  build: {
    outDir: '../dist/web',
    emptyOutDir: true,
    assetsDir: 'assets',
    sourcemap: true,
    target: 'es2022',
  },
});
