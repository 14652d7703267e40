/** The operator CLI's HTTP client for the fleet service: bearer token, JSON bodies, validated answers. */
import type { z } from 'zod';

export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode = 1,
  ) {
    super(message);
  }
}

export interface Request {
  body?: unknown;
  /** A raw upload instead of a JSON body. */
  raw?: Buffer;
  headers?: Record<string, string>;
}

export type Call = <S extends z.ZodType>(schema: S, method: string, path: string, req?: Request) => Promise<z.infer<S>>;

export function fleetClient(base: string, token: string | undefined): Call {
  return async (schema, method, p, req = {}) => {
    const headers: Record<string, string> = { ...req.headers };
    if (token) headers.authorization = `Bearer ${token}`;
    if (req.body !== undefined) headers['content-type'] = 'application/json';
    const body = req.raw ? new Uint8Array(req.raw) : req.body === undefined ? undefined : JSON.stringify(req.body);
    let res: Response;
    try {
      res = await fetch(base + p, { method, headers, body });
    } catch (err) {
      throw new CliError(`cannot reach the fleet service at ${base}: ${(err as Error).message}`);
    }
    const text = await res.text();
    let data: unknown;
    try {
      data = text ? JSON.parse(text) : undefined;
    } catch {
      data = { error: { message: text.slice(0, 200) } };
    }
    if (!res.ok) {
      const e = (data as { error?: { code?: string; message?: string } } | undefined)?.error;
      const hint = res.status === 401 ? ' (set FLEET_TOKEN or --token; `fleet login <user>` prints one)' : '';
      throw new CliError(`${method} ${p}: ${res.status} ${e?.code ?? ''} ${e?.message ?? ''}${hint}`.replace(/\s+/g, ' ').trim());
    }
    const parsed = schema.safeParse(data);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      throw new CliError(`${method} ${p}: unexpected answer from the fleet service: ${issue.path.join('.') || '(body)'}: ${issue.message}`);
    }
    return parsed.data;
  };
}
