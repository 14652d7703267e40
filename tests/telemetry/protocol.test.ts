/**
 * The MQTT protocol at the fleet's boundary: every malformed input gets a clear error that
 * names the field, and nothing throws.
 */
import { describe, expect, it } from 'vitest';
import {
  encodeMessage,
  MAX_PAYLOAD_BYTES,
  parseMessage,
  shouldApplyStatus,
  type MetricsMessage,
  type StatusMessage,
} from '../../fleet/protocol/schemas.ts';
import {
  channelFilter,
  cmdTopic,
  eventsTopic,
  parseTopic,
  statusTopic,
  telemetryTopic,
  updateTopic,
} from '../../fleet/protocol/topics.ts';

const addr = { storeId: 'store-1', deviceId: 'mirror_07' };

const status: StatusMessage = {
  v: 1,
  state: 'online',
  deviceId: 'mirror_07',
  storeId: 'store-1',
  connectionSeq: 4,
  ts: 1_700_000_000_000,
  firmwareVersion: '0.1.0',
  models: { mesh: '2.1.0' },
  backends: { mesh: 'onnx-cpu' },
};

const metrics: MetricsMessage = {
  v: 1,
  msgId: '3b241101-e2bb-4255-8caf-4136c566a962',
  deviceId: 'mirror_07',
  ts: 1_700_000_000_000,
  intervalS: 10,
  fps: 30,
  latencyP50Ms: 20,
  latencyP95Ms: 33,
  droppedFrames: 2,
  processedFrames: 300,
  backends: { mesh: 'onnx-cpu' },
  models: { mesh: '2.1.0' },
  uptimeS: 120.5,
  rssBytes: 200_000_000,
  cpuLoad: 0.4,
};

const json = (v: unknown): Buffer => Buffer.from(JSON.stringify(v));

describe('topics', () => {
  it('builders produce the v1 layout the broker ACLs are written for', () => {
    expect(statusTopic(addr)).toBe('mirror/v1/store-1/mirror_07/status');
    expect(telemetryTopic(addr)).toBe('mirror/v1/store-1/mirror_07/telemetry');
    expect(eventsTopic(addr)).toBe('mirror/v1/store-1/mirror_07/events');
    expect(cmdTopic(addr, 'reboot')).toBe('mirror/v1/store-1/mirror_07/cmd/reboot');
    expect(updateTopic(addr, 'offer')).toBe('mirror/v1/store-1/mirror_07/update/offer');
    expect(channelFilter('status')).toBe('mirror/v1/+/+/status');
    expect(channelFilter('cmd', addr)).toBe('mirror/v1/store-1/mirror_07/cmd/#');
  });

  it('a topic built by the device parses back to the same address on the fleet', () => {
    for (const t of [statusTopic(addr), telemetryTopic(addr), eventsTopic(addr), cmdTopic(addr, 'a', 'b')]) {
      const r = parseTopic(t);
      expect(r.ok).toBe(true);
      if (r.ok) expect(r.value).toMatchObject(addr);
    }
    expect(parseTopic(cmdTopic(addr, 'a', 'b'))).toMatchObject({ ok: true, value: { channel: 'cmd', subtopic: ['a', 'b'] } });
  });

  it.each([
    ['mirror/v1/store 1/d1/status', 'storeId'],
    ['mirror/v1/s1/d#1/status', 'deviceId'],
    ['mirror/v1/+/d1/status', 'storeId'],
    ['mirror/v1/s1//status', 'deviceId'],
    [`mirror/v1/s1/${'x'.repeat(65)}/status`, 'deviceId'],
    ['mirror/v1/s1/dé/status', 'deviceId'],
    ['mirror/v2/s1/d1/status', 'topic'],
    ['other/v1/s1/d1/status', 'topic'],
    ['mirror/v1/s1/d1', 'topic'],
    ['mirror/v1/s1/d1/nope', 'channel'],
    ['mirror/v1/s1/d1/status/extra', 'subtopic'],
    ['mirror/v1/s1/d1/cmd', 'subtopic'],
    ['mirror/v1/s1/d1/cmd/#', 'subtopic'],
  ])('topic with a bad segment is rejected, naming it: %s', (topic, field) => {
    const r = parseTopic(topic);
    expect(r.ok).toBe(false);
    if (!r.ok) {
      expect(r.field).toBe(field);
      expect(r.error.startsWith(`${field}:`)).toBe(true);
    }
  });

  it('builders refuse ids that would break the topic tree (a config error, caught at start)', () => {
    expect(() => statusTopic({ storeId: 'a/b', deviceId: 'd' })).toThrow(/storeId/);
    expect(() => telemetryTopic({ storeId: 's', deviceId: '+' })).toThrow(/deviceId/);
    expect(() => cmdTopic(addr)).toThrow(/sub-topic/);
  });

  it('a non-string topic is an error, not a crash', () => {
    expect(parseTopic(undefined)).toMatchObject({ ok: false, field: 'topic' });
    expect(parseTopic(42)).toMatchObject({ ok: false, field: 'topic' });
  });
});

