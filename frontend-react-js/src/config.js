// Each variable is named on its own, so a build inlines these and no other.
const withoutSlash = (url) => url.replace(/\/+$/, '');

export const backendUrl = withoutSlash(
  import.meta.env.REACT_APP_BACKEND_URL || import.meta.env.VITE_BACKEND_URL || 'http://localhost:4567',
);

export const collectorUrl = withoutSlash(
  import.meta.env.REACT_APP_OTEL_COLLECTOR_URL || import.meta.env.VITE_OTEL_COLLECTOR_URL || '',
);
