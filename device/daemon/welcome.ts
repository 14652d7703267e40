/**
 * The one human line `npm start` prints on a terminal: what runs, from which source, where to
 * look. Logs stay JSON lines (journald, pipes); this line is only for a person at a TTY.
 */
import { DEMO_CLIP } from '../source/index.ts';

const ANY_ADDRESS = new Set(['0.0.0.0', '::', '']);

/** The address a person on this machine opens: loopback when the daemon listens on every address. */
export function kioskUrl(host: string, port: number): string {
  const name = ANY_ADDRESS.has(host) ? '127.0.0.1' : host.includes(':') ? `[${host}]` : host;
  return `http://${name}:${port}`;
}

export function welcomeLine(opts: { host: string; port: number; sourceSpec: string; sourceDescription: string }): string {
  const url = kioskUrl(opts.host, opts.port);
  const source = opts.sourceSpec === `clip:${DEMO_CLIP}` ? 'demo clip (no camera found)' : opts.sourceDescription;
  return `Mirror running on ${url} - source: ${source} - health: ${url}/healthz, metrics: ${url}/metrics - logs follow as JSON; Ctrl+C stops it`;
}
