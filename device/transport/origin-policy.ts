/**
 * Who may talk to the kiosk server. Frames are the live camera: only the kiosk's own origin gets
 * them. A request must name one of the daemon's own hosts (a DNS-rebinding page names its own),
 * and a browser request must come from one of the daemon's own origins or a configured one (the
 * vite dev server). Non-browser clients send no Origin; they are local processes on loopback.
 */
import type { IncomingMessage } from 'node:http';

export interface OriginPolicy {
  /** Why the request is refused, or null when it may proceed. */
  refusal(req: IncomingMessage): string | null;
}

const LOOPBACK_NAMES = ['127.0.0.1', 'localhost', '[::1]'];
const WILDCARD_HOSTS = new Set(['0.0.0.0', '::', '']);

/** `http://host:port` with IPv6 literals bracketed. */
function hostPort(host: string, port: number): string {
  const name = host.includes(':') && !host.startsWith('[') ? `[${host}]` : host;
  return `${name}:${port}`;
}

/**
 * `bindHost`/`port`: where the server listens (its own origins); `extraOrigins`: configured
 * origins (validated as URLs by the config schema) allowed besides.
 */
export function createOriginPolicy(bindHost: string, port: number, extraOrigins: readonly string[]): OriginPolicy {
  const ownNames = [...LOOPBACK_NAMES];
  if (!WILDCARD_HOSTS.has(bindHost)) ownNames.push(bindHost);
  const ownHosts = ownNames.map((name) => hostPort(name, port));
  // Browsers leave the default port out of Host and Origin.
  if (port === 80) ownHosts.push(...ownNames);
  const origins = new Set(ownHosts.map((h) => `http://${h}`));
  const hosts = new Set(ownHosts);
  for (const text of extraOrigins) {
    const url = new URL(text);
    origins.add(url.origin);
    // A dev proxy forwards the browser's Host (its own address) unchanged.
    hosts.add(url.host);
  }
  return {
    refusal(req) {
      const host = req.headers.host?.toLowerCase();
      if (!host || !hosts.has(host)) return `host ${JSON.stringify(host ?? null)} is not this kiosk`;
      const origin = req.headers.origin;
      if (origin !== undefined && !origins.has(origin.toLowerCase())) return `origin ${JSON.stringify(origin)} is not allowed`;
      return null;
    },
  };
}
