/**
 * Validated MQTT payloads between a mirror and the fleet (protocol v1), shared by both sides.
 *
 * Every payload is a UTF-8 JSON object with `v: 1`. Unknown extra fields are dropped, not
 * rejected, so a newer device can add an optional field without breaking an older fleet;
 * anything that changes the meaning of a field bumps `v` (and the topic's `v1` segment).
 *
 * `parseMessage(topic, payload)` is the one entry point for bytes from the network: it checks the
 * topic, the size, the encoding, the JSON and the schema, and that the ids in the payload match
 * the topic (a device cannot speak for another). It never throws; a failure names the field.
 */
import { z } from 'zod';
import { TONE_BANDS, UNDERTONES } from './recommendations.ts';
import { ID_PATTERN, parseTopic, type Channel, type ParsedTopic } from './topics.ts';

export const PROTOCOL_VERSION = 1;

/** Larger payloads are rejected before they are decoded. */
export const MAX_PAYLOAD_BYTES = 64 * 1024;

const Id = z.string().regex(ID_PATTERN, { error: 'must match [A-Za-z0-9_-]{1,64}' });

/** Milliseconds since the Unix epoch. */
const TimestampMs = z.int().min(0);

/**
 * C0/C1 control characters (U+0000 NUL among them): no protocol string needs one, PostgreSQL
 * refuses NUL in text and SQLite truncates at it, so they are refused here, naming the field.
 */
// eslint-disable-next-line no-control-regex -- matching control characters is the point
export const CONTROL_CHARS = /[\u0000-\u001f\u007f-\u009f]/;
export function safeText(max: number, min = 0) {
  return z
    .string()
    .min(min)
    .max(max)
    .refine((s) => !CONTROL_CHARS.test(s), { error: 'must not contain control characters' });
}

/**
 * Name → version/backend maps (`{ mesh: '1.2.0' }`, `{ mesh: 'onnx-cuda' }`). Keys start with a
 * letter or digit (so `__proto__` can never be one), at most 64 entries.
 */
const NameMap = z
  .record(
    z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/, { error: 'invalid name' }),
    safeText(128, 1),
  )
  .refine((m) => Object.keys(m).length <= 64, { error: 'at most 64 entries' });

/**
 * The device's model-update job as it stands (optional in status and metrics; added to v1
 * compatibly): the fleet sees which job a device is in without replaying `update/state`.
 */
export const UpdateSummarySchema = z.object({
  jobId: Id,
  artifactId: Id,
  state: z.string().regex(/^[a-z][a-z-]{0,31}$/),
  reason: safeText(256).optional(),
});
export type UpdateSummary = z.infer<typeof UpdateSummarySchema>;

/** Reasons a device gives for going offline; a string so that later ones stay v1-compatible. */
export const OFFLINE_REASONS = ['connection-lost', 'shutdown'] as const;
export type KnownOfflineReason = (typeof OFFLINE_REASONS)[number];

/**
 * Retained on `.../status`. Three publishers per connection:
 *   - birth: `online`, right after CONNACK;
 *   - last will: `offline`, reason `connection-lost`, registered in CONNECT and published by the
 *     broker if the connection dies without a DISCONNECT (its `ts` is therefore the time the
 *     connection was opened, not the time it was lost: use the receive time for that);
 *   - graceful stop: `offline`, reason `shutdown`, then DISCONNECT (which discards the will).
 *
 * `connectionSeq` increases on every connection attempt and survives restarts (the device keeps
 * it on disk). A will carries the seq of the connection it belongs to, so a late will from an
 * older connection can be told apart from the current one: see `shouldApplyStatus`.
 */
export const StatusMessageSchema = z.object({
  v: z.literal(PROTOCOL_VERSION),
  state: z.enum(['online', 'offline']),
  deviceId: Id,
  storeId: Id,
  connectionSeq: z.int().min(0),
  ts: TimestampMs,
  firmwareVersion: safeText(64, 1),
  models: NameMap,
  backends: NameMap.optional(),
  reason: z
    .string()
    .regex(/^[a-z][a-z0-9-]{0,63}$/, { error: 'must be a lower-case word like "shutdown"' })
    .optional(),
  update: UpdateSummarySchema.optional(),
});
export type StatusMessage = z.infer<typeof StatusMessageSchema>;

/**
 * The machine's health in a metrics message (optional, v1-compatible): whole-machine CPU load
 * (0..1, beside the daemon's own `cpuLoad`), load averages, memory, temperatures per thermal zone
 * (°C, keyed by the zone's type, e.g. `x86_pkg_temp`, `GPU-therm`) and GPU load (0..1) and
 * temperature where the kernel exposes them (device/telemetry/system-metrics.ts). Every field is
 * optional: a mirror reports what its hardware lets it read.
 */
