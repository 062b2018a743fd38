import { Link, NavLink, Route, Routes, useLocation } from 'react-router';
import { useBackend } from './backend';
import { ErrorBoundary } from './components/ErrorBoundary';
import { BackendBanner } from './components/status';
import { ConversationPage } from './pages/ConversationPage';
import { HomePage } from './pages/HomePage';
import { MessageGroupsPage } from './pages/MessageGroupsPage';
import { NotFoundPage } from './pages/NotFoundPage';
import { NotificationsPage } from './pages/NotificationsPage';
import { SearchPage } from './pages/SearchPage';
import { UserPage } from './pages/UserPage';

export function App() {
  const { retry } = useBackend();
  const { pathname } = useLocation();
  return (
    <div className="app">
      <header className="topbar">
        <Link to="/" className="brand">Cruddur</Link>
        <nav aria-label="Main">
          <NavLink to="/" end>Home</NavLink>
          <NavLink to="/notifications">Notifications</NavLink>
          <NavLink to="/messages">Messages</NavLink>
          <NavLink to="/search">Search</NavLink>
        </nav>
      </header>
      <BackendBanner />
      <main>
        {/* A new page starts without the last one's failure. */}
        <ErrorBoundary key={pathname} onRetry={retry}>
          <Routes>
            <Route path="/" element={<HomePage />} />
            <Route path="/notifications" element={<NotificationsPage />} />
            <Route path="/search" element={<SearchPage />} />
            <Route path="/messages" element={<MessageGroupsPage />} />
            {/* A route segment is all static or all parameter, so "@handle" is parsed by the page. */}
            <Route path="/messages/:segment" element={<ConversationPage />} />
            <Route path="/:segment" element={<UserPage />} />
            <Route path="*" element={<NotFoundPage />} />
          </Routes>
        </ErrorBoundary>
      </main>
    </div>
  );
}
