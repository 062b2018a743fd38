import { Link } from 'react-router';
import { PageHeading } from '../components/PageHeading';

export function NotFoundPage() {
  return (
    <section aria-labelledby="page-title">
      <PageHeading title="Page not found" />
      <p>There is nothing here. <Link to="/">Back to the home feed</Link>.</p>
    </section>
  );
}
