import { Link, useNavigate } from 'react-router';
import { useResource } from '../backend';
import { MessageForm } from '../components/MessageForm';
import { Loaded } from '../components/status';
import { timeAgo } from '../time';
import { PageHeading } from '../components/PageHeading';

export function MessageGroupsPage() {
  const [groups] = useResource('/api/message_groups');
  const navigate = useNavigate();
  return (
    <section aria-labelledby="page-title">
      <PageHeading title="Messages" />
      <Loaded state={groups}>
        {(conversations) => (conversations.length === 0 ? <p className="empty">No conversations yet.</p> : (
          <ol className="conversations" aria-label="Conversations">
            {conversations.map((group) => (
              <li key={group.uuid}>
                <Link to={`/messages/@${group.handle}`}>
                  <span className="display-name">{group.display_name}</span>
                  <span className="handle">@{group.handle}</span>
                  <time dateTime={group.created_at}>{timeAgo(group.created_at)}</time>
                  <span className="preview">{group.message}</span>
                </Link>
              </li>
            ))}
          </ol>
        ))}
      </Loaded>
      <h2>New message</h2>
      <MessageForm onSent={(sent, to) => navigate(`/messages/@${to}`)} />
    </section>
  );
}
