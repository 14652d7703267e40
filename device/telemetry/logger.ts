export type { Logger as TelemetryLogger } from '../core/logger.ts';

/** Strip credentials from a broker URL before it reaches a log line. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.username || u.password) {
      u.username = u.username ? '***' : '';
      u.password = u.password ? '***' : '';
    }
    return u.toString();
  } catch {
    return '(unparseable url)';
  }
}

export function errorFields(err: unknown): { err: { message: string; code?: string } } {
  if (err instanceof Error) {
    const code = (err as NodeJS.ErrnoException).code;
    return { err: code === undefined ? { message: err.message } : { message: err.message, code: String(code) } };
  }
  return { err: { message: String(err) } };
}
