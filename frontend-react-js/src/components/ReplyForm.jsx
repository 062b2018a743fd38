import { useEffect, useRef, useState } from 'react';
import { useBackend, useSubmit } from '../backend';
import { codesFor, otherCodes } from '../errors';
import { length, MessageField } from './MessageField';
import { ErrorList } from './status';

export const MAX_REPLY_CHARS = 1024;

export function ReplyForm({ activity, onCreated, onCancel }) {
  const { call } = useBackend();
  const { pending, codes, submit } = useSubmit();
  const [message, setMessage] = useState('');
  const textarea = useRef(null);

  useEffect(() => textarea.current.focus(), []);

  async function handleSubmit(event) {
    event.preventDefault();
    const reply = await submit(() => call('POST', `/api/activities/${activity.uuid}/reply`, { message }));
    if (reply) onCreated(reply);
  }

  return (
    <form className="form reply-form" aria-label={`Reply to @${activity.handle}`} onSubmit={handleSubmit}>
      <MessageField
        id={`reply-${activity.uuid}`}
        label="Your reply"
        value={message}
        onChange={setMessage}
        max={MAX_REPLY_CHARS}
        codes={codesFor(codes, 'message')}
        inputRef={textarea}
      />
      <ErrorList codes={otherCodes(codes, ['message'])} />
      <div className="actions">
        <button type="submit" disabled={pending || length(message) > MAX_REPLY_CHARS}>
          {pending ? 'Posting…' : 'Post reply'}
        </button>
        <button type="button" className="secondary" onClick={onCancel}>Cancel</button>
      </div>
    </form>
  );
}
