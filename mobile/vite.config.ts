import { defineConfig } from 'vite'
import vue from '@vitejs/plugin-vue'

// Served by the yunyin server at /m/ (YUNYIN_MOBILE_DIR, default mobile/dist).
export default defineConfig({
  base: '/m/',
  plugins: [vue()],
  // The manifest lets bench-mobile find exactly the files a page loads.
  build: { target: 'es2020', chunkSizeWarningLimit: 600, manifest: true },
  server: { proxy: { '/api': 'http://127.0.0.1:8080' } },
})
