import { screen, within } from '@testing-library/react';
import { describe, expect, it, vi } from 'vitest';
import { activity, fakeBackend, homeFeed, renderAt, sentBodies } from './fakes';

const MINUTE = 60 * 1000;

const message = (uuid, handle, name, text, ago) => ({
  uuid, handle, display_name: name, message: text, created_at: new Date(Date.now() - ago).toISOString(),
});

describe('an unreachable backend', () => {
  it('shows one banner instead of a blank page, and recovers on Try again', async () => {
    const refuse = vi.fn(async () => {
      throw new TypeError('Failed to fetch');
    });
    vi.stubGlobal('fetch', refuse);
    const { user } = renderAt('/');

    const banner = await screen.findByRole('alert');
    expect(banner.textContent).toContain('Cruddur cannot reach its backend at http://backend.test');
    expect(screen.getAllByRole('alert')).toHaveLength(1);
    expect(screen.getByRole('heading', { name: 'Home' })).toBeTruthy();

    fakeBackend({ 'GET /api/activities/home': [200, homeFeed()] });
    await user.click(within(banner).getByRole('button', { name: 'Try again' }));

    expect(await screen.findByText('Cloud is very fun!')).toBeTruthy();
    expect(screen.queryByRole('alert')).toBeNull();
  });

  it('tells the person whose crud was not sent', async () => {
    fakeBackend({ 'GET /api/activities/home': [200, homeFeed()] });
    const { user } = renderAt('/');
    await user.click(await screen.findByRole('button', { name: 'Crud' }));
    await user.type(screen.getByLabelText('What would you like to say?'), 'Into the void');
    vi.stubGlobal('fetch', async () => {
      throw new TypeError('Failed to fetch');
    });

    await user.click(screen.getByRole('button', { name: 'Post crud' }));

    const form = screen.getByRole('form', { name: 'New crud' });
    expect(await within(form).findByText('Not sent: the backend could not be reached.')).toBeTruthy();
    expect(screen.getByText(/cannot reach its backend/)).toBeTruthy();
    expect(within(form).getByLabelText('What would you like to say?').value).toBe('Into the void');
  });
});

