/**
 * A router of a few lines over the History API: {@link navigate} pushes a path, {@link usePath}
 * re-renders on every change (ours and the browser's back/forward), {@link Link} is a real `<a>`
 * (keyboard, middle-click and "open in new tab" work) that navigates without reloading.
 */
import { useSyncExternalStore, type AnchorHTMLAttributes, type MouseEvent } from 'react';

const listeners = new Set<() => void>();

function subscribe(listener: () => void): () => void {
  listeners.add(listener);
  window.addEventListener('popstate', listener);
  return () => {
    listeners.delete(listener);
    window.removeEventListener('popstate', listener);
  };
}

const currentPath = () => window.location.pathname;

/** Goes to `to` (a same-origin path); `replace` keeps the current entry out of the history. */
export function navigate(to: string, options: { replace?: boolean } = {}): void {
  if (to === window.location.pathname + window.location.search) return;
  if (options.replace) window.history.replaceState(null, '', to);
  else window.history.pushState(null, '', to);
  for (const listener of [...listeners]) listener();
}

/** The current path (without query or hash). */
export function usePath(): string {
  return useSyncExternalStore(subscribe, currentPath);
}

/** The current path and query: where sign-in should come back to. */
export function currentLocation(): string {
  return window.location.pathname + window.location.search;
}

export type LinkProps = AnchorHTMLAttributes<HTMLAnchorElement> & { to: string };

export function Link({ to, onClick, ...rest }: LinkProps) {
  const handle = (event: MouseEvent<HTMLAnchorElement>) => {
    onClick?.(event);
    const modified = event.metaKey || event.ctrlKey || event.shiftKey || event.altKey;
    if (event.defaultPrevented || event.button !== 0 || modified || rest.target) return;
    event.preventDefault();
    navigate(to);
  };
  return <a href={to} onClick={handle} {...rest} />;
}

export type Route =
  | { page: 'home' }
  | { page: 'interviews' }
  | { page: 'interview'; id: string }
  | { page: 'report' }
  | { page: 'preferences' }
  | { page: 'admin' }
  | { page: 'not-found' };

/** The page a path shows; a trailing slash does not matter. */
export function matchRoute(path: string): Route {
  const parts = path.split('/').filter((part) => part !== '');
  const [first, second, ...more] = parts;
  if (first === undefined) return { page: 'home' };
  if (more.length > 0) return { page: 'not-found' };
  if (first === 'interviews') {
    if (second === undefined) return { page: 'interviews' };
    return { page: 'interview', id: decodeURIComponent(second) };
  }
  if (second !== undefined) return { page: 'not-found' };
  if (first === 'report' || first === 'preferences' || first === 'admin') return { page: first };
  return { page: 'not-found' };
}
