/**
 * Alert delivery (fleet/service/alerts/notifier.ts, sinks.ts) against real receivers on loopback:
 * retries with a doubling backoff on 5xx and on a receiver that hangs (the timeout ends it), no
 * retry on a refusal (4xx), a per-sink rate limit that turns a storm into a digest, and a mail
 * relay that is down retried and given up on without touching the other sink. The backoff waits
 * and the token clock are injected; nothing here sleeps for real beyond the 1 s timeout.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AlertRow } from '../../fleet/service/alerts/alerts-repo.ts';
import { EmailSinkSchema, WebhookSinkSchema } from '../../fleet/service/alerts/config.ts';
import { Notifier } from '../../fleet/service/alerts/notifier.ts';
import { EmailSink, WebhookSink, type AlertNotice } from '../../fleet/service/alerts/sinks.ts';
import { freePort } from '../../fleet/sim/broker.ts';
import { mailedNotices, startSmtpReceiver, startWebhookReceiver, type SmtpReceiver, type WebhookReceiver } from './alert-support.ts';

const silent = { info: () => undefined, warn: () => undefined, error: () => undefined };

function notice(i: number): AlertNotice {
  const alert: AlertRow = {
    id: randomUUID(),
    kind: 'offline',
    subject: `store-1/mirror-${i}`,
    storeId: 'store-1',
    deviceId: `mirror-${i}`,
    status: 'open',
    summary: 'offline for 12 min (connection-lost)',
    firstTrueAt: 1,
    raisedAt: 1_700_000_000_000,
    falseSince: null,
    clearedAt: null,
    flaps: 0,
    ackedBy: null,
    ackedAt: null,
  };
  return { event: 'raised', alert };
}

describe('alert sinks', () => {
  let hook: WebhookReceiver;
  let smtp: SmtpReceiver;
  let clock = 0;
  const waits: number[] = [];
  const sleep = async (ms: number) => void waits.push(ms);

  beforeAll(async () => {
    [hook, smtp] = await Promise.all([startWebhookReceiver(), startSmtpReceiver()]);
  });
  afterAll(async () => {
    await Promise.all([hook?.close(), smtp?.close()]);
  });

  const webhook = (o: Record<string, unknown> = {}) => {
    const cfg = WebhookSinkSchema.parse({ name: 'hook', url: hook.url, timeoutMs: 1000, backoffMs: 100, perMinute: 6000, burst: 100, ...o });
    return new Notifier([{ sink: new WebhookSink(cfg), limits: cfg }], () => clock, silent, sleep);
  };

  it('retries a 5xx and a hanging receiver with a doubling backoff, then delivers once', async () => {
    hook.failNext.push(503, 0, 502);
    waits.length = 0;
    const n = webhook();
    const sent = notice(1);
    n.notify(sent);
    await n.flush();
    expect(hook.bodies.flatMap((b) => b.notices.map((x: AlertNotice) => x.alert.id))).toEqual([sent.alert.id]);
    // A loaded machine can make one more attempt time out; the backoff still doubles from 100 ms.
    expect(waits.slice(0, 3)).toEqual([100, 200, 400]);
    expect(n.stats()[0]).toMatchObject({ sent: 1, noticesSent: 1, dropped: 0 });
    expect(n.stats()[0].retries).toBeGreaterThanOrEqual(3);
    n.close();
  });

  it('a refusal (4xx) is not retried; a receiver down for good is given up on after `retries`', async () => {
    hook.failNext.push(400);
    const before = hook.hits;
    const n = webhook();
    n.notify(notice(2));
    await n.flush();
    expect(hook.hits).toBe(before + 1);
    expect(n.stats()[0]).toMatchObject({ sent: 0, retries: 0, dropped: 1, lastError: 'webhook hook: HTTP 400' });
    n.close();

    hook.failNext.push(503, 503, 503);
    const m = webhook({ retries: 2 });
    m.notify(notice(3));
    await m.flush();
    expect(m.stats()[0]).toMatchObject({ sent: 0, retries: 2, failed: 3, dropped: 1 });
    m.close();
  });

  it('a storm of 50 alerts is rate-limited per sink: a burst, then one digest when a token comes back', async () => {
    clock = 1_000_000;
    const n = webhook({ perMinute: 6, burst: 2 });
    const before = hook.bodies.length;
    for (let i = 0; i < 50; i++) n.notify(notice(100 + i));
    await n.flush();
    // The burst: the first notice alone, then everything that queued behind it as one message.
    expect(hook.bodies.length - before).toBe(2);
    expect(n.stats()[0]).toMatchObject({ sent: 2, noticesSent: 50 });
    for (let i = 0; i < 30; i++) n.notify(notice(200 + i));
    await n.flush();
    expect(hook.bodies.length - before).toBe(2); // no token: they wait
    expect(n.stats()[0].queued).toBe(30);
    clock += 10_000; // one token at 6 per minute
    await n.flush();
    expect(hook.bodies.length - before).toBe(3);
    expect(hook.bodies.at(-1).notices).toHaveLength(30);
    expect(n.stats()[0]).toMatchObject({ sent: 3, noticesSent: 80, dropped: 0, queued: 0 });
    n.close();
  });

  it('e-mail: a relay that is down is retried and given up on while the webhook delivers; a digest lists every alert', async () => {
    const down = EmailSinkSchema.parse({ name: 'mail-down', host: '127.0.0.1', port: await freePort(), tls: 'none', from: 'fleet@mirror.test', to: ['a@mirror.test'], retries: 1, backoffMs: 10, timeoutMs: 2000 });
    const up = EmailSinkSchema.parse({ name: 'mail', host: '127.0.0.1', port: smtp.port, tls: 'none', from: 'fleet@mirror.test', to: ['a@mirror.test', 'b@mirror.test'], perMinute: 6000, burst: 1 });
    const hookCfg = WebhookSinkSchema.parse({ name: 'hook2', url: hook.url, perMinute: 6000, burst: 100 });
    const n = new Notifier(
      [
        { sink: new EmailSink(down), limits: down },
        { sink: new EmailSink(up), limits: up },
        { sink: new WebhookSink(hookCfg), limits: hookCfg },
      ],
      () => clock,
      silent,
      sleep,
    );
    const sent = [notice(300), notice(301), notice(302)];
    for (const s of sent) n.notify(s);
    await n.flush();
    clock += 60_000;
    await n.flush();
    const [downStats, upStats, hookStats] = n.stats();
    // Two messages (the first notice alone, then the two that queued behind it), each tried twice.
    expect(downStats).toMatchObject({ sent: 0, retries: 2, failed: 4, dropped: 3 });
    expect(downStats.lastError).toMatch(/ECONNREFUSED/);
    expect(hookStats.noticesSent).toBe(3);
    expect(upStats.noticesSent).toBe(3);
    const ids = smtp.messages.flatMap((m) => mailedNotices(m.raw).map((x) => x.id));
    expect(ids.sort()).toEqual(sent.map((s) => s.alert.id).sort());
    expect(smtp.messages.at(-1)!.to).toEqual(['a@mirror.test', 'b@mirror.test']);
    n.close();
  });

  it('config: tls "none" only for a loopback relay; names the field', () => {
    const r = EmailSinkSchema.safeParse({ name: 'm', host: 'smtp.example.com', tls: 'none', from: 'f@x.test', to: ['t@x.test'] });
    expect(r.success).toBe(false);
    expect(r.error?.issues[0]).toMatchObject({ path: ['tls'], message: 'tls "none" is allowed only for a loopback host' });
    expect(WebhookSinkSchema.safeParse({ name: 'h', url: 'ftp://x' }).success).toBe(false);
  });
});
