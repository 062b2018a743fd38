import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { registerInstrumentations } from '@opentelemetry/instrumentation';
import { DocumentLoadInstrumentation } from '@opentelemetry/instrumentation-document-load';
import { FetchInstrumentation } from '@opentelemetry/instrumentation-fetch';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BatchSpanProcessor, WebTracerProvider } from '@opentelemetry/sdk-trace-web';

const escape = (text) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

// Matches URLs on exactly this URL's origin: http://localhost:4567/x, not http://localhost:45670/.
export function originPattern(url) {
  return new RegExp(`^${escape(new URL(url).origin)}(/|$)`);
}

// Traces page loads and fetches. `traceparent` goes to the backend's origin and nowhere
// else; spans are exported to the collector only when one is configured.
export function startTracing({ backendUrl, collectorUrl }) {
  const exportUrl = `${collectorUrl}/v1/traces`;
  const spanProcessors = collectorUrl
    ? [new BatchSpanProcessor(new OTLPTraceExporter({ url: exportUrl }))]
    : [];
  const provider = new WebTracerProvider({
    resource: resourceFromAttributes({ 'service.name': 'frontend-react-js' }),
    spanProcessors,
  });
  provider.register();
  registerInstrumentations({
    tracerProvider: provider,
    instrumentations: [
      new DocumentLoadInstrumentation(),
      new FetchInstrumentation({
        propagateTraceHeaderCorsUrls: [originPattern(backendUrl)],
        // The exporter's own requests would otherwise be traced, and exported, forever.
        ignoreUrls: collectorUrl ? [exportUrl] : [],
      }),
    ],
  });
  return provider;
}