const Celsius = z.number().min(-60).max(200);
export const SystemMetricsSchema = z.object({
  cpuLoad: z.number().min(0).max(1).optional(),
  load1: z.number().min(0).max(1e6).optional(),
  load5: z.number().min(0).max(1e6).optional(),
  load15: z.number().min(0).max(1e6).optional(),
  memTotalBytes: z.int().min(0).optional(),
  memAvailableBytes: z.int().min(0).optional(),
  temperaturesC: z
    .record(z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/, { error: 'invalid name' }), Celsius)
    .refine((m) => Object.keys(m).length <= 32, { error: 'at most 32 entries' })
    .optional(),
  gpuLoad: z.number().min(0).max(1).optional(),
  gpuTemperatureC: Celsius.optional(),
});
export type SystemMetricsMessage = z.infer<typeof SystemMetricsSchema>;

/**
 * Periodic on `.../telemetry`. `droppedFrames` and `processedFrames` are totals since the daemon
 * started (as the pipeline counts them), not per interval: a lost or duplicated message cannot
 * skew them, the fleet takes differences, and a drop in `uptimeS` marks a restart.
 * `cpuLoad` is the daemon process's share of the whole machine's CPU over the interval (0..1);
 * `system.cpuLoad` is the whole machine's.
 */
export const MetricsMessageSchema = z.object({
  v: z.literal(PROTOCOL_VERSION),
  msgId: z.uuid(),
  deviceId: Id,
  ts: TimestampMs,
  intervalS: z.number().positive().max(86_400),
  fps: z.number().min(0).max(10_000),
  latencyP50Ms: z.number().min(0),
  latencyP95Ms: z.number().min(0),
  droppedFrames: z.int().min(0),
  processedFrames: z.int().min(0),
  backends: NameMap,
  models: NameMap,
  uptimeS: z.number().min(0),
  rssBytes: z.int().min(0),
  cpuLoad: z.number().min(0).max(1).optional(),
  /** Optional (v1-compatible additions): the update job, shopper sessions so far, the outbox. */
  update: UpdateSummarySchema.optional(),
  sessions: z.object({ started: z.int().min(0), productsTried: z.int().min(0), looksSaved: z.int().min(0) }).optional(),
  /** Optional: the serving product catalog (its version is also `models.catalog`); artifactId null = the bundled one. */
  catalog: z
    .object({ version: safeText(64, 1), products: z.int().min(0), shades: z.int().min(0), looks: z.int().min(0), artifactId: Id.nullable() })
    .optional(),
  /** Optional: the serving colour profile (its version is also `models["colour-profile"]`); artifactId null = the mirror's local file. */
  colourProfile: z.object({ version: safeText(64, 1), cameraId: safeText(128, 1), createdAt: z.iso.datetime(), artifactId: Id.nullable() }).optional(),
  outbox: z.object({ pending: z.int().min(0), droppedTelemetry: z.int().min(0), droppedEvents: z.int().min(0) }).optional(),
  /** Optional: the machine's health (see SystemMetricsSchema). */
  system: SystemMetricsSchema.optional(),
  /** Optional: the parts running on a fallback (camera lost, previous model, CPU, broker/outbox), as in /healthz. */
  degraded: z
    .array(z.object({ component: safeText(64, 1), reason: safeText(200), since: z.iso.datetime() }))
    .max(32)
    .optional(),
});
export type MetricsMessage = z.infer<typeof MetricsMessageSchema>;

/**
 * The shopper events, one data schema per type (device/telemetry/events.ts emits them; the fleet
 * reads only these keys). Counts, timings and random ids only (the privacy rule).
 *
 *   session.start  { sessionId }
 *   session.end    { sessionId, dwellMs, productsTried, looksSaved, reason: "idle" | "shutdown" }
 *   product.tried  { sessionId, productId, shadeId?, toneBand?, undertone? }    once per product and shade the shopper chose
 *   look.saved     { sessionId, lookId, products, productIds, toneBand?, undertone? }   productIds comma-separated
 *
 * `toneBand` and `undertone` (device/advisor/trends.ts) travel only when the retailer enables it
 * (off by default); they are what fleet/service/recommendations aggregates, never per shopper.
 *
 * A saved look's id carries its items ("1.<base64url>", device/tryon/saved-look.ts); older
 * firmware sent a random UUID. Both are accepted.
 */
const LookId = z.string().regex(/^(?:[A-Za-z0-9_-]{1,64}|\d{1,3}\.[A-Za-z0-9_-]{1,200})$/, { error: 'must be a look id ([A-Za-z0-9_-]{1,64} or a saved look id "1.<base64url>")' });

