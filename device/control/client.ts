/** mirrorctl's end of the control channel (protocol.ts): one request, one answer line. */
import net from 'node:net';
import type { ControlAnswer, ControlRequest } from './protocol.ts';

export function request(socketPath: string, req: ControlRequest, timeoutMs: number): Promise<ControlAnswer> {
  return new Promise((resolve, reject) => {
    const conn = net.connect(socketPath);
    let buffered = '';
    const timer = setTimeout(() => {
      conn.destroy();
      reject(new Error(`no answer from the daemon within ${Math.round(timeoutMs / 1000)} s`));
    }, timeoutMs);
    conn.setEncoding('utf8');
    conn.on('connect', () => conn.write(`${JSON.stringify(req)}\n`));
    conn.on('data', (chunk: string) => (buffered += chunk));
    conn.on('error', (err: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      const why = err.code === 'EACCES' ? 'permission denied (run as the daemon user or root)' : err.code === 'ENOENT' || err.code === 'ECONNREFUSED' ? 'is the daemon running?' : err.message;
      reject(new Error(`cannot reach the daemon at ${socketPath}: ${why}`));
    });
    conn.on('end', () => {
      clearTimeout(timer);
      if (buffered === '') {
        reject(new Error('the daemon closed the connection without an answer (is it stopping?)'));
        return;
      }
      try {
        resolve(JSON.parse(buffered) as ControlAnswer);
      } catch {
        reject(new Error(`the daemon's answer is not JSON: ${buffered.slice(0, 200)}`));
      }
    });
  });
}
