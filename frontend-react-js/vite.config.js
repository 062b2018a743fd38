import { defineConfig } from 'vite';
import react from '@vitejs/plugin-react';

// The hosting platforms' public URLs, each a subdomain per port (a leading dot allows
// every subdomain): Codespaces (`<name>-3000.app.github.dev`), today's Gitpod
// (`3000--<id>.<region>.gitpod.dev`) and Gitpod Classic (`3000-<id>.ws-<cluster>.gitpod.io`).
// Any other Host is refused, which keeps Vite's DNS-rebinding protection.
const PLATFORM_HOSTS = ['.app.github.dev', '.gitpod.dev', '.gitpod.io'];
// More hosts, comma-separated, for a proxy or tunnel of your own (README: "The front end").
const extraHosts = (process.env.CRUDDUR_ALLOWED_HOSTS || '').split(',').map((host) => host.trim()).filter(Boolean);

// PORT as containers and hosting platforms set it; 3000 is the port the bootcamp uses.
// HMR is left to connect back to the page's own host and port, which behind a platform's
// HTTPS proxy is wss on 443.
const server = {
  host: '0.0.0.0',
  port: Number(process.env.PORT) || 3000,
  strictPort: true,
  allowedHosts: [...PLATFORM_HOSTS, ...extraHosts],
};

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
