/**
 * The page shown, from the URL hash (`#/store/paris-01`, `#/console/rollouts`): bookmarkable,
 * back-button friendly, and served by the one index.html.
 */
export type Route = { name: 'home' } | { name: 'store'; storeId: string } | { name: 'console'; tab: ConsoleTab };
export const CONSOLE_TABS = ['fleet', 'rollouts', 'artifacts', 'audit'] as const;
export type ConsoleTab = (typeof CONSOLE_TABS)[number];

function parse(hash: string): Route {
  const [, a, b] = hash.replace(/^#/, '').split('/');
  if (a === 'store' && b && /^[A-Za-z0-9_-]{1,64}$/.test(b)) return { name: 'store', storeId: b };
  if (a === 'console') return { name: 'console', tab: (CONSOLE_TABS as readonly string[]).includes(b) ? (b as ConsoleTab) : 'fleet' };
  return { name: 'home' };
}

export const route = $state({ current: parse(location.hash) });
addEventListener('hashchange', () => (route.current = parse(location.hash)));

export const href = (r: Route): string =>
  r.name === 'store' ? `#/store/${r.storeId}` : r.name === 'console' ? `#/console/${r.tab}` : '#/';
