import { Activity } from './Activity';
import { Loaded } from './status';

const withReply = (activity, reply) => ({
  ...activity,
  replies: [...(activity.replies ?? []), reply],
  replies_count: activity.replies_count + 1,
});

// A list of cruds from `useResource`, with their replies; a new reply updates its crud.
export function Feed({ state, update, empty, notFound, label }) {
  function addReply(uuid, reply) {
    update((activities) => activities.map((activity) => (
      activity.uuid === uuid ? withReply(activity, reply) : activity
    )));
  }

  return (
    <Loaded state={state} notFound={notFound}>
      {(activities) => (activities.length === 0 ? <p className="empty">{empty}</p> : (
        <ol className="feed" aria-label={label}>
          {activities.map((activity) => (
            <li key={activity.uuid}>
              <Activity activity={activity} onReplied={(reply) => addReply(activity.uuid, reply)} />
            </li>
          ))}
        </ol>
      ))}
    </Loaded>
  );
}
