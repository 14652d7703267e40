/**
 * Every MQTT topic between a mirror and the fleet, declared once and imported by both sides.
 *
 *   mirror/v1/{storeId}/{deviceId}/status        device → fleet  retained, QoS 1  (birth / will / shutdown)
 *   mirror/v1/{storeId}/{deviceId}/telemetry     device → fleet  QoS 1            (periodic metrics)
 *   mirror/v1/{storeId}/{deviceId}/events        device → fleet  QoS 1            (sessions, errors, rollbacks)
 *   mirror/v1/{storeId}/{deviceId}/cmd/{name}    fleet → device  QoS 1            (signed commands: commands.ts)
 *   mirror/v1/{storeId}/{deviceId}/result        device → fleet  QoS 1            (each command's result)
 *   mirror/v1/{storeId}/{deviceId}/update/...    both            QoS 1            (model/catalog updates: fleet/protocol/update.ts)
 *
 * The version segment is part of the topic so a v2 fleet can run beside v1 devices during a
 * migration, and a broker ACL can pin each device to `mirror/v1/{store}/{device}/#`.
 *
 * Builders throw on a bad id (a programming or config error, caught at start-up);
 * `parseTopic` never throws and returns a result, because it sees input from the network.
 */

export const TOPIC_ROOT = 'mirror';
export const TOPIC_VERSION = 'v1';

/** Store and device ids: what may appear as a topic segment. No `/`, `+`, `#` or spaces. */
export const ID_PATTERN = /^[A-Za-z0-9_-]{1,64}$/;

/** Sub-topic segments under `cmd/` and `update/` follow the same rule as ids. */
export const SEGMENT_PATTERN = ID_PATTERN;

/** At most this many segments after `cmd/` or `update/`. */
export const MAX_SUBTOPIC_DEPTH = 4;

export type Channel = 'status' | 'telemetry' | 'events' | 'cmd' | 'result' | 'update';

export type QoS = 0 | 1 | 2;

export interface ChannelSpec {
  qos: QoS;
  retain: boolean;
  /** Who publishes on it. */
  from: 'device' | 'fleet' | 'both';
  /** Whether the channel is a tree (`cmd/#`) rather than a single topic. */
  tree: boolean;
  /** Declared (topics, broker ACL) but nothing publishes on it yet. */
  reserved: boolean;
}

export const CHANNELS = {
  /**
   * Retained so that a fleet service that (re)starts learns every device's state at once.
   * QoS 1: a lost birth or will would leave the fleet with a wrong state until the next change.
   */
  status: { qos: 1, retain: true, from: 'device', tree: false, reserved: false },
  /**
   * QoS 1, not 0. The design promises "nothing lost, nothing duplicated beyond at-least-once
   * with ids": the on-disk outbox (device/telemetry/outbox.ts) may delete a metrics record only once the broker
   * has acknowledged it, and only QoS 1 gives a PUBACK. Duplicates are harmless because every
   * metrics message carries a `msgId` (uuid) the fleet deduplicates on. The cost (one PUBACK per
   * interval, seconds apart) is negligible. QoS 2 would add a round trip for nothing `msgId`
   * does not already give.
   */
  telemetry: { qos: 1, retain: false, from: 'device', tree: false, reserved: false },
  /** Discrete events (session ended, rollback, error): QoS 1, deduplicated by `msgId`. */
  events: { qos: 1, retain: false, from: 'device', tree: false, reserved: false },
  /**
   * Commands from the fleet to one device (`cmd/{name}`), signed (commands.ts). Only the fleet
   * service may write here (broker ACL). Not retained: a command for a mirror that is offline
   * waits in its persistent session at most until it expires, and is refused after.
   */
  cmd: { qos: 1, retain: false, from: 'fleet', tree: true, reserved: false },
  /** One result per command (ok, failed or refused), device → fleet. */
  result: { qos: 1, retain: false, from: 'device', tree: false, reserved: false },
  /** Model/catalog update offers, chunks and progress (`update/{name}`): see update.ts. */
  update: { qos: 1, retain: false, from: 'both', tree: true, reserved: false },
} as const satisfies Record<Channel, ChannelSpec>;

export const CHANNEL_NAMES = Object.keys(CHANNELS) as Channel[];

export interface DeviceAddress {
  storeId: string;
  deviceId: string;
}

export interface ParsedTopic extends DeviceAddress {
  channel: Channel;
  /** Segments after `cmd/` or `update/`; empty for the single-topic channels. */
  subtopic: string[];
}

export type TopicField = 'topic' | 'storeId' | 'deviceId' | 'channel' | 'subtopic';

export type TopicParseResult =
  | { ok: true; value: ParsedTopic }
  /** `error` starts with the field name, e.g. `deviceId: invalid topic segment "a b"`. */
  | { ok: false; field: TopicField; error: string };

function topicError(field: TopicField, message: string): { ok: false; field: TopicField; error: string } {
  return { ok: false, field, error: `${field}: ${message}` };
}

export function isValidId(id: unknown): id is string {
  return typeof id === 'string' && ID_PATTERN.test(id);
}

