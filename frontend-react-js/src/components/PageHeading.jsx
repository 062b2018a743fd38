import { useEffect, useRef } from 'react';
import { useLocation } from 'react-router';

// The page's h1, which also names the document. After a route change (not on the page the
// app opened on) it takes the focus, so a screen reader announces the new page and the next
// Tab starts from it.
export function PageHeading({ title }) {
  const heading = useRef(null);
  const { key } = useLocation();
  const routeChanged = useRef(key !== 'default');

  useEffect(() => {
    document.title = `${title} · Cruddur`;
  }, [title]);

  useEffect(() => {
    if (routeChanged.current) heading.current.focus();
  }, []);

  return <h1 id="page-title" ref={heading} tabIndex={-1}>{title}</h1>;
}
