import { useRef, useState } from 'react';
import { useBackend, useSubmit } from '../backend';
import { codesFor, otherCodes } from '../errors';
import { length, MessageField } from './MessageField';
import { ErrorList } from './status';

export const MAX_MESSAGE_CHARS = 1024;

// Sends a direct message: to `handle` when given, otherwise to whoever the "To" field names.
export function MessageForm({ handle, onSent }) {
  const { call } = useBackend();
  const { pending, codes, submit } = useSubmit();
  const [receiver, setReceiver] = useState('');
  const [message, setMessage] = useState('');
  const textarea = useRef(null);
  const receiverCodes = codesFor(codes, 'user_receiver_handle');

  async function handleSubmit(event) {
    event.preventDefault();
    const to = handle ?? receiver.trim().replace(/^@/, '');
    const sent = await submit(() => call('POST', '/api/messages', { user_receiver_handle: to, message }));
    if (sent) {
      setMessage('');
      textarea.current.focus();
      onSent(sent, to);
    }
  }

  return (
    <form className="card form" aria-label={handle ? `Message @${handle}` : 'New message'} onSubmit={handleSubmit}>
      {!handle && (
        <div className="field">
          <label htmlFor="message-to">To</label>
          <input
            id="message-to"
            value={receiver}
            placeholder="@handle"
            onChange={(event) => setReceiver(event.target.value)}
            aria-invalid={receiverCodes.length > 0}
            aria-describedby={receiverCodes.length > 0 ? 'message-to-errors' : undefined}
          />
          <ErrorList id="message-to-errors" codes={receiverCodes} />
        </div>
      )}
      <MessageField
        id="message-text"
        label="Message"
        value={message}
        onChange={setMessage}
        max={MAX_MESSAGE_CHARS}
        codes={codesFor(codes, 'message')}
        inputRef={textarea}
      />
      <ErrorList codes={otherCodes(codes, ['message', 'user_receiver_handle'])} />
      <div className="actions">
        <button type="submit" disabled={pending || length(message) > MAX_MESSAGE_CHARS}>
          {pending ? 'Sending…' : 'Send'}
        </button>
      </div>
    </form>
  );
}
