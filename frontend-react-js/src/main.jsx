import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { BrowserRouter } from 'react-router';
import { App } from './App';
import { BackendProvider } from './backend';
import { backendUrl, collectorUrl } from './config';
import { startTracing } from './tracing';
import './styles.css';

// Before the first fetch, so that every request to the backend carries `traceparent`.
startTracing({ backendUrl, collectorUrl });

createRoot(document.getElementById('root')).render(
  <StrictMode>
    <BackendProvider url={backendUrl}>
      <BrowserRouter>
        <App />
      </BrowserRouter>
    </BackendProvider>
  </StrictMode>,
);
