import { Link } from 'react-router';

export function NotFoundPage() {
  return (
    <section aria-labelledby="page-title">
      <h1 id="page-title">Page not found</h1>
      <p>There is nothing here. <Link to="/">Back to the home feed</Link>.</p>
    </section>
  );
}
