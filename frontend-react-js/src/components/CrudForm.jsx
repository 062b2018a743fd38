import { useEffect, useRef, useState } from 'react';
import { useBackend, useSubmit } from '../backend';
import { codesFor, otherCodes } from '../errors';
import { length, MessageField } from './MessageField';
import { ErrorList } from './status';

export const MAX_CRUD_CHARS = 280;

export const TTLS = [
  ['30-days', '30 days'],
  ['7-days', '7 days'],
  ['3-days', '3 days'],
  ['1-day', '1 day'],
  ['12-hours', '12 hours'],
  ['3-hours', '3 hours'],
  ['1-hour', '1 hour'],
];

export function CrudForm({ id, onCreated, onCancel }) {
  const { call } = useBackend();
  const { pending, codes, submit } = useSubmit();
  const [message, setMessage] = useState('');
  const [ttl, setTtl] = useState('7-days');
  const textarea = useRef(null);
  const ttlCodes = codesFor(codes, 'ttl');

  useEffect(() => textarea.current.focus(), []);

  async function handleSubmit(event) {
    event.preventDefault();
    const activity = await submit(() => call('POST', '/api/activities', { message, ttl }));
    if (activity) onCreated(activity);
  }

  return (
    <form id={id} className="card form" aria-label="New crud" onSubmit={handleSubmit}>
      <MessageField
        id="crud-message"
        label="What would you like to say?"
        value={message}
        onChange={setMessage}
        max={MAX_CRUD_CHARS}
        codes={codesFor(codes, 'message')}
        inputRef={textarea}
      />
      <div className="field">
        <label htmlFor="crud-ttl">Expires after</label>
        <select
          id="crud-ttl"
          value={ttl}
          onChange={(event) => setTtl(event.target.value)}
          aria-invalid={ttlCodes.length > 0}
          aria-describedby={ttlCodes.length > 0 ? 'crud-ttl-errors' : undefined}
        >
          {TTLS.map(([value, label]) => <option key={value} value={value}>{label}</option>)}
        </select>
        <ErrorList id="crud-ttl-errors" codes={ttlCodes} />
      </div>
      <ErrorList codes={otherCodes(codes, ['message', 'ttl'])} />
      <div className="actions">
        <button type="submit" disabled={pending || length(message) > MAX_CRUD_CHARS}>
          {pending ? 'Posting…' : 'Post crud'}
        </button>
        <button type="button" className="secondary" onClick={onCancel}>Cancel</button>
      </div>
    </form>
  );
}
