import { useParams } from 'react-router';
import { useResource } from '../backend';
import { Byline } from '../components/Activity';
import { MessageForm } from '../components/MessageForm';
import { Loaded } from '../components/status';
import { handleFrom } from './handles';
import { NotFoundPage } from './NotFoundPage';
import { PageHeading } from '../components/PageHeading';

export function ConversationPage() {
  const handle = handleFrom(useParams().segment);
  return handle ? <Conversation key={handle} handle={handle} /> : <NotFoundPage />;
}

function Conversation({ handle }) {
  const [messages, update] = useResource(`/api/messages/@${encodeURIComponent(handle)}`);
  return (
    <section aria-labelledby="page-title">
      <PageHeading title={`Conversation with @${handle}`} />
      <Loaded state={messages} notFound={`There is no user @${handle}.`}>
        {(list) => (
          <>
            {list.length === 0 ? <p className="empty">No messages yet. Say hello!</p> : (
              <ol className="messages" aria-label={`Messages with @${handle}`}>
                {list.map((message) => (
                  <li key={message.uuid} className="card">
                    <Byline item={message} />
                    <p className="message">{message.message}</p>
                  </li>
                ))}
              </ol>
            )}
            <MessageForm handle={handle} onSent={(sent) => update((old) => [...old, sent])} />
          </>
        )}
      </Loaded>
    </section>
  );
}