/** The shopper's tone band and undertone: both or neither. */
const ToneFields = { toneBand: z.enum(TONE_BANDS).optional(), undertone: z.enum(UNDERTONES).optional() };
const toneTogether = (d: { toneBand?: string; undertone?: string }): boolean => (d.toneBand === undefined) === (d.undertone === undefined);
const TONE_TOGETHER = { error: 'toneBand and undertone travel together (both or neither)', path: ['undertone'] };

export const EVENT_DATA_SCHEMAS = {
  'session.start': z.object({ sessionId: Id }),
  'session.end': z.object({
    sessionId: Id,
    dwellMs: z.number().min(0).max(7 * 86_400_000),
    productsTried: z.int().min(0),
    looksSaved: z.int().min(0),
    reason: z.enum(['idle', 'shutdown']),
  }),
  'product.tried': z.object({ sessionId: Id, productId: safeText(128, 1), shadeId: Id.optional(), ...ToneFields }).refine(toneTogether, TONE_TOGETHER),
  'look.saved': z.object({ sessionId: Id, lookId: LookId, products: z.int().min(0).max(256), productIds: safeText(256), ...ToneFields }).refine(toneTogether, TONE_TOGETHER),
} as const;
export type EventType = keyof typeof EVENT_DATA_SCHEMAS;
export const EVENT_TYPES = Object.keys(EVENT_DATA_SCHEMAS) as EventType[];
export type EventData<T extends EventType> = z.infer<(typeof EVENT_DATA_SCHEMAS)[T]>;

const isEventType = (t: string): t is EventType => Object.hasOwn(EVENT_DATA_SCHEMAS, t);

/**
 * On `.../events`: an envelope whose `data` is flat (counts, timings, ids; never blobs). A known
 * `type` must carry its data schema (a bad field is named as `data.<key>`); an unknown type is
 * kept as it came (a newer device may add one without breaking an older fleet) and counts for
 * nothing on the dashboard.
 */
export const EventMessageSchema = z
  .object({
    v: z.literal(PROTOCOL_VERSION),
    msgId: z.uuid(),
    deviceId: Id,
    ts: TimestampMs,
    type: z.string().regex(/^[a-z][a-z0-9._-]{0,63}$/, { error: 'must be a lower-case event name' }),
    data: z
      .record(
        z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/, { error: 'invalid name' }),
        z.union([safeText(256), z.number(), z.boolean(), z.null()]),
      )
      .refine((m) => Object.keys(m).length <= 64, { error: 'at most 64 entries' })
      .optional(),
  })
  .superRefine((m, ctx) => {
    if (!isEventType(m.type)) return;
    const r = EVENT_DATA_SCHEMAS[m.type].safeParse(m.data ?? {});
    if (!r.success) for (const i of r.error.issues) ctx.addIssue({ code: 'custom', path: ['data', ...i.path], message: i.message });
  });
export type EventMessage = z.infer<typeof EventMessageSchema>;

/** One known event, typed by its `type`: the discriminated union both ends speak. */
export type KnownEvent = { [T in EventType]: Omit<EventMessage, 'type' | 'data'> & { type: T; data: EventData<T> } }[EventType];

/** The event as its known type (data reduced to that type's keys), or undefined for an unknown type. */
export function knownEvent(e: EventMessage): KnownEvent | undefined {
  if (!isEventType(e.type)) return undefined;
  const r = EVENT_DATA_SCHEMAS[e.type].safeParse(e.data ?? {});
  return r.success ? ({ ...e, type: e.type, data: r.data } as KnownEvent) : undefined;
}

export type MessageKind = 'status' | 'metrics' | 'event';

const SCHEMAS = {
  status: StatusMessageSchema,
  metrics: MetricsMessageSchema,
  event: EventMessageSchema,
} as const;

interface KindValue {
  status: StatusMessage;
  metrics: MetricsMessage;
  event: EventMessage;
}

/** Which payload a channel carries here; `update` payloads are parsed by update.ts, `cmd` has none yet. */
const KIND_BY_CHANNEL: Partial<Record<Channel, MessageKind>> = {
  status: 'status',
  telemetry: 'metrics',
  events: 'event',
};

export type ParseErrorCode =
  | 'bad-topic'
  | 'unsupported-channel'
  | 'too-large'
  | 'bad-encoding'
  | 'bad-json'
  | 'bad-field'
  | 'topic-mismatch';

export interface ParseFailure {
  ok: false;
  code: ParseErrorCode;
  /** The first offending field as a dotted zod issue path (`models.mesh`), `topic`, or `(payload)`. */
  field: string;
  /** Every offending field, in zod's order. */
  fields: string[];
  /** Human-readable; always starts with the field name. */
  error: string;
}

