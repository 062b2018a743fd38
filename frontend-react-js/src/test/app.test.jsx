import { render, screen, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { describe, expect, it, vi } from 'vitest';
import { ErrorBoundary } from '../components/ErrorBoundary';
import { fakeBackend, homeFeed, renderAt } from './fakes';

describe('a failure that is not an API error', () => {
  it('replaces the page, not the app, says what went wrong and retries', async () => {
    vi.spyOn(console, 'error').mockImplementation(() => {}); // React reports each caught error
    vi.stubGlobal('fetch', async () => new Response('<html>A proxy page</html>', {
      status: 200, headers: { 'Content-Type': 'text/html' },
    }));
    const { user } = renderAt('/');

    const failure = await screen.findByRole('alert');
    expect(within(failure).getByRole('heading').textContent).toBe('This page failed');
    expect(failure.textContent).toContain('The backend answered GET /api/activities/home with 200 but not with JSON (text/html).');
    expect(screen.getByRole('navigation', { name: 'Main' })).toBeTruthy();

    fakeBackend({ 'GET /api/activities/home': [200, homeFeed()] });
    await user.click(within(failure).getByRole('button', { name: 'Try again' }));
    expect(await screen.findByText('Cloud is very fun!')).toBeTruthy();
    expect(screen.queryByRole('alert')).toBeNull();
  });

  it('catches a bug in rendering too', async () => {
    vi.spyOn(console, 'error').mockImplementation(() => {});
    let broken = true;
    function Page() {
      if (broken) throw new TypeError("Cannot read properties of undefined (reading 'map')");
      return <p>Rendered</p>;
    }
    const onRetry = vi.fn();
    render(<ErrorBoundary onRetry={onRetry}><Page /></ErrorBoundary>);

    expect(screen.getByRole('alert').textContent).toContain("Cannot read properties of undefined (reading 'map')");
    broken = false;
    await userEvent.setup().click(screen.getByRole('button', { name: 'Try again' }));
    expect(screen.getByText('Rendered')).toBeTruthy();
    expect(onRetry).toHaveBeenCalledOnce();
  });
});

describe('accessibility', () => {
  it('a list of errors is still a list inside its alert', async () => {
    fakeBackend({ 'GET /api/activities/search?term=': [422, ['search_term_blank', 'search_term_invalid']] });
    renderAt('/search?term=');
    const alert = await screen.findByRole('alert');
    expect(within(within(alert).getByRole('list')).getAllByRole('listitem').map((item) => item.textContent))
      .toEqual(['Type something to search for.', 'The search term must be text.']);
  });

  it('each page names the document; a route change moves the focus to its heading', async () => {
    fakeBackend({ 'GET /api/activities/home': [200, homeFeed()], 'GET /api/activities/notifications': [200, []] });
    const { user } = renderAt('/');
    await screen.findByText('Cloud is very fun!');
    expect(document.title).toBe('Home · Cruddur');
    // The first page keeps the browser's own starting point.
    expect(document.activeElement).toBe(document.body);

    await user.click(screen.getByRole('link', { name: 'Notifications' }));
    await screen.findByText('No notifications yet.');
    expect(document.title).toBe('Notifications · Cruddur');
    expect(document.activeElement).toBe(screen.getByRole('heading', { level: 1, name: 'Notifications' }));
  });

  it("a crud is named by its author, not by its whole message again", async () => {
    fakeBackend({ 'GET /api/activities/home': [200, homeFeed()] });
    renderAt('/');
    await screen.findByText('Cloud is very fun!');
    const names = screen.getAllByRole('article').map((article) => article.getAttribute('aria-label'));
    expect(names).toEqual(['Crud by Andrew Brown', 'Reply by Worf', 'Crud by Worf', 'Crud by Garek']);
  });
});
