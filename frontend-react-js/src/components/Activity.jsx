import { useRef, useState } from 'react';
import { Link } from 'react-router';
import { expiresIn, timeAgo } from '../time';
import { ReplyForm } from './ReplyForm';

const count = (n, one, many) => `${n} ${n === 1 ? one : many}`;

export function Byline({ item }) {
  return (
    <header className="byline">
      <Link to={`/@${item.handle}`} className="display-name">{item.display_name}</Link>
      <span className="handle">@{item.handle}</span>
      <time dateTime={item.created_at} title={new Date(item.created_at).toLocaleString()}>
        {timeAgo(item.created_at)}
      </time>
      {item.expires_at && <span className="expires">{expiresIn(item.expires_at)}</span>}
    </header>
  );
}

// One crud, or one reply when `onReplied` is not given (replies are not replied to).
export function Activity({ activity, onReplied }) {
  const [replying, setReplying] = useState(false);
  const replyButton = useRef(null);
  const replies = activity.replies ?? [];

  function closeReply() {
    setReplying(false);
    replyButton.current.focus();
  }

  return (
    <article className="activity" aria-label={`${onReplied ? 'Crud' : 'Reply'} by ${activity.display_name}`}>
      <Byline item={activity} />
      <p className="message">{activity.message}</p>
      <footer className="counts">
        <span>{count(activity.replies_count, 'reply', 'replies')}</span>
        <span>{count(activity.reposts_count, 'repost', 'reposts')}</span>
        <span>{count(activity.likes_count, 'like', 'likes')}</span>
        {onReplied && (
          <button
            type="button"
            className="link"
            ref={replyButton}
            aria-expanded={replying}
            onClick={() => setReplying((open) => !open)}
          >
            Reply
          </button>
        )}
      </footer>
      {replying && (
        <ReplyForm
          activity={activity}
          onCreated={(reply) => {
            onReplied(reply);
            closeReply();
          }}
          onCancel={closeReply}
        />
      )}
      {replies.length > 0 && (
        <ol className="replies" aria-label={`Replies to @${activity.handle}`}>
          {replies.map((reply) => <li key={reply.uuid}><Activity activity={reply} /></li>)}
        </ol>
      )}
    </article>
  );
}
