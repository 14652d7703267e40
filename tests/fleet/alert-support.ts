/**
 * Real receivers for the alert sinks, on free loopback ports: an HTTP server that records every
 * webhook POST (and can be told to fail or hang first), and a real SMTP server (the `smtp-server`
 * package) that records every message as the raw RFC 5322 text it received.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { SMTPServer } from 'smtp-server';

export interface WebhookReceiver {
  url: string;
  /** Bodies received with a 2xx answer, parsed. */
  bodies: any[];
  /** Every request, answered or not (for retry counts). */
  hits: number;
  headers: http.IncomingHttpHeaders[];
  /** Status codes to answer the next requests with (then 200); 0 = never answer (a hang). */
  failNext: number[];
  close(): Promise<void>;
}

export async function startWebhookReceiver(): Promise<WebhookReceiver> {
  const r = { bodies: [] as any[], hits: 0, headers: [] as http.IncomingHttpHeaders[], failNext: [] as number[] };
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      r.hits++;
      const code = r.failNext.shift();
      if (code === 0) return; // hang: the client's timeout has to end it
      if (code !== undefined) {
        res.writeHead(code).end();
        return;
      }
      r.headers.push(req.headers);
      r.bodies.push(JSON.parse(Buffer.concat(chunks).toString('utf8')));
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((resolve) => server.listen({ port: 0, host: '127.0.0.1' }, resolve));
  const { port } = server.address() as AddressInfo;
  return Object.assign(r, {
    url: `http://127.0.0.1:${port}/hooks/alerts`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  });
}

export interface SmtpReceiver {
  port: number;
  /** Each message as received (headers and body, CRLF line ends), with its envelope. */
  messages: Array<{ from: string; to: string[]; raw: string }>;
  close(): Promise<void>;
}

export async function startSmtpReceiver(): Promise<SmtpReceiver> {
  const messages: SmtpReceiver['messages'] = [];
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS', 'AUTH'],
    logger: false,
    onData(stream, session, done) {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', () => {
        const env = session.envelope;
        messages.push({
          from: env.mailFrom === false ? '' : env.mailFrom.address,
          to: env.rcptTo.map((a) => a.address),
          raw: Buffer.concat(chunks).toString('utf8'),
        });
        done();
      });
    },
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const { port } = server.server.address() as AddressInfo;
  return { port, messages, close: () => new Promise<void>((resolve) => server.close(() => resolve())) };
}

/** An RFC 5322 message's header fields (unfolded), by lower-case name. */
export function headersOf(raw: string): Record<string, string> {
  const head = raw.split(/\r?\n\r?\n/)[0].replace(/\r?\n[ \t]+/g, ' ');
  const out: Record<string, string> = {};
  for (const line of head.split(/\r?\n/)) {
    const i = line.indexOf(':');
    if (i > 0) out[line.slice(0, i).toLowerCase()] = line.slice(i + 1).trim();
  }
  return out;
}

/** A text/plain message's body, quoted-printable decoded when it was sent so. */
export function textOf(raw: string): string {
  const [head, ...rest] = raw.split(/\r?\n\r?\n/);
  const body = rest.join('\n\n');
  if (!/content-transfer-encoding:\s*quoted-printable/i.test(head)) return body;
  const bytes = body.replace(/=\r?\n/g, '').replace(/=([0-9A-F]{2})/g, (_, h: string) => String.fromCharCode(parseInt(h, 16)));
  return Buffer.from(bytes, 'latin1').toString('utf8');
}

/** The (alert id, event) pairs an alert e-mail reports, one per notice (a digest has several). */
export function mailedNotices(raw: string): Array<{ id: string; event: string }> {
  return [...textOf(raw).matchAll(/alert ([0-9a-f-]{36}), (raised|cleared) at/g)].map((m) => ({ id: m[1], event: m[2] }));
}
