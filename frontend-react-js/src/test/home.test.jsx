import { screen, within } from '@testing-library/react';
import { describe, expect, it } from 'vitest';
import { CLOUD, PRUNE, fakeBackend, homeFeed, renderAt, sentBodies } from './fakes';

const created = (message, ttl) => ({
  ...homeFeed()[1],
  uuid: 'a1b2c3d4-0000-4000-8000-000000000001',
  handle: 'andrewbrown',
  display_name: 'Andrew Brown',
  message,
  ttl,
  replies: [],
  replies_count: 0,
});

async function openCrudForm(user) {
  await screen.findByText('Cloud is very fun!');
  await user.click(screen.getByRole('button', { name: 'Crud' }));
  return screen.getByRole('form', { name: 'New crud' });
}

// A crud's article is named by its author; its message is its content, not its name too.
const byMessage = (message) => (article) => article.querySelector(':scope > .message').textContent === message;
const getCrud = (author, message) => screen.getAllByRole('article', { name: `Crud by ${author}` }).find(byMessage(message));
const findCrud = async (author, message) => {
  await screen.findByText(message);
  return getCrud(author, message);
};

const feedMessages = () => within(screen.getByRole('list', { name: 'Home feed' }))
  .getAllByRole('article')
  .filter((article) => !article.closest('ol.replies'))
  .map((article) => article.querySelector('.message').textContent);

describe('home feed', () => {
  it('shows each crud with its author, relative time, expiry, counts and replies', async () => {
    fakeBackend({ 'GET /api/activities/home': [200, homeFeed()] });
    renderAt('/');

    const cloud = await findCrud('Andrew Brown', 'Cloud is very fun!');
    expect(within(cloud).getByRole('link', { name: 'Andrew Brown' }).getAttribute('href')).toBe('/@andrewbrown');
    const byline = within(cloud.querySelector(':scope > .byline'));
    expect(byline.getByText('2d')).toBeTruthy();
    expect(byline.getByText('expires in 5d')).toBeTruthy();
    expect(within(cloud).getByText('1 reply')).toBeTruthy();
    const replies = within(cloud).getByRole('list', { name: 'Replies to @andrewbrown' });
    expect(within(replies).getByText('This post has no honor!')).toBeTruthy();
    expect(feedMessages()).toEqual([
      'Cloud is very fun!',
      'I am out of prune juice',
      'My dear doctor, I am just simple tailor',
    ]);
  });

  it('says so while loading and when there are no cruds', async () => {
    let answer;
    fakeBackend({ 'GET /api/activities/home': () => answer });
    answer = [200, []];
    renderAt('/');
    expect(screen.getByRole('status').textContent).toBe('Loading…');
    expect(await screen.findByText('No cruds yet. Be the first!')).toBeTruthy();
  });
});