describe('other pages', () => {
  it('notifications: the feed, or a note when there is nothing', async () => {
    fakeBackend({ 'GET /api/activities/notifications': [200, []] });
    renderAt('/notifications');
    expect(await screen.findByText('No notifications yet.')).toBeTruthy();
  });

  it("a user's page: their name and cruds, or a note for an unknown handle", async () => {
    fakeBackend({
      'GET /api/activities/@garek': [200, [homeFeed()[2]]],
      'GET /api/activities/@nobody': [404, ['not_found']],
    });
    renderAt('/@garek');
    expect(await screen.findByRole('heading', { name: 'Garek' })).toBeTruthy();
    expect(within(screen.getByRole('list', { name: 'Cruds by @garek' })).getAllByRole('article')).toHaveLength(1);

    renderAt('/@nobody');
    expect(await screen.findByText('There is no user @nobody.')).toBeTruthy();
  });

  it('an address that is not a page says so', () => {
    fakeBackend({});
    renderAt('/garek');
    expect(screen.getByRole('heading', { name: 'Page not found' })).toBeTruthy();
  });

  it('search: asks for the term typed, and explains a blank one', async () => {
    const fetch = fakeBackend({
      'GET /api/activities/search?term=prune%20juice': [200, [homeFeed()[1]]],
      'GET /api/activities/search?term=': [422, ['search_term_blank']],
    });
    const { user } = renderAt('/search');
    const box = screen.getByRole('searchbox', { name: 'Search cruds' });

    await user.click(screen.getByRole('button', { name: 'Search' }));
    expect(await screen.findByText('Type something to search for.')).toBeTruthy();

    await user.type(box, 'prune juice');
    await user.click(screen.getByRole('button', { name: 'Search' }));
    const results = await screen.findByRole('list', { name: 'Search results' });
    expect(within(results).getByText('I am out of prune juice')).toBeTruthy();
    expect(fetch).toHaveBeenCalledTimes(2);
  });

  it('messages: lists conversations with links to each', async () => {
    fakeBackend({
      'GET /api/message_groups': [200, [message('c1', 'worf', 'Worf', 'This platform is great!', 10 * MINUTE)]],
    });
    renderAt('/messages');
    const conversations = await screen.findByRole('list', { name: 'Conversations' });
    const link = within(conversations).getByRole('link');
    expect(link.getAttribute('href')).toBe('/messages/@worf');
    expect(link.textContent).toContain('This platform is great!');
    expect(link.textContent).toContain('10m');
  });

  it('a conversation: loads the messages and adds one sent', async () => {
    const fetch = fakeBackend({
      'GET /api/messages/@worf': [200, [
        message('m1', 'andrewbrown', 'Andrew Brown', 'Cloud is fun!', 30 * MINUTE),
        message('m2', 'worf', 'Worf', 'This platform is great!', 10 * MINUTE),
      ]],
      'POST /api/messages': ({ message: text }) => [200, message('m3', 'andrewbrown', 'Andrew Brown', text, 0)],
    });
    const { user } = renderAt('/messages/@worf');
    const list = await screen.findByRole('list', { name: 'Messages with @worf' });
    const box = screen.getByLabelText('Message');

    await user.type(box, 'Qapla!');
    await user.click(screen.getByRole('button', { name: 'Send' }));

    await within(list).findByText('Qapla!');
    expect(within(list).getAllByRole('listitem').map((item) => item.querySelector('.message').textContent))
      .toEqual(['Cloud is fun!', 'This platform is great!', 'Qapla!']);
    expect(sentBodies(fetch, 'POST', '/api/messages')).toEqual([{ user_receiver_handle: 'worf', message: 'Qapla!' }]);
    expect(box.value).toBe('');
    expect(document.activeElement).toBe(box);
  });

  it('a new message to an unknown handle says there is no such user', async () => {
    fakeBackend({
      'GET /api/message_groups': [200, []],
      'POST /api/messages': [404, ['user_not_found']],
    });
    const { user } = renderAt('/messages');
    expect(await screen.findByText('No conversations yet.')).toBeTruthy();

    await user.type(screen.getByLabelText('To'), '@q');
    await user.type(screen.getByLabelText('Message'), 'Hello');
    await user.click(screen.getByRole('button', { name: 'Send' }));

    expect(await screen.findByText('There is no user with that handle.')).toBeTruthy();
  });

  it('a new message with no receiver marks the To field', async () => {
    fakeBackend({
      'GET /api/message_groups': [200, []],
      'POST /api/messages': [422, ['user_receiver_handle_blank', 'message_blank']],
    });
    const { user } = renderAt('/messages');
    await screen.findByText('No conversations yet.');

    await user.click(screen.getByRole('button', { name: 'Send' }));

    const to = screen.getByLabelText('To');
    await screen.findByText('Say who the message is for.');
    expect(to.getAttribute('aria-invalid')).toBe('true');
    expect(document.getElementById(to.getAttribute('aria-describedby')).textContent).toBe('Say who the message is for.');
    expect(screen.getByText('Write a message first.')).toBeTruthy();
  });

  it('a message sent from the list opens its conversation', async () => {
    fakeBackend({
      'GET /api/message_groups': [200, []],
      'POST /api/messages': [200, message('m9', 'andrewbrown', 'Andrew Brown', 'Hi', 0)],
      'GET /api/messages/@garek': [200, [message('m9', 'andrewbrown', 'Andrew Brown', 'Hi', 0)]],
    });
    const { user } = renderAt('/messages');
    await screen.findByText('No conversations yet.');

    await user.type(screen.getByLabelText('To'), '@garek');
    await user.type(screen.getByLabelText('Message'), 'Hi');
    await user.click(screen.getByRole('button', { name: 'Send' }));

    expect(await screen.findByRole('heading', { name: 'Conversation with @garek' })).toBeTruthy();
  });
});

describe('activity display', () => {
  it('marks a crud whose time is up as expired', async () => {
    fakeBackend({
      'GET /api/activities/home': [200, [activity({ uuid: 'x', handle: 'worf', name: 'Worf', message: 'Gone', expires: -MINUTE })]],
    });
    renderAt('/');
    expect(await screen.findByText('expired')).toBeTruthy();
  });
});
