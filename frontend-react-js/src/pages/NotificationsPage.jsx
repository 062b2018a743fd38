import { useResource } from '../backend';
import { Feed } from '../components/Feed';

export function NotificationsPage() {
  const [feed, update] = useResource('/api/activities/notifications');
  return (
    <section aria-labelledby="page-title">
      <h1 id="page-title">Notifications</h1>
      <Feed state={feed} update={update} label="Notifications" empty="No notifications yet." />
    </section>
  );
}
