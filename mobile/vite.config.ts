import { defineConfig } from 'vite'
import vue from '@vitejs/plugin-vue'

// Served by the yunyin server at /m/ (YUNYIN_MOBILE_DIR, default mobile/dist).
export default defineConfig({
  base: '/m/',
  plugins: [vue()],
  build: { target: 'es2020', chunkSizeWarningLimit: 600 },
  server: { proxy: { '/api': 'http://127.0.0.1:8080' } },
})
