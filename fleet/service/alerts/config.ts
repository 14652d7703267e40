/**
 * The `alerts` key of the fleet service config: when each kind of alert is raised and cleared, and
 * where it is sent. Every threshold has a raise level and a looser clear level (hysteresis), and
 * every open alert stays open until its condition has been gone for `clearAfterS` (hold-down): a
 * flapping mirror keeps one alert open instead of raising fifty.
 */
import { z } from 'zod';

const LOOPBACK = /^(localhost|127(?:\.\d{1,3}){3}|::1|\[::1\])$/i;
const SinkName = z.string().regex(/^[A-Za-z0-9_-]{1,64}$/);

/** What every sink shares: how hard it retries, and how many messages it may send (per sink). */
const delivery = {
  name: SinkName,
  timeoutMs: z.int().min(100).max(120_000).default(5000),
  /** Attempts after the first, each after a doubling backoff. */
  retries: z.int().min(0).max(10).default(4),
  backoffMs: z.int().min(1).max(60_000).default(500),
  /** Token bucket: at most `burst` messages at once, refilled at `perMinute`; what waits meanwhile goes out as one digest. */
  perMinute: z.number().positive().max(6000).default(12),
  burst: z.int().min(1).max(1000).default(5),
  /** Notices waiting for a token beyond this are dropped (and counted): a storm cannot exhaust memory. */
  maxQueue: z.int().min(1).max(100_000).default(10_000),
};

export const WebhookSinkSchema = z
  .object({
    ...delivery,
    url: z.url({ protocol: /^https?$/ }),
    /** HMAC-SHA256 of the body, sent as `x-fleet-signature: sha256=<hex>`, so the receiver can tell it came from this fleet. */
    secret: z.string().min(16).optional(),
  })
  .strict();
export type WebhookSinkConfig = z.infer<typeof WebhookSinkSchema>;

export const EmailSinkSchema = z
  .object({
    ...delivery,
    host: z.string().min(1).max(255),
    port: z.int().min(1).max(65535).default(587),
    /** `starttls` (required, not opportunistic), `implicit` (SMTPS, 465), or `none`: loopback relays only. */
    tls: z.enum(['starttls', 'implicit', 'none']).default('starttls'),
    username: z.string().min(1).optional(),
    password: z.string().min(1).optional(),
    from: z.email(),
    to: z.array(z.email()).min(1).max(50),
  })
  .strict()
  .refine((s) => s.tls !== 'none' || LOOPBACK.test(s.host), { error: 'tls "none" is allowed only for a loopback host', path: ['tls'] })
  .refine((s) => (s.username === undefined) === (s.password === undefined), { error: 'username and password go together', path: ['password'] });
export type EmailSinkConfig = z.infer<typeof EmailSinkSchema>;

const enabled = z.boolean().default(true);

export const AlertsConfigSchema = z
  .object({
    enabled,
    /** How often the rules are evaluated against the store (and the ingest's own counters). */
    evaluateMs: z.int().min(100).max(600_000).default(15_000),
    /** An open alert clears only after its condition has been gone this long, continuously. */
    clearAfterS: z.number().min(0).max(86_400).default(300),
    /** A mirror offline (or online but silent) this long. */
    offline: z.object({ enabled, afterS: z.number().positive().max(7 * 86_400).default(600) }).strict().prefault({}),
    /** Frame rate below `below` for `forS`; clears above `clearAbove`. */
    fps: z
      .object({ enabled, below: z.number().positive().default(20), clearAbove: z.number().positive().default(22), forS: z.number().min(0).default(60) })
      .strict()
      .refine((f) => f.clearAbove >= f.below, { error: 'clearAbove must be at least below', path: ['clearAbove'] })
      .prefault({}),
    /** The hottest reported temperature (a thermal zone or the GPU) above `aboveC` for `forS`; clears below `clearBelowC`. */
    temperature: z
      .object({ enabled, aboveC: z.number().default(90), clearBelowC: z.number().default(85), forS: z.number().min(0).default(60) })
      .strict()
      .refine((t) => t.clearBelowC <= t.aboveC, { error: 'clearBelowC must be at most aboveC', path: ['clearBelowC'] })
      .prefault({}),
    /** The mirror reports parts on a fallback (camera lost, previous model, CPU backend, outbox) for `forS`. */
    degraded: z.object({ enabled, forS: z.number().min(0).default(60) }).strict().prefault({}),
    /** The mirror's latest finished update job failed, was rolled back or timed out. */
    updateFailed: z.object({ enabled }).strict().prefault({}),
    /** This service's ingest: a message waiting `waitingS`, lag p95 over `lagP95S`, or `deadLetters` dead letters within `windowS`. */
    ingestStuck: z
      .object({
        enabled,
        waitingS: z.number().positive().default(60),
        lagP95S: z.number().positive().default(60),
        deadLetters: z.int().min(1).default(10),
        windowS: z.number().positive().default(300),
      })
      .strict()
      .prefault({}),
    webhooks: z.array(WebhookSinkSchema).max(16).default([]),
    email: z.array(EmailSinkSchema).max(16).default([]),
  })
  .strict()
  .refine((a) => new Set([...a.webhooks, ...a.email].map((s) => s.name)).size === a.webhooks.length + a.email.length, {
    error: 'sink names must be unique',
    path: ['webhooks'],
  });

export type AlertsConfig = z.infer<typeof AlertsConfigSchema>;
