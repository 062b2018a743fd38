import { defineConfig } from 'vite';
import react from '@vitejs/plugin-react';

const server = { host: '0.0.0.0', port: 3000, strictPort: true };

export default defineConfig({
  plugins: [react()],
  // REACT_APP_* are the names the bootcamp's docker-compose.yml sets. Only variables the
  // code names one by one reach the bundle, so a secret beside them stays out.
  envPrefix: ['VITE_', 'REACT_APP_'],
  server,
  preview: server,
  test: {
    environment: 'jsdom',
    setupFiles: ['src/test/setup.js'],
    restoreMocks: true,
    unstubGlobals: true,
  },
});