describe('payloads', () => {
  it('well-formed status and metrics round-trip through encode and parse', () => {
    const s = encodeMessage('status', status);
    const m = encodeMessage('metrics', metrics);
    if (!s.ok || !m.ok) throw new Error('encode failed');
    expect(parseMessage(statusTopic(addr), s.payload)).toMatchObject({ ok: true, kind: 'status', value: status });
    expect(parseMessage(telemetryTopic(addr), m.payload)).toMatchObject({ ok: true, kind: 'metrics', value: metrics });
    const e = parseMessage(eventsTopic(addr), json({ v: 1, msgId: metrics.msgId, deviceId: 'mirror_07', ts: 1, type: 'session.ended', data: { dwellS: 42, productId: 'lip-01' } }));
    expect(e).toMatchObject({ ok: true, kind: 'event' });
  });

  // Five (and more) malformed payloads; each error names the offending field.
  it.each<[string, string, Buffer | string, string]>([
    ['status with a string connectionSeq', 'status', json({ ...status, connectionSeq: '4' }), 'connectionSeq'],
    ['status with an unknown state', 'status', json({ ...status, state: 'sleeping' }), 'state'],
    ['status from a future protocol version', 'status', json({ ...status, v: 2 }), 'v'],
    ['status without firmwareVersion', 'status', json({ ...status, firmwareVersion: undefined }), 'firmwareVersion'],
    ['status with a non-string model version', 'status', json({ ...status, models: { mesh: 2 } }), 'models.mesh'],
    ['metrics whose msgId is not a uuid', 'telemetry', json({ ...metrics, msgId: 'abc' }), 'msgId'],
    ['metrics with negative dropped frames', 'telemetry', json({ ...metrics, droppedFrames: -1 }), 'droppedFrames'],
    ['metrics with fractional processed frames', 'telemetry', json({ ...metrics, processedFrames: 1.5 }), 'processedFrames'],
    ['metrics with fps as null (NaN serialised)', 'telemetry', json({ ...metrics, fps: null }), 'fps'],
    ['metrics with cpuLoad above 1', 'telemetry', json({ ...metrics, cpuLoad: 3 }), 'cpuLoad'],
    ['a JSON array instead of an object', 'status', json([1, 2]), '(root)'],
    ['not JSON at all', 'status', Buffer.from('{"v":1,'), '(payload)'],
    ['invalid UTF-8', 'status', Buffer.from([0x7b, 0xff, 0xfe, 0x7d]), '(payload)'],
    ['a payload over the size limit', 'telemetry', Buffer.alloc(MAX_PAYLOAD_BYTES + 1, 0x20), '(payload)'],
    ['metrics claiming another device than its topic', 'telemetry', json({ ...metrics, deviceId: 'mirror_08' }), 'deviceId'],
    ['status claiming another store than its topic', 'status', json({ ...status, storeId: 'store-2' }), 'storeId'],
  ])('malformed payload is rejected, naming the field: %s', (_name, channel, payload, field) => {
    const topic = channel === 'status' ? statusTopic(addr) : telemetryTopic(addr);
    const r = parseMessage(topic, payload);
    expect(r.ok).toBe(false);
    if (!r.ok) {
      expect(r.field).toBe(field);
      expect(r.error.startsWith(`${field}:`)).toBe(true);
    }
  });

  it('a __proto__ key in a name map cannot pollute the parsed object', () => {
    const raw = `{"v":1,"msgId":"${metrics.msgId}","deviceId":"mirror_07","ts":1,"intervalS":1,"fps":1,"latencyP50Ms":1,"latencyP95Ms":1,"droppedFrames":0,"processedFrames":0,"backends":{"__proto__":{"polluted":"yes"},"mesh":"onnx-cpu"},"models":{},"uptimeS":1,"rssBytes":1}`;
    const r = parseMessage(telemetryTopic(addr), raw);
    expect(r.ok).toBe(true);
    if (r.ok && r.kind === 'metrics') {
      expect(Object.getPrototypeOf(r.value.backends)).toBe(Object.prototype);
      expect(Object.keys(r.value.backends)).toEqual(['mesh']);
      expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    }
  });

  it('several bad fields are all listed, the first one named in the error', () => {
    const r = parseMessage(telemetryTopic(addr), json({ ...metrics, fps: -1, rssBytes: 'lots' }));
    expect(r).toMatchObject({ ok: false, code: 'bad-field', field: 'fps', fields: ['fps', 'rssBytes'] });
  });

  it('messages on a bad topic or a reserved channel are rejected before the payload is read', () => {
    expect(parseMessage('mirror/v1/s 1/d/status', json(status))).toMatchObject({ ok: false, code: 'bad-topic', field: 'topic.storeId' });
    expect(parseMessage(cmdTopic(addr, 'reboot'), json({}))).toMatchObject({ ok: false, code: 'unsupported-channel', field: 'topic.channel' });
  });

  it('parseMessage never throws, whatever arrives', () => {
    const junk: Array<[unknown, unknown]> = [
      [statusTopic(addr), Buffer.from('null')],
      [statusTopic(addr), Buffer.from('"online"')],
      [statusTopic(addr), Buffer.alloc(0)],
      [statusTopic(addr), Buffer.from(JSON.stringify({ v: 1, models: { a: { b: 1 } } }))],
      [null, Buffer.from('{}')],
      [statusTopic(addr), null],
      [statusTopic(addr), 17],
    ];
    for (let i = 0; i < 200; i++) {
      const len = Math.floor(Math.random() * 64);
      junk.push([telemetryTopic(addr), Buffer.from(Array.from({ length: len }, () => Math.floor(Math.random() * 256)))]);
    }
    for (const [t, p] of junk) {
      const r = parseMessage(t as string, p as Buffer);
      expect(r.ok).toBe(false);
      if (!r.ok) expect(typeof r.error).toBe('string');
    }
  });

  it('encodeMessage refuses an outgoing message the fleet would reject', () => {
    expect(encodeMessage('metrics', { ...metrics, fps: Number.NaN })).toMatchObject({ ok: false, field: 'fps' });
  });
});

describe('last-will ordering (Sparkplug)', () => {
  const on = (connectionSeq: number) => ({ state: 'online' as const, connectionSeq });
  const off = (connectionSeq: number) => ({ state: 'offline' as const, connectionSeq });

  it('a late will from an older connection does not mark a reconnected mirror offline', () => {
    expect(shouldApplyStatus(on(8), off(7))).toBe(false);
  });

  it('the will of the current connection does mark it offline', () => {
    expect(shouldApplyStatus(on(8), off(8))).toBe(true);
  });

  it('a birth replayed after its own will does not bring a dead connection back', () => {
    expect(shouldApplyStatus(off(8), on(8))).toBe(false);
  });

  it('a newer connection always wins, whatever arrived before', () => {
    expect(shouldApplyStatus(off(8), on(9))).toBe(true);
    expect(shouldApplyStatus(undefined, off(3))).toBe(true);
  });
});
