/**
 * The mirror's command checks and helpers, in process (the round trip through the broker is
 * command-roundtrip.test.ts): the guard's refusals in order and its replay memory surviving a
 * restart (a redelivered `restart` must not run twice), the redaction of the `logs` ring, and the
 * temporary log level reverting.
 */
import { generateKeyPairSync, randomBytes, randomUUID, sign, type KeyObject } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { CLOCK_SKEW_MS, MAX_LOG_BYTES, MAX_LOG_LINES, commandSigningPayload, parseCommand, type Command, type UnsignedCommand } from '../../fleet/protocol/commands.ts';
import { CommandGuard, SEEN_FILE } from '../../device/commands/guard.ts';
import { LogRing, redactLogLine } from '../../device/commands/log-ring.ts';
import { TemporaryLogLevel } from '../../device/commands/log-level.ts';

const ME = { storeId: 's1', deviceId: 'm1' };
const { privateKey, publicKey } = generateKeyPairSync('ed25519');
const KEYS = new Map([['k1', publicKey]]);
const T0 = 1_800_000_000_000;

function signed(fields: Partial<UnsignedCommand> = {}, key: KeyObject = privateKey): Command {
  const unsigned: UnsignedCommand = {
    v: 1,
    id: randomUUID(),
    name: 'self-test',
    args: {},
    ...ME,
    issuedAt: T0,
    expiresAt: T0 + 60_000,
    nonce: randomBytes(16).toString('base64url'),
    issuedBy: 'op',
    keyId: 'k1',
    ...fields,
  };
  return { ...unsigned, signature: sign(null, commandSigningPayload(unsigned), key).toString('base64') };
}

const bytes = (c: unknown) => Buffer.from(JSON.stringify(c));

