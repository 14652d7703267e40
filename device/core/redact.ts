/**
 * Credentials never leave the process in what it echoes (/healthz, logs, telemetry, mirrorctl,
 * `--check-config`): URLs lose their user info, secret-named keys their values.
 */
const SECRET_KEY = /^(password|passphrase|secret|token|apiKey|privateKey)$/i;
export const REDACTED = '***';

/** A URL without its username and password (kept as *** so a reader sees they were set). */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.username || u.password) {
      u.username = u.username ? REDACTED : '';
      u.password = u.password ? REDACTED : '';
    }
    return u.toString();
  } catch {
    return '(unparseable url)';
  }
}

/** A deep copy of `value` with secret-named keys masked and credentials stripped from URLs. */
export function redactSecrets<T>(value: T): T {
  return walk(value) as T;
}

function walk(value: unknown): unknown {
  if (typeof value === 'string') return /^[a-z][a-z0-9+.-]*:\/\/[^/@\s]*@/i.test(value) ? redactUrl(value) : value;
  if (Array.isArray(value)) return value.map(walk);
  if (typeof value !== 'object' || value === null) return value;
  return Object.fromEntries(
    Object.entries(value).map(([key, v]) => [key, SECRET_KEY.test(key) && v !== undefined && v !== null ? REDACTED : walk(v)]),
  );
}
