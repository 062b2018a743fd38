import { useState } from 'react';
import { useSearchParams } from 'react-router';
import { useResource } from '../backend';
import { Feed } from '../components/Feed';
import { PageHeading } from '../components/PageHeading';

export function SearchPage() {
  const [params, setParams] = useSearchParams();
  const term = params.get('term');
  const [draft, setDraft] = useState(term ?? '');
  // A blank search is still asked, so the backend's own answer explains it.
  const [results, update] = useResource(
    term === null ? null : `/api/activities/search?term=${encodeURIComponent(term)}`,
  );

  function handleSubmit(event) {
    event.preventDefault();
    setParams({ term: draft });
  }

  return (
    <section aria-labelledby="page-title">
      <PageHeading title="Search" />
      <form className="search" role="search" onSubmit={handleSubmit}>
        <label htmlFor="search-term">Search cruds</label>
        <input id="search-term" type="search" value={draft} onChange={(event) => setDraft(event.target.value)} />
        <button type="submit">Search</button>
      </form>
      <Feed state={results} update={update} label="Search results" empty={`No cruds match “${term}”.`} />
    </section>
  );
}