describe('command guard', () => {
  let now = T0;
  const stateDir = () => mkdtempSync(path.join(os.tmpdir(), 'cmd-guard-'));
  const guard = (dir = stateDir()) => new CommandGuard({ addr: ME, keys: KEYS, stateDir: dir, now: () => now });
  afterEach(() => {
    now = T0;
  });

  it('passes a command signed for this mirror, within its window, once', () => {
    const g = guard();
    const c = signed();
    expect(g.check('self-test', bytes(c))).toMatchObject({ ok: true, command: { id: c.id } });
    expect(g.check('self-test', bytes(c))).toMatchObject({ ok: false, reason: 'replayed', field: 'id' });
  });

  it('refuses, naming the reason and field: unsigned, bad or unknown key, wrong store, device or topic, expired, early, bad args', () => {
    const g = guard();
    const { signature: _s, ...unsigned } = signed();
    const cases: Array<[string, unknown, object]> = [
      ['self-test', unsigned, { reason: 'unsigned', field: 'signature' }],
      ['self-test', { ...signed(), issuedBy: 'someone-else' }, { reason: 'bad-signature', field: 'signature' }],
      ['self-test', signed({}, generateKeyPairSync('ed25519').privateKey), { reason: 'bad-signature' }],
      ['self-test', signed({ keyId: 'k2' }), { reason: 'unknown-key', field: 'keyId' }],
      ['self-test', signed({ storeId: 's2' }), { reason: 'wrong-target', field: 'storeId' }],
      ['self-test', signed({ deviceId: 'm2' }), { reason: 'wrong-target', field: 'deviceId' }],
      ['restart', signed(), { reason: 'wrong-target', field: 'name' }],
      ['self-test', signed({ issuedAt: T0 - 3_600_000, expiresAt: T0 - 3_600_000 + 60_000 }), { reason: 'expired', field: 'expiresAt' }],
      ['self-test', signed({ issuedAt: T0 + CLOCK_SKEW_MS + 60_000, expiresAt: T0 + CLOCK_SKEW_MS + 120_000 }), { reason: 'not-yet-valid', field: 'issuedAt' }],
      ['self-test', signed({ expiresAt: T0 + 3_600_000 }), { reason: 'bad-command', field: 'expiresAt' }],
      ['logs', signed({ name: 'logs', args: { lines: 'all' } }), { reason: 'bad-command', field: 'args.lines' }],
      ['logs', signed({ name: 'logs', args: { lines: 5, follow: true } }), { reason: 'bad-command', field: 'args.follow' }],
      ['log-level', signed({ name: 'log-level', args: { level: 'debug' } }), { reason: 'bad-command', field: 'args.durationS' }],
      ['self-test', { ...signed(), storeId: 'a/b' }, { reason: 'bad-command', field: 'storeId' }],
      ['self-test', '[1,2]', { reason: 'bad-command', field: '(payload)', id: null }],
    ];
    for (const [sub, payload, want] of cases) {
      const r = g.check(sub, typeof payload === 'string' ? Buffer.from(payload) : bytes(payload));
      expect(r, JSON.stringify(want)).toMatchObject({ ok: false, ...want });
    }
  });

  it('a foreign command is refused as wrong-target even when it is also tampered with', () => {
    const c = { ...signed({ storeId: 's2' }), issuedBy: 'x' };
    expect(guard().check('self-test', bytes(c))).toMatchObject({ ok: false, reason: 'wrong-target' });
  });

  it('accepts clocks that differ by less than the skew, either way', () => {
    const g = guard();
    now = T0 + 60_000 + CLOCK_SKEW_MS - 1;
    expect(g.check('self-test', bytes(signed())).ok).toBe(true);
    now = T0 - CLOCK_SKEW_MS + 1;
    expect(g.check('self-test', bytes(signed())).ok).toBe(true);
  });

  it('remembers ids and nonces across a restart, and forgets them once expired', () => {
    const dir = stateDir();
    const c = signed();
    expect(guard(dir).check('self-test', bytes(c)).ok).toBe(true);
    // The restarted daemon gets the same command again (a broker redelivery): refused.
    expect(guard(dir).check('self-test', bytes(c))).toMatchObject({ ok: false, reason: 'replayed' });
    expect(guard(dir).check('self-test', bytes(signed({ nonce: c.nonce })))).toMatchObject({ ok: false, reason: 'replayed', field: 'nonce' });
    // Past its expiry (and the skew) it is refused as expired, and no longer kept.
    now = c.expiresAt + CLOCK_SKEW_MS + 1;
    const g = guard(dir);
    expect(g.check('self-test', bytes(c))).toMatchObject({ ok: false, reason: 'expired' });
    expect(g.check('self-test', bytes(signed({ issuedAt: now, expiresAt: now + 1000 }))).ok).toBe(true);
  });

  it('a damaged replay memory starts empty and says so, instead of refusing every command', () => {
    const dir = stateDir();
    writeFileSync(path.join(dir, SEEN_FILE), '{"v":1,"seen":[{"key":');
    const g = guard(dir);
    expect(g.damaged).toMatch(/not a valid replay memory/);
    expect(g.check('self-test', bytes(signed())).ok).toBe(true);
  });

  it('parseCommand never throws on junk', () => {
    for (const junk of ['', 'null', '"x"', '{"signature":1}', '{"v":1,"signature":"AA=="}', 'x'.repeat(20_000)]) {
      expect(parseCommand(Buffer.from(junk)).ok).toBe(false);
    }
  });
});

