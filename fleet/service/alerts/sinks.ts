/**
 * Where alerts go: a webhook (HTTP POST of JSON, optionally HMAC-signed) and e-mail (an RFC 5322
 * message over SMTP, built and sent by nodemailer). A sink sends one batch of notices per call and
 * rejects when it failed; retries and rate limits are the notifier's (notifier.ts).
 */
import { createHmac } from 'node:crypto';
import nodemailer, { type Transporter } from 'nodemailer';
import type { AlertRow } from './alerts-repo.ts';
import type { EmailSinkConfig, WebhookSinkConfig } from './config.ts';

export interface AlertNotice {
  event: 'raised' | 'cleared';
  alert: AlertRow;
}

export interface Sink {
  readonly name: string;
  readonly type: 'webhook' | 'email';
  send(notices: AlertNotice[]): Promise<void>;
  close?(): void;
}

/** A failure worth no retry (the receiver refused the request itself). */
export class PermanentSinkError extends Error {}

export function describeNotice(n: AlertNotice): string {
  const a = n.alert;
  return `${n.event.toUpperCase()} ${a.kind} ${a.subject}: ${a.summary}`;
}

export class WebhookSink implements Sink {
  readonly type = 'webhook';
  readonly name: string;
  constructor(private readonly cfg: WebhookSinkConfig) {
    this.name = cfg.name;
  }

  async send(notices: AlertNotice[]): Promise<void> {
    const body = JSON.stringify({ v: 1, sentAt: new Date().toISOString(), notices });
    const headers: Record<string, string> = { 'content-type': 'application/json', 'user-agent': 'mirror-fleet-alerts/1' };
    if (this.cfg.secret) headers['x-fleet-signature'] = `sha256=${createHmac('sha256', this.cfg.secret).update(body).digest('hex')}`;
    const res = await fetch(this.cfg.url, { method: 'POST', headers, body, signal: AbortSignal.timeout(this.cfg.timeoutMs), redirect: 'error' });
    await res.body?.cancel().catch(() => undefined);
    if (res.ok) return;
    const msg = `webhook ${this.name}: HTTP ${res.status}`;
    // 408 and 429 and 5xx are the receiver's passing trouble; any other 4xx will not change on a retry.
    if (res.status >= 400 && res.status < 500 && res.status !== 408 && res.status !== 429) throw new PermanentSinkError(msg);
    throw new Error(msg);
  }
}

export class EmailSink implements Sink {
  readonly type = 'email';
  readonly name: string;
  private readonly transport: Transporter;

  constructor(private readonly cfg: EmailSinkConfig) {
    this.name = cfg.name;
    this.transport = nodemailer.createTransport({
      host: cfg.host,
      port: cfg.port,
      secure: cfg.tls === 'implicit',
      requireTLS: cfg.tls === 'starttls',
      ignoreTLS: cfg.tls === 'none',
      auth: cfg.username === undefined ? undefined : { user: cfg.username, pass: cfg.password },
      connectionTimeout: cfg.timeoutMs,
      greetingTimeout: cfg.timeoutMs,
      socketTimeout: cfg.timeoutMs,
    });
  }

  async send(notices: AlertNotice[]): Promise<void> {
    const one = notices.length === 1 ? notices[0] : undefined;
    const subject = one ? `[fleet] ${describeNotice(one)}` : `[fleet] ${notices.length} alert changes (${notices.filter((n) => n.event === 'raised').length} raised)`;
    const lines = notices.map((n) => {
      const a = n.alert;
      const at = new Date((n.event === 'raised' ? a.raisedAt : a.clearedAt) ?? 0).toISOString();
      return `${describeNotice(n)}\n  alert ${a.id}, ${n.event} at ${at}${a.flaps ? `, flapped ${a.flaps} times` : ''}`;
    });
    await this.transport.sendMail({
      from: this.cfg.from,
      to: this.cfg.to,
      subject: subject.slice(0, 200),
      text: `${lines.join('\n\n')}\n\nList them: fleet alerts\n`,
      headers: one ? { 'X-Fleet-Alert-Id': one.alert.id, 'X-Fleet-Alert-Event': one.event } : {},
    });
  }

  close(): void {
    this.transport.close();
  }
}

/** The sinks the operator configured, each with its delivery limits. */
export function configuredSinks(cfg: { webhooks: WebhookSinkConfig[]; email: EmailSinkConfig[] }): Array<{ sink: Sink; limits: WebhookSinkConfig | EmailSinkConfig }> {
  return [...cfg.webhooks.map((c) => ({ sink: new WebhookSink(c), limits: c })), ...cfg.email.map((c) => ({ sink: new EmailSink(c), limits: c }))];
}