export type ParsedMessage =
  | { ok: true; kind: 'status'; topic: ParsedTopic; value: StatusMessage }
  | { ok: true; kind: 'metrics'; topic: ParsedTopic; value: MetricsMessage }
  | { ok: true; kind: 'event'; topic: ParsedTopic; value: EventMessage };

export type ParseResult = ParsedMessage | ParseFailure;

function fail(code: ParseErrorCode, field: string, message: string, fields: string[] = [field]): ParseFailure {
  return { ok: false, code, field, fields, error: `${field}: ${message}` };
}

function pathName(path: ReadonlyArray<PropertyKey>): string {
  return path.length === 0 ? '(root)' : path.map((p) => String(p)).join('.');
}

function schemaFailure(error: z.ZodError): ParseFailure {
  const fields = error.issues.map((i) => pathName(i.path));
  const first = error.issues[0];
  const more = error.issues.length > 1 ? ` (and ${error.issues.length - 1} more: ${fields.slice(1).join(', ')})` : '';
  return fail('bad-field', fields[0] ?? '(root)', `${first?.message ?? 'invalid'}${more}`, fields);
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * Validate one message from the broker. Never throws.
 * `payload` is the raw MQTT payload (Buffer from MQTT.js; a string is accepted for tools).
 */
export function parseMessage(topic: string, payload: Uint8Array | string): ParseResult {
  try {
    const t = parseTopic(topic);
    if (!t.ok) {
      const field = t.field === 'topic' ? 'topic' : `topic.${t.field}`;
      return fail('bad-topic', field, t.error.slice(t.field.length + 2));
    }
    const kind = KIND_BY_CHANNEL[t.value.channel];
    if (kind === undefined) {
      return fail('unsupported-channel', 'topic.channel', `no v1 payload is defined for "${t.value.channel}" yet`);
    }
    const size = typeof payload === 'string' ? Buffer.byteLength(payload) : payload.byteLength;
    if (size > MAX_PAYLOAD_BYTES) {
      return fail('too-large', '(payload)', `${size} bytes, more than ${MAX_PAYLOAD_BYTES}`);
    }
    let text: string;
    try {
      text = typeof payload === 'string' ? payload : utf8.decode(payload);
    } catch {
      return fail('bad-encoding', '(payload)', 'not valid UTF-8');
    }
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch (err) {
      return fail('bad-json', '(payload)', `not JSON (${(err as Error).message})`);
    }
    const parsed = SCHEMAS[kind].safeParse(json);
    if (!parsed.success) return schemaFailure(parsed.error);
    const value = parsed.data as KindValue[typeof kind];
    if (value.deviceId !== t.value.deviceId) {
      return fail('topic-mismatch', 'deviceId', `"${value.deviceId}" does not match the topic's "${t.value.deviceId}"`);
    }
    if (kind === 'status' && (value as StatusMessage).storeId !== t.value.storeId) {
      return fail(
        'topic-mismatch',
        'storeId',
        `"${(value as StatusMessage).storeId}" does not match the topic's "${t.value.storeId}"`,
      );
    }
    return { ok: true, kind, topic: t.value, value } as ParsedMessage;
  } catch (err) {
    // Nothing above should throw; if something does, it is still bad input, not a crash.
    return fail('bad-json', '(payload)', `unexpected error: ${(err as Error)?.message ?? String(err)}`);
  }
}

export type EncodeResult = { ok: true; payload: Buffer } | ParseFailure;

/** Validate an outgoing message and serialise it. Never throws. */
export function encodeMessage<K extends MessageKind>(kind: K, value: KindValue[K]): EncodeResult {
  const parsed = SCHEMAS[kind].safeParse(value);
  if (!parsed.success) return schemaFailure(parsed.error);
  return { ok: true, payload: Buffer.from(JSON.stringify(parsed.data)) };
}

/**
 * Sparkplug's lesson on last wills, as one rule for whoever keeps a device's state (the fleet):
 * a status applies when it belongs to a newer connection than the one last seen, or when it is
 * the `offline` for that same connection (its will, or its shutdown). A late will from an older
 * connection never marks a device that has already reconnected as offline.
 */
export function shouldApplyStatus(
  current: Pick<StatusMessage, 'connectionSeq' | 'state'> | undefined,
  next: Pick<StatusMessage, 'connectionSeq' | 'state'>,
): boolean {
  if (current === undefined) return true;
  if (next.connectionSeq > current.connectionSeq) return true;
  return next.connectionSeq === current.connectionSeq && next.state === 'offline' && current.state === 'online';
}
