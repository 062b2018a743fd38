import { useResource } from '../backend';
import { Feed } from '../components/Feed';
import { PageHeading } from '../components/PageHeading';

export function NotificationsPage() {
  const [feed, update] = useResource('/api/activities/notifications');
  return (
    <section aria-labelledby="page-title">
      <PageHeading title="Notifications" />
      <Feed state={feed} update={update} label="Notifications" empty="No notifications yet." />
    </section>
  );
}