describe('crud form', () => {
  it('opens from the Crud button with focus in the message box', async () => {
    fakeBackend({ 'GET /api/activities/home': [200, homeFeed()] });
    const { user } = renderAt('/');
    const opener = await screen.findByRole('button', { name: 'Crud' });
    expect(opener.getAttribute('aria-expanded')).toBe('false');

    await user.click(opener);

    expect(document.activeElement).toBe(screen.getByLabelText('What would you like to say?'));
    expect(opener.getAttribute('aria-expanded')).toBe('true');
  });

  it('counts characters as they are typed and refuses more than 280', async () => {
    fakeBackend({ 'GET /api/activities/home': [200, homeFeed()] });
    const { user } = renderAt('/');
    const form = await openCrudForm(user);
    const box = within(form).getByLabelText('What would you like to say?');
    const counter = form.querySelector('#crud-message-counter');
    const post = within(form).getByRole('button', { name: 'Post crud' });

    await user.type(box, 'Hello 🌍');
    expect(counter.textContent).toBe('7/280');

    await user.clear(box);
    await user.paste('x'.repeat(280));
    expect(counter.textContent).toBe('280/280');
    expect(counter.className).toBe('counter');
    expect(post.disabled).toBe(false);

    await user.type(box, 'yz');
    expect(counter.textContent).toBe('282/280 · 2 over the limit');
    expect(counter.className).toBe('counter over');
    expect(box.getAttribute('aria-invalid')).toBe('true');
    expect(post.disabled).toBe(true);
  });

  it('sends the chosen lifetime and puts the new crud at the top', async () => {
    const fetch = fakeBackend({
      'GET /api/activities/home': [200, homeFeed()],
      'POST /api/activities': ({ message, ttl }) => [200, created(message, ttl)],
    });
    const { user } = renderAt('/');
    const form = await openCrudForm(user);

    await user.type(within(form).getByLabelText('What would you like to say?'), 'Short-lived thought');
    await user.selectOptions(within(form).getByLabelText('Expires after'), '3 hours');
    await user.click(within(form).getByRole('button', { name: 'Post crud' }));

    expect(await screen.findByText('Short-lived thought')).toBeTruthy();
    expect(sentBodies(fetch, 'POST', '/api/activities')).toEqual([{ message: 'Short-lived thought', ttl: '3-hours' }]);
    expect(feedMessages()[0]).toBe('Short-lived thought');
    expect(feedMessages()).toHaveLength(4);
    expect(screen.queryByRole('form', { name: 'New crud' })).toBeNull();
    expect(document.activeElement).toBe(screen.getByRole('button', { name: 'Crud' }));
  });

  it('offers every lifetime and defaults to 7 days', async () => {
    const fetch = fakeBackend({
      'GET /api/activities/home': [200, homeFeed()],
      'POST /api/activities': ({ message, ttl }) => [200, created(message, ttl)],
    });
    const { user } = renderAt('/');
    const form = await openCrudForm(user);
    const options = within(within(form).getByLabelText('Expires after')).getAllByRole('option');
    expect(options.map((option) => option.textContent)).toEqual(
      ['30 days', '7 days', '3 days', '1 day', '12 hours', '3 hours', '1 hour'],
    );

    await user.type(within(form).getByLabelText('What would you like to say?'), 'Default');
    await user.click(within(form).getByRole('button', { name: 'Post crud' }));

    await screen.findByText('Default');
    expect(sentBodies(fetch, 'POST', '/api/activities')).toEqual([{ message: 'Default', ttl: '7-days' }]);
  });

  it('shows every 422 code as a message beside its field, and unknown codes as they are', async () => {
    fakeBackend({
      'GET /api/activities/home': [200, homeFeed()],
      'POST /api/activities': [422, ['message_blank', 'ttl_invalid', 'quota_exceeded']],
    });
    const { user } = renderAt('/');
    const form = await openCrudForm(user);

    await user.click(within(form).getByRole('button', { name: 'Post crud' }));

    const box = within(form).getByLabelText('What would you like to say?');
    await within(form).findByText('Write a message first.');
    expect(box.getAttribute('aria-invalid')).toBe('true');
    expect(box.getAttribute('aria-describedby')).toBe('crud-message-counter crud-message-errors');
    expect(form.querySelector('#crud-message-errors').textContent).toBe('Write a message first.');
    const ttl = within(form).getByLabelText('Expires after');
    expect(ttl.getAttribute('aria-invalid')).toBe('true');
    expect(form.querySelector(`#${ttl.getAttribute('aria-describedby')}`).textContent)
      .toBe('Choose one of the listed lifetimes.');
    expect(within(form).getByText('quota_exceeded')).toBeTruthy();
    expect(feedMessages()).toHaveLength(3);
  });
});

describe('reply form', () => {
  it('opens under its crud, focused, and adds the reply there', async () => {
    const reply = {
      uuid: 'b1b2c3d4-0000-4000-8000-000000000002',
      reply_to_activity_uuid: PRUNE,
      handle: 'andrewbrown',
      display_name: 'Andrew Brown',
      message: 'Try the replicator',
      created_at: new Date().toISOString(),
      likes_count: 0,
      replies_count: 0,
      reposts_count: 0,
    };
    const fetch = fakeBackend({
      'GET /api/activities/home': [200, homeFeed()],
      [`POST /api/activities/${PRUNE}/reply`]: [200, reply],
    });
    const { user } = renderAt('/');
    const prune = await findCrud('Worf', 'I am out of prune juice');

    await user.click(within(prune).getByRole('button', { name: 'Reply' }));
    const form = within(prune).getByRole('form', { name: 'Reply to @worf' });
    const box = within(form).getByLabelText('Your reply');
    expect(document.activeElement).toBe(box);
    await user.type(box, 'Try the replicator');
    await user.click(within(form).getByRole('button', { name: 'Post reply' }));

    const replies = await within(prune).findByRole('list', { name: 'Replies to @worf' });
    expect(within(replies).getByText('Try the replicator')).toBeTruthy();
    expect(within(prune).getByText('1 reply')).toBeTruthy();
    expect(sentBodies(fetch, 'POST', `/api/activities/${PRUNE}/reply`)).toEqual([{ message: 'Try the replicator' }]);
    expect(within(prune).queryByRole('form')).toBeNull();
    expect(document.activeElement).toBe(within(prune).getByRole('button', { name: 'Reply' }));
    const cloud = getCrud('Andrew Brown', 'Cloud is very fun!');
    expect(within(cloud).queryByText('Try the replicator')).toBeNull();
  });

  it('shows the 422 reason and keeps what was typed', async () => {
    fakeBackend({
      'GET /api/activities/home': [200, homeFeed()],
      [`POST /api/activities/${CLOUD}/reply`]: [422, ['message_invalid']],
    });
    const { user } = renderAt('/');
    const cloud = await findCrud('Andrew Brown', 'Cloud is very fun!');
    await user.click(within(cloud).getByRole('button', { name: 'Reply' }));
    const form = within(cloud).getByRole('form', { name: 'Reply to @andrewbrown' });
    await user.type(within(form).getByLabelText('Your reply'), 'bad');
    await user.click(within(form).getByRole('button', { name: 'Post reply' }));

    expect(await within(form).findByText('The message must be text.')).toBeTruthy();
    expect(within(form).getByLabelText('Your reply').value).toBe('bad');
  });
});
