import { useParams } from 'react-router';
import { useResource } from '../backend';
import { Feed } from '../components/Feed';
import { handleFrom } from './handles';
import { NotFoundPage } from './NotFoundPage';
import { PageHeading } from '../components/PageHeading';

export function UserPage() {
  const handle = handleFrom(useParams().segment);
  return handle ? <UserFeed key={handle} handle={handle} /> : <NotFoundPage />;
}

function UserFeed({ handle }) {
  const [feed, update] = useResource(`/api/activities/@${encodeURIComponent(handle)}`);
  const name = feed.status === 'ready' ? feed.data[0]?.display_name : null;
  return (
    <section aria-labelledby="page-title">
      <PageHeading title={name ?? `@${handle}`} />
      {name && <p className="handle">@{handle}</p>}
      <Feed
        state={feed}
        update={update}
        label={`Cruds by @${handle}`}
        empty={`@${handle} has not crudded yet.`}
        notFound={`There is no user @${handle}.`}
      />
    </section>
  );
}
