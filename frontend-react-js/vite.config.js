import { defineConfig } from 'vite';
import react from '@vitejs/plugin-react';

// PORT as containers and hosting platforms set it; 3000 is the port the bootcamp uses.
const server = { host: '0.0.0.0', port: Number(process.env.PORT) || 3000, strictPort: true };

export default defineConfig({
  plugins: [react()],
  // REACT_APP_* are the names the bootcamp's docker-compose.yml sets. Like VITE_*, they are
  // public: the dev server hands all of them to the browser, and a build the ones the code
  // names. A secret never gets either prefix.
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
