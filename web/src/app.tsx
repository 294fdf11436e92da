/** The shell: header, and the page the path names (router.tsx). */
import { Component, useEffect, useRef, type ReactNode } from 'react';
import { signInHref, type Session } from './api';
import { SignInPrompt } from './components';
import { useApi, useSession } from './hooks';
import { AdminPage } from './pages/admin';
import { InterviewPage } from './pages/interview';
import { InterviewsPage } from './pages/interviews';
import { Landing } from './pages/landing';
import { PreferencesPage } from './pages/preferences';
import { ReportPage } from './pages/report';
import { currentLocation, Link, matchRoute, navigate, usePath, type Route } from './router';

const isAdmin = (session: Session) => session.roles.includes('admin');

function NavLink({ to, children }: { to: string; children: string }) {
  const path = usePath();
  const current = path === to || path.startsWith(`${to}/`);
  return (
    <Link to={to} aria-current={current ? 'page' : undefined}>
      {children}
    </Link>
  );
}

function Header({ session }: { session: Session | undefined }) {
  const api = useApi();
  usePath(); // re-render on navigation: the sign-in link comes back to the current path
  return (
    <header className="header">
      <div className="header-inner">
        <Link to="/" className="brand">
          Interview Graph
        </Link>
        {session ? (
          <nav aria-label="Main" className="nav">
            <ul>
              <li>
                <NavLink to="/interviews">My interviews</NavLink>
              </li>
              <li>
                <NavLink to="/report">Report</NavLink>
              </li>
              <li>
                <NavLink to="/preferences">Preferences</NavLink>
              </li>
              {isAdmin(session) ? (
                <li>
                  <NavLink to="/admin">Admin</NavLink>
                </li>
              ) : null}
            </ul>
          </nav>
        ) : null}
        <div className="account">
          {session ? (
            <>
              <span className="email" data-testid="user-email">
                {session.email}
              </span>
              <button
                type="button"
                className="button secondary"
                data-testid="sign-out"
                onClick={() => void api.session.signOut()}
              >
                Sign out
              </button>
            </>
          ) : (
            <a className="button" data-testid="sign-in" href={signInHref(currentLocation())}>
              Sign in
            </a>
          )}
        </div>
      </div>
    </header>
  );
}

/** Replaces the current entry with `to` once rendered. */
function Redirect({ to }: { to: string }) {
  useEffect(() => navigate(to, { replace: true }), [to]);
  return null;
}

function Page({ route, session }: { route: Route; session: Session | undefined }) {
  if (route.page === 'home') return session ? <Redirect to="/interviews" /> : <Landing />;
  if (route.page === 'not-found') {
    return (
      <>
        <h1>Page not found</h1>
        <p>
          <Link to="/">Go to the start page</Link>
        </p>
      </>
    );
  }
  if (!session) return <SignInPrompt />;
  switch (route.page) {
    case 'interviews':
      return <InterviewsPage isAdmin={isAdmin(session)} />;
    case 'interview':
      return <InterviewPage key={route.id} id={route.id} />;
    case 'report':
      return <ReportPage />;
    case 'preferences':
      return <PreferencesPage />;
    case 'admin':
      return isAdmin(session) ? (
        <AdminPage />
      ) : (
        <>
          <h1>Admin</h1>
          <p role="alert" className="alert">
            This page is for administrators.
          </p>
        </>
      );
  }
}

/** A page that throws while rendering shows the error instead of blanking the whole app. */
class PageErrorBoundary extends Component<{ children: ReactNode }, { error: unknown }> {
  override state: { error: unknown } = { error: undefined };

  static getDerivedStateFromError(error: unknown) {
    return { error };
  }

  override render() {
    if (this.state.error === undefined) return this.props.children;
    const message = this.state.error instanceof Error ? this.state.error.message : 'unknown error';
    return (
      <p role="alert" className="alert">
        This page failed: {message}. Reload to try again.
      </p>
    );
  }
}

export function App() {
  const state = useSession();
  const path = usePath();
  const main = useRef<HTMLElement>(null);
  const first = useRef(true);

  // After a navigation, move focus to the new page (as a full page load would), not on load.
  useEffect(() => {
    if (first.current) {
      first.current = false;
      return;
    }
    main.current?.focus();
    window.scrollTo(0, 0);
  }, [path]);

  const session = state.status === 'signed-in' ? state.session : undefined;
  return (
    <>
      <a className="skip-link" href="#main">
        Skip to content
      </a>
      <Header session={session} />
      <main id="main" ref={main} tabIndex={-1} className="main">
        {state.status === 'loading' ? (
          <p aria-busy="true">Loading…</p>
        ) : (
          <PageErrorBoundary key={path}>
            <Page route={matchRoute(path)} session={session} />
          </PageErrorBoundary>
        )}
      </main>
    </>
  );
}
