/**
 * The daemon's end of the control channel (protocol.ts): a Unix socket made 0600 before anyone
 * can use it, one validated request per connection, every request logged.
 */
import { chmodSync, lstatSync, unlinkSync } from 'node:fs';
import net from 'node:net';
import type { Logger } from '../core/logger.ts';
import { ControlRequest, MAX_REQUEST_BYTES, type ControlAnswer } from './protocol.ts';

export type ControlHandlers = { [K in ControlRequest['cmd']]: () => Promise<ControlAnswer> | ControlAnswer };

export interface ControlServer {
  readonly path: string;
  close(): Promise<void>;
}

/** A socket file left by a daemon that was killed would make listen() fail with EADDRINUSE. */
function removeStaleSocket(file: string): void {
  try {
    if (lstatSync(file).isSocket()) unlinkSync(file);
  } catch {
    // Not there: nothing to remove.
  }
}

export async function startControlServer(file: string, handlers: ControlHandlers, logger: Logger): Promise<ControlServer> {
  removeStaleSocket(file);
  // Open connections, so a stop does not wait for a capture still waiting for consent (30 s).
  const open = new Set<net.Socket>();
  const server = net.createServer((conn) => {
    open.add(conn);
    conn.on('close', () => open.delete(conn));
    let buffered = '';
    const answer = (msg: ControlAnswer): void => {
      conn.end(`${JSON.stringify(msg)}\n`);
    };
    conn.setEncoding('utf8');
    conn.on('error', () => conn.destroy());
    conn.on('data', (chunk: string) => {
      buffered += chunk;
      if (buffered.length > MAX_REQUEST_BYTES) {
        logger.warn({ bytes: buffered.length }, 'control request refused: too long');
        answer({ ok: false, error: `request longer than ${MAX_REQUEST_BYTES} bytes` });
        conn.removeAllListeners('data');
        return;
      }
      const newline = buffered.indexOf('\n');
      if (newline < 0) return;
      conn.removeAllListeners('data');
      void handle(buffered.slice(0, newline)).then(answer);
    });
  });

  async function handle(line: string): Promise<ControlAnswer> {
    let raw: unknown;
    try {
      raw = JSON.parse(line);
    } catch {
      logger.warn({}, 'control request refused: not JSON');
      return { ok: false, error: 'request is not JSON' };
    }
    const parsed = ControlRequest.safeParse(raw);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      const field = issue.path.join('.') || '(root)';
      logger.warn({ field, problem: issue.message }, 'control request refused');
      return { ok: false, error: `field "${field}": ${issue.message}` };
    }
    logger.info({ cmd: parsed.data.cmd }, 'control request');
    try {
      return await handlers[parsed.data.cmd]();
    } catch (err) {
      logger.error({ cmd: parsed.data.cmd, err: (err as Error).message }, 'control request failed');
      return { ok: false, error: (err as Error).message };
    }
  }

  // Created owner-only: bind() happens inside listen() synchronously, so the umask is only
  // narrowed for that call; the chmod below makes sure whatever the platform did.
  const listening = new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.once('listening', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const umask = process.umask(0o177);
  try {
    server.listen(file);
  } finally {
    process.umask(umask);
  }
  await listening;
  chmodSync(file, 0o600);
  logger.info({ socket: file }, 'control socket listening');
  return {
    path: file,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        for (const conn of open) conn.destroy();
      }),
  };
}
