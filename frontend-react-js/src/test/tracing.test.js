import { context, propagation, trace } from '@opentelemetry/api';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { originPattern, startTracing } from '../tracing';

// Node resolves the exporter's Node build, which sends with node:http; Vite bundles its browser
// build, which sends with fetch. Tested is the browser build: the real one, not a stand-in.
vi.mock('@opentelemetry/exporter-trace-otlp-http', () => (
  import('@opentelemetry/exporter-trace-otlp-http/build/src/platform/browser/index.js')
));

describe('originPattern', () => {
  it("matches only URLs on the backend's own origin", () => {
    const backend = originPattern('http://localhost:4567/');
    expect(backend.test('http://localhost:4567/api/activities/home')).toBe(true);
    expect(backend.test('http://localhost:4567')).toBe(true);
    expect(backend.test('http://localhost:45670/api')).toBe(false);
    expect(backend.test('https://localhost:4567/api')).toBe(false);
    expect(backend.test('http://localhost:4567.evil.test/api')).toBe(false);
    expect(backend.test('http://evil.test/?next=http://localhost:4567/')).toBe(false);
  });

  it('treats dots in the host as dots', () => {
    expect(originPattern('https://api.cruddur.com').test('https://apixcruddur.com/')).toBe(false);
  });
});

// The config module reads import.meta.env once, when it is first imported.
async function configFrom(env) {
  for (const [name, value] of Object.entries(env)) vi.stubEnv(name, value);
  vi.resetModules();
  return import('../config');
}

const UNSET = {
  REACT_APP_BACKEND_URL: undefined,
  VITE_BACKEND_URL: undefined,
  REACT_APP_OTEL_COLLECTOR_URL: undefined,
  VITE_OTEL_COLLECTOR_URL: undefined,
};

afterEach(() => vi.unstubAllEnvs());

describe('config', () => {
  it('defaults to the backend on localhost:4567 and no collector', async () => {
    expect(await configFrom(UNSET)).toMatchObject({ backendUrl: 'http://localhost:4567', collectorUrl: '' });
  });

  it('reads either prefix and drops trailing slashes', async () => {
    const config = await configFrom({
      ...UNSET, VITE_BACKEND_URL: 'https://api.cruddur.test/', REACT_APP_OTEL_COLLECTOR_URL: 'http://localhost:4318/',
    });
    expect(config).toMatchObject({ backendUrl: 'https://api.cruddur.test', collectorUrl: 'http://localhost:4318' });
  });
});

describe('startTracing', () => {
  let fetch;
  let provider;

  beforeEach(() => {
    // Installed before tracing starts, so the fetch instrumentation wraps it as it wraps the browser's.
    fetch = vi.fn(async () => Response.json([]));
    vi.stubGlobal('fetch', fetch);
  });

  afterEach(async () => {
    await provider.shutdown();
    // Lets the next test register its own provider, propagator and context manager.
    trace.disable();
    propagation.disable();
    context.disable();
  });

  const sentTo = () => fetch.mock.calls.map(([url]) => String(url));
  const headersOf = (call) => new Headers(call[1]?.headers);

  it('without a collector exports nothing, and still sends traceparent to the backend', async () => {
    const { backendUrl, collectorUrl } = await configFrom(UNSET);
    provider = startTracing({ backendUrl, collectorUrl });

    await globalThis.fetch('http://localhost:4567/api/activities/home');
    await globalThis.fetch('https://elsewhere.test/');
    provider.getTracer('test').startSpan('click').end();
    await provider.forceFlush();

    expect(sentTo()).toEqual(['http://localhost:4567/api/activities/home', 'https://elsewhere.test/']);
    expect(headersOf(fetch.mock.calls[0]).get('traceparent')).toMatch(/^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/);
    expect(headersOf(fetch.mock.calls[1]).has('traceparent')).toBe(false);
  });

  it('with a collector exports the spans to it', async () => {
    provider = startTracing({ backendUrl: 'http://localhost:4567', collectorUrl: 'http://localhost:4318' });

    provider.getTracer('test').startSpan('click').end();
    await provider.forceFlush();

    expect(sentTo()).toContain('http://localhost:4318/v1/traces');
  });
});
