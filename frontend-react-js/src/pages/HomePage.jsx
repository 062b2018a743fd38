import { useRef, useState } from 'react';
import { useResource } from '../backend';
import { CrudForm } from '../components/CrudForm';
import { Feed } from '../components/Feed';
import { PageHeading } from '../components/PageHeading';

export function HomePage() {
  const [feed, update] = useResource('/api/activities/home');
  const [composing, setComposing] = useState(false);
  const opener = useRef(null);

  function closeForm() {
    setComposing(false);
    opener.current.focus();
  }

  return (
    <section aria-labelledby="page-title">
      <div className="page-head">
        <PageHeading title="Home" />
        <button
          type="button"
          ref={opener}
          aria-expanded={composing}
          aria-controls="crud-form"
          onClick={() => setComposing((open) => !open)}
        >
          Crud
        </button>
      </div>
      {composing && (
        <CrudForm
          id="crud-form"
          onCreated={(activity) => {
            update((activities) => [activity, ...(activities ?? [])]);
            closeForm();
          }}
          onCancel={closeForm}
        />
      )}
      <Feed state={feed} update={update} label="Home feed" empty="No cruds yet. Be the first!" />
    </section>
  );
}