function assertId(what: string, id: string): void {
  if (!isValidId(id)) {
    throw new TypeError(`invalid ${what} ${JSON.stringify(id)}: must match ${ID_PATTERN.source}`);
  }
}

function base(addr: DeviceAddress): string {
  assertId('storeId', addr.storeId);
  assertId('deviceId', addr.deviceId);
  return `${TOPIC_ROOT}/${TOPIC_VERSION}/${addr.storeId}/${addr.deviceId}`;
}

export function statusTopic(addr: DeviceAddress): string {
  return `${base(addr)}/status`;
}

export function telemetryTopic(addr: DeviceAddress): string {
  return `${base(addr)}/telemetry`;
}

export function eventsTopic(addr: DeviceAddress): string {
  return `${base(addr)}/events`;
}

/** `mirror/v1/{store}/{device}/result`: command results. */
export function resultTopic(addr: DeviceAddress): string {
  return `${base(addr)}/result`;
}

function treeTopic(channel: 'cmd' | 'update', addr: DeviceAddress, subtopic: string[]): string {
  if (subtopic.length < 1 || subtopic.length > MAX_SUBTOPIC_DEPTH) {
    throw new TypeError(`${channel} topic needs 1..${MAX_SUBTOPIC_DEPTH} sub-topic segments`);
  }
  for (const seg of subtopic) assertId(`${channel} segment`, seg);
  return `${base(addr)}/${channel}/${subtopic.join('/')}`;
}

/** `mirror/v1/{store}/{device}/cmd/{...subtopic}`: commands (commands.ts; the sub-topic is the command's name). */
export function cmdTopic(addr: DeviceAddress, ...subtopic: string[]): string {
  return treeTopic('cmd', addr, subtopic);
}

/** `mirror/v1/{store}/{device}/update/{...subtopic}`: offers, chunks, cancels, requests, states (update.ts). */
export function updateTopic(addr: DeviceAddress, ...subtopic: string[]): string {
  return treeTopic('update', addr, subtopic);
}

/** Build the concrete topic for a channel (tree channels need a sub-topic). */
export function topicFor(channel: Channel, addr: DeviceAddress, subtopic: string[] = []): string {
  switch (channel) {
    case 'status':
      return statusTopic(addr);
    case 'telemetry':
      return telemetryTopic(addr);
    case 'events':
      return eventsTopic(addr);
    case 'result':
      return resultTopic(addr);
    case 'cmd':
    case 'update':
      return treeTopic(channel, addr, subtopic);
  }
}

/**
 * A subscription filter: omitted store/device become `+`; tree channels end in `/#`.
 * e.g. the fleet subscribes to `channelFilter('status')` = `mirror/v1/+/+/status`,
 * a device to `channelFilter('cmd', me)` = `mirror/v1/s1/d1/cmd/#`.
 */
export function channelFilter(channel: Channel, addr: Partial<DeviceAddress> = {}): string {
  const store = addr.storeId ?? '+';
  const device = addr.deviceId ?? '+';
  if (store !== '+') assertId('storeId', store);
  if (device !== '+') assertId('deviceId', device);
  const tail = CHANNELS[channel].tree ? `${channel}/#` : channel;
  return `${TOPIC_ROOT}/${TOPIC_VERSION}/${store}/${device}/${tail}`;
}

/** Parse and validate a concrete topic (no wildcards). Never throws. */
export function parseTopic(topic: unknown): TopicParseResult {
  if (typeof topic !== 'string') return topicError('topic', 'not a string');
  if (topic.length > 512) return topicError('topic', 'longer than 512 characters');
  const parts = topic.split('/');
  if (parts[0] !== TOPIC_ROOT) {
    return topicError('topic', `must start with "${TOPIC_ROOT}/"`);
  }
  if (parts[1] !== TOPIC_VERSION) {
    return topicError('topic', `unsupported protocol version segment ${JSON.stringify(parts[1] ?? '')}`);
  }
  if (parts.length < 5) return topicError('topic', 'too few segments');
  const [, , storeId, deviceId, channel, ...rest] = parts;
  if (!isValidId(storeId)) {
    return topicError('storeId', `invalid topic segment ${JSON.stringify(storeId)}`);
  }
  if (!isValidId(deviceId)) {
    return topicError('deviceId', `invalid topic segment ${JSON.stringify(deviceId)}`);
  }
  if (!Object.hasOwn(CHANNELS, channel)) {
    return topicError('channel', `unknown channel ${JSON.stringify(channel)}`);
  }
  const ch = channel as Channel;
  if (CHANNELS[ch].tree) {
    if (rest.length < 1 || rest.length > MAX_SUBTOPIC_DEPTH) {
      return topicError('subtopic', `${ch} needs 1..${MAX_SUBTOPIC_DEPTH} segments`);
    }
    const bad = rest.find((s) => !SEGMENT_PATTERN.test(s));
    if (bad !== undefined) {
      return topicError('subtopic', `invalid segment ${JSON.stringify(bad)}`);
    }
  } else if (rest.length > 0) {
    return topicError('subtopic', `${ch} takes no sub-topic`);
  }
  return { ok: true, value: { storeId, deviceId, channel: ch, subtopic: rest } };
}
