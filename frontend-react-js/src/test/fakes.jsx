import { render } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { MemoryRouter } from 'react-router';
import { vi } from 'vitest';
import { App } from '../App';
import { BackendProvider } from '../backend';

export const BACKEND = 'http://backend.test';
const HOUR = 60 * 60 * 1000;
const DAY = 24 * HOUR;
const at = (offset) => new Date(Date.now() + offset).toISOString();

export function activity({ uuid, handle, name, message, ago = DAY, expires = 5 * DAY, replies = [] }) {
  return {
    uuid,
    handle,
    display_name: name,
    message,
    created_at: at(-ago),
    expires_at: at(expires),
    likes_count: 0,
    replies_count: replies.length,
    reposts_count: 0,
    replies,
  };
}

export const CLOUD = '68f126b0-1ceb-4a33-88be-d90fa7109eee';
export const PRUNE = '66e12864-8c26-4c3a-9658-95a10f8fea67';

export const homeFeed = () => [
  activity({
    uuid: CLOUD,
    handle: 'andrewbrown',
    name: 'Andrew Brown',
    message: 'Cloud is very fun!',
    ago: 2 * DAY,
    expires: 5 * DAY,
    replies: [{
      uuid: '26e12864-1c26-5c3a-9658-97a10f8fea67',
      reply_to_activity_uuid: CLOUD,
      handle: 'worf',
      display_name: 'Worf',
      message: 'This post has no honor!',
      created_at: at(-2 * DAY),
      likes_count: 0,
      replies_count: 0,
      reposts_count: 0,
    }],
  }),
  activity({ uuid: PRUNE, handle: 'worf', name: 'Worf', message: 'I am out of prune juice', ago: 7 * DAY, expires: 9 * DAY }),
  activity({
    uuid: '248959df-3079-4947-b847-9e0892d1bab4',
    handle: 'garek',
    name: 'Garek',
    message: 'My dear doctor, I am just simple tailor',
    ago: HOUR,
    expires: 12 * HOUR,
  }),
];

const json = (status, body) => new Response(JSON.stringify(body), {
  status,
  headers: { 'Content-Type': 'application/json' },
});

// Stands in for the backend: `routes` maps "METHOD /path?query" to [status, body], or to
// a function of the parsed request body returning one. The returned mock records calls.
export function fakeBackend(routes) {
  const fetch = vi.fn(async (url, init = {}) => {
    const { pathname, search } = new URL(url);
    const key = `${init.method ?? 'GET'} ${pathname}${search}`;
    const route = routes[key];
    if (!route) return json(501, [`unexpected request ${key}`]);
    const [status, body] = typeof route === 'function' ? route(init.body && JSON.parse(init.body)) : route;
    return json(status, body);
  });
  vi.stubGlobal('fetch', fetch);
  return fetch;
}

// The request bodies `fetch` sent to `method path`, parsed.
export function sentBodies(fetch, method, path) {
  return fetch.mock.calls
    .filter(([url, init]) => url === `${BACKEND}${path}` && init?.method === method)
    .map(([, init]) => JSON.parse(init.body));
}

export function renderAt(path) {
  const user = userEvent.setup();
  const view = render(
    <BackendProvider url={BACKEND}>
      <MemoryRouter initialEntries={[path]}>
        <App />
      </MemoryRouter>
    </BackendProvider>,
  );
  return { user, ...view };
}
