import { defineConfig } from 'vite'

// The build goes straight into the Go package that embeds it. Relative
// asset URLs let the admin listener serve it at any path.
export default defineConfig({
  base: './',
  build: {
    outDir: '../internal/dashboard/dist',
    emptyOutDir: true,
    assetsInlineLimit: 0,
    reportCompressedSize: false,
  },
  server: {
    // "npm run dev" proxies the API to a gateway's admin listener.
    proxy: { '/api': process.env.LAMBDAGATE_ADMIN || 'http://127.0.0.1:9091' },
  },
})
