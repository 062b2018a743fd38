import { createContext, useCallback, useContext, useEffect, useMemo, useState } from 'react';
import { request, UnreachableError } from './api';

const BackendContext = createContext(null);

// Gives every component one way to call the backend, and remembers whether the last
// call reached it, so that an unreachable backend is reported once, by the banner.
export function BackendProvider({ url, children }) {
  const [unreachable, setUnreachable] = useState(false);
  const [attempt, setAttempt] = useState(0);

  const call = useCallback(async (method, path, body) => {
    try {
      const data = await request(url, method, path, body);
      setUnreachable(false);
      return data;
    } catch (error) {
      setUnreachable(error instanceof UnreachableError);
      throw error;
    }
  }, [url]);

  const retry = useCallback(() => setAttempt((count) => count + 1), []);
  const value = useMemo(
    () => ({ url, call, unreachable, attempt, retry }),
    [url, call, unreachable, attempt, retry],
  );
  return <BackendContext.Provider value={value}>{children}</BackendContext.Provider>;
}

export function useBackend() {
  return useContext(BackendContext);
}

// GETs `path` (again after every retry); `null` means there is nothing to ask yet.
// `update(change)` replaces the loaded data with `change(data)`.
export function useResource(path) {
  const { call, attempt } = useBackend();
  // Which GET an answer belongs to: until this one's arrives, the state is loading.
  const request = `${attempt} ${path}`;
  const [answer, setAnswer] = useState({ request: null });

  useEffect(() => {
    if (path === null) return undefined;
    let current = true;
    const settle = (outcome) => current && setAnswer({ request: `${attempt} ${path}`, ...outcome });
    call('GET', path).then(
      (data) => settle({ status: 'ready', data }),
      (error) => settle({ status: 'error', error }),
    );
    return () => {
      current = false;
    };
  }, [call, path, attempt]);

  const update = useCallback((change) => setAnswer((old) => ({ ...old, data: change(old.data) })), []);
  if (path === null) return [{ status: 'idle' }, update];
  return [answer.request === request ? answer : { status: 'loading' }, update];
}

// Runs a form's request: `codes` holds the error codes of the last failed attempt.
export function useSubmit() {
  const [pending, setPending] = useState(false);
  const [codes, setCodes] = useState([]);

  const submit = async (send) => {
    setPending(true);
    setCodes([]);
    try {
      return await send();
    } catch (error) {
      if (!error.codes) throw error;
      setCodes(error.codes);
      return null;
    } finally {
      setPending(false);
    }
  };
  return { pending, codes, submit };
}