describe('logs ring', () => {
  it('redacts addresses, credentials, bearer tokens, keys and PEM blocks; keeps the rest', () => {
    const line = JSON.stringify({
      level: 30,
      msg: 'MQTT connected',
      url: 'mqtts://user:pw@10.0.0.7:8883',
      client: { addr: '192.168.1.23', v6: 'fe80::1%eth0', full: '2001:db8:0:0:0:0:0:1' },
      headers: { authorization: 'Bearer abc', cookie: 'sid=1' },
      token: 'tok',
      note: 'sent Bearer eyJhbGciOi.x.y to ::ffff:10.1.2.3 at 12:34:56 from aa:bb:cc:dd:ee:ff',
      pem: '-----BEGIN PRIVATE KEY-----\nMC4CAQ\n-----END PRIVATE KEY-----',
      fps: 29.5,
    });
    const out = JSON.parse(redactLogLine(line));
    expect(out).toMatchObject({ level: 30, msg: 'MQTT connected', fps: 29.5, token: '***', headers: { authorization: '***', cookie: '***' }, pem: '***' });
    expect(out.url).toBe('mqtts://***:***@[ip]:8883');
    expect(out.client).toEqual({ addr: '[ip]', v6: '[ip]', full: '[ip]' });
    expect(out.note).toBe('sent Bearer *** to ::ffff:[ip] at 12:34:56 from aa:bb:cc:dd:ee:ff');
    expect(redactLogLine('plain text from 172.16.0.1')).toBe('plain text from [ip]');
  });

  it('keeps the last lines, oldest first, within the byte budget', () => {
    const ring = new LogRing(5, 100);
    for (let i = 0; i < 12; i++) ring.push(JSON.stringify({ i }));
    expect(ring.tail(3, 10_000)).toEqual({ lines: ['{"i":9}', '{"i":10}', '{"i":11}'], truncated: false });
    expect(ring.tail(50, 10_000).lines).toHaveLength(5);
    // As sent: "{\"i\":10}", = 13 bytes each.
    expect(ring.tail(5, 26)).toEqual({ lines: ['{"i":10}', '{"i":11}'], truncated: true });
    expect(ring.tail(5, 25).lines).toEqual(['{"i":11}']);
    ring.push('x'.repeat(500));
    expect(ring.tail(1, 10_000).lines[0]).toHaveLength(100);
  });

  it('a full ring of long, quote-heavy lines still fits one result under the broker limit (128 KiB)', () => {
    const ring = new LogRing();
    const obj = Object.fromEntries(Array.from({ length: 400 }, (_, i) => [`k${i}`, '"']));
    for (let i = 0; i < 3000; i++) ring.push(JSON.stringify(obj));
    const output = ring.tail(MAX_LOG_LINES, MAX_LOG_BYTES);
    expect(output.truncated).toBe(true);
    expect(output.lines.length).toBeGreaterThan(10);
    const result = { v: 1, commandId: randomUUID(), name: 'logs', storeId: 'a'.repeat(64), deviceId: 'b'.repeat(64), ts: Date.now(), status: 'ok', output };
    expect(Buffer.byteLength(JSON.stringify(result))).toBeLessThan(131_072);
  });
});

describe('temporary log level', () => {
  afterEach(() => vi.useRealTimers());

  it('sets a level for a while and reverts to the one before, once; a later change by someone else stands', () => {
    vi.useFakeTimers();
    const target = { level: 'info' };
    const logs: Array<{ msg?: string; obj: object }> = [];
    const logger = { info: () => {}, warn: (obj: object, msg?: string) => logs.push({ obj, msg }), error: () => {} };
    const t = new TemporaryLogLevel(target, logger, () => 0);
    expect(t.set('debug', 1000)).toEqual({ level: 'debug', previous: 'info', revertAt: 1000 });
    expect(t.set('trace', 2000)).toEqual({ level: 'trace', previous: 'info', revertAt: 2000 });
    vi.advanceTimersByTime(1500);
    expect(target.level).toBe('trace');
    vi.advanceTimersByTime(600);
    expect(target.level).toBe('info');
    expect(logs.at(-1)).toMatchObject({ msg: 'log level reverted', obj: { restored: 'info' } });
    t.set('debug', 1000);
    target.level = 'warn'; // a config reload meanwhile
    vi.advanceTimersByTime(1000);
    expect(target.level).toBe('warn');
  });
});
