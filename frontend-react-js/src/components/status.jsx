import { UnreachableError } from '../api';
import { useBackend } from '../backend';
import { describe } from '../errors';

// The alert role is the wrapper's: on the list itself it would replace the list's role,
// and assistive technology would no longer see list items.
export function ErrorList({ id, codes }) {
  if (codes.length === 0) return null;
  return (
    <div id={id} className="errors" role="alert">
      <ul>
        {codes.map((code) => <li key={code}>{describe(code)}</li>)}
      </ul>
    </div>
  );
}

// Loading and error states of a `useResource` result; `children(data)` renders the rest.
export function Loaded({ state, notFound, children }) {
  if (state.status === 'idle') return null;
  if (state.status === 'loading') return <p role="status" className="muted">Loading…</p>;
  if (state.status === 'ready') return children(state.data);
  const { error } = state;
  // The banner already says the backend is unreachable; once is enough.
  if (error instanceof UnreachableError) return null;
  if (error.status === 404 && notFound) return <p className="empty">{notFound}</p>;
  if (!error.codes) throw error;
  return <ErrorList codes={error.codes} />;
}

export function BackendBanner() {
  const { url, unreachable, retry } = useBackend();
  if (!unreachable) return null;
  return (
    <div className="banner" role="alert">
      <p>
        Cruddur cannot reach its backend at <code>{url}</code>. Check that it is running, then
        try again.
      </p>
      <button type="button" onClick={retry}>Try again</button>
    </div>
  );
}
