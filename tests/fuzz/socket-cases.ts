/**
 * Fuzzed socket.io traffic from a kiosk-origin client: the kiosk's own `painted` event (valid,
 * broken by the shared payload mutations, or with binary and extra arguments), the try-on
 * commands (valid, malformed, without an ack), events the daemon does not know, and raw
 * socket.io packets written straight to the engine (truncated, bad types, bogus binary
 * attachment headers, unknown namespaces, deep nesting, garbage).
 *
 * MALFORMED_TRYON_COMMANDS: hand-written bad commands and the field each refusal must name
 * (tests/daemon/tryon-control.test.ts sends each one to the real daemon).
 */
import fc from 'fast-check';
import type { Socket } from 'socket.io-client';
import { fuzzCase, type MessageShape } from './payloads.ts';

/** The daemon's socket.io message limit (maxHttpBufferSize): larger ones close the connection. */
const SOCKET_MAX_BYTES = 16 * 1024;

export interface SocketCase {
  how: string;
  /** Whether the server may drop the connection for it (a malformed or oversized packet). */
  mayClose: boolean;
  send(socket: Socket): void;
}

/** Names socket.io-client refuses to emit (they are its own). */
const RESERVED = new Set(['connect', 'connect_error', 'disconnect', 'disconnecting', 'newListener', 'removeListener']);

/** A socket.io EVENT packet (type 2) written as text, below the client's encoder. */
function raw(how: string, packet: string): SocketCase {
  return { how, mayClose: true, send: (socket) => socket.io.engine?.send(packet) };
}

function emit(how: string, event: string, ...args: unknown[]): SocketCase {
  return { how, mayClose: false, send: (socket) => socket.emit(event, ...args) };
}

const painted = fc.record({ id: fc.integer({ min: 1, max: 2 ** 31 }), paintedAt: fc.integer({ min: 1, max: 2 ** 42 }) });
const paintedShape: MessageShape = { required: ['id', 'paintedAt'], patterned: [], limited: [], maxBytes: SOCKET_MAX_BYTES };

/** Deep values go raw too: the client's own encoder recurses over every argument. */
function asPainted(how: string, text: string): SocketCase {
  try {
    if (text.length < 4096) return emit(`painted: ${how}`, 'painted', JSON.parse(text));
  } catch {
    // not JSON: a malformed packet
  }
  return raw(`painted: ${how}`, `2["painted",${text}]`);
}

export interface MalformedCommand {
  event: string;
  how: string;
  payload: unknown;
  field: string;
}

const P = 'velour-velvet-matte';
export const MALFORMED_TRYON_COMMANDS: MalformedCommand[] = [
  { event: 'tryon:set', how: 'a string payload', payload: 'lipstick', field: '(payload)' },
  { event: 'tryon:set', how: 'a number payload', payload: 42, field: '(payload)' },
  { event: 'tryon:set', how: 'a null payload', payload: null, field: '(payload)' },
  { event: 'tryon:set', how: 'an array payload', payload: [P], field: '(payload)' },
  { event: 'tryon:set', how: 'no productId', payload: {}, field: 'productId' },
  { event: 'tryon:set', how: 'productId a number', payload: { productId: 42 }, field: 'productId' },
  { event: 'tryon:set', how: 'an unknown product', payload: { productId: 'no-such-product' }, field: 'productId' },
  { event: 'tryon:set', how: 'a 9,000-character productId', payload: { productId: 'x'.repeat(9000) }, field: 'productId' },
  { event: 'tryon:set', how: 'a path in productId', payload: { productId: '../catalog.json' }, field: 'productId' },
  { event: 'tryon:set', how: 'a shade of another product', payload: { productId: P, shadeId: 'ruby' }, field: 'shadeId' },
  { event: 'tryon:set', how: 'shadeId a number', payload: { productId: P, shadeId: 7 }, field: 'shadeId' },
  { event: 'tryon:set', how: 'intensity above 1', payload: { productId: P, intensity: 1.01 }, field: 'intensity' },
  { event: 'tryon:set', how: 'intensity below 0', payload: { productId: P, intensity: -0.5 }, field: 'intensity' },
  { event: 'tryon:set', how: 'intensity 100 (percent)', payload: { productId: P, intensity: 100 }, field: 'intensity' },
  { event: 'tryon:set', how: 'intensity a string', payload: { productId: P, intensity: '0.5' }, field: 'intensity' },
  { event: 'tryon:set', how: 'intensity null', payload: { productId: P, intensity: null }, field: 'intensity' },
  { event: 'tryon:set', how: 'an extra field', payload: { productId: P, colour: '#ff0000' }, field: 'colour' },
  { event: 'tryon:remove', how: 'neither product nor category', payload: {}, field: 'productId' },
  { event: 'tryon:remove', how: 'an unknown category', payload: { category: 'nailPolish' }, field: 'category' },
  { event: 'tryon:remove', how: 'category a number', payload: { category: 5 }, field: 'category' },
  { event: 'tryon:remove', how: 'an unknown product', payload: { productId: 'no-such-product' }, field: 'productId' },
  { event: 'tryon:remove', how: 'product and category disagree', payload: { productId: P, category: 'blush' }, field: 'category' },
  { event: 'tryon:clear', how: 'an extra field', payload: { all: true }, field: 'all' },
  { event: 'tryon:clear', how: 'a string payload', payload: 'now', field: '(payload)' },
  { event: 'tryon:look', how: 'no lookId', payload: {}, field: 'lookId' },
  { event: 'tryon:look', how: 'an unknown look', payload: { lookId: 'no-such-look' }, field: 'lookId' },
  { event: 'tryon:look', how: 'lookId a number', payload: { lookId: 12 }, field: 'lookId' },
  { event: 'tryon:look', how: 'a cut saved look id', payload: { lookId: '1.AAAAAAAA' }, field: 'lookId' },
  { event: 'tryon:look', how: 'a 5,000-character lookId', payload: { lookId: `1.${'A'.repeat(5000)}` }, field: 'lookId' },
  { event: 'tryon:compare', how: 'split above 1', payload: { split: 1.5 }, field: 'split' },
  { event: 'tryon:compare', how: 'split below 0', payload: { split: -0.1 }, field: 'split' },
  { event: 'tryon:compare', how: 'no split', payload: {}, field: 'split' },
  { event: 'tryon:compare', how: 'split a string', payload: { split: 'half' }, field: 'split' },
  { event: 'look:save', how: 'an extra field', payload: { email: 'shopper@example.com' }, field: 'email' },
];

const TRYON_EVENTS = ['tryon:set', 'tryon:remove', 'tryon:clear', 'tryon:look', 'tryon:compare', 'look:save'] as const;
/** Try-on commands: valid ones, the hand-written malformed ones, fuzzed payloads; with or without an ack. */
const tryOnCommand: fc.Arbitrary<SocketCase> = fc.oneof(
  fc.constantFrom(...MALFORMED_TRYON_COMMANDS).map((c) => emit(`${c.event}: ${c.how}`, c.event, c.payload, () => undefined)),
  fc
    .record({ productId: fc.constantFrom(P, 'kora-glass-gloss', 'nope'), intensity: fc.oneof(fc.double({ min: -2, max: 3 }), fc.constant(undefined)) }, { requiredKeys: ['productId'] })
    .map((cmd) => emit('tryon:set', 'tryon:set', cmd, () => undefined)),
  fc.tuple(fc.constantFrom(...TRYON_EVENTS), fc.jsonValue({ maxDepth: 3 }), fc.boolean()).map(([event, payload, ack]) =>
    ack ? emit(`${event}: fuzzed payload`, event, payload, () => undefined) : emit(`${event}: fuzzed payload, no ack`, event, payload),
  ),
);

const deep = (depth: number) => '['.repeat(depth) + ']'.repeat(depth);

export const socketCase: fc.Arbitrary<SocketCase> = fc.oneof(
  { weight: 4, arbitrary: painted.map((p) => emit('valid painted', 'painted', p)) },
  { weight: 4, arbitrary: tryOnCommand },
  // The shared mutations as `painted` payloads: emitted when they parse, else a malformed packet.
  { weight: 6, arbitrary: fuzzCase(painted, paintedShape).map((c) => asPainted(c.how, c.bytes.toString('utf8'))) },
  { weight: 2, arbitrary: fc.tuple(painted, fc.array(fc.jsonValue({ maxDepth: 2 }), { maxLength: 3 })).map(([p, extra]) => emit('painted with extra arguments', 'painted', p, ...extra)) },
  { weight: 1, arbitrary: fc.uint8Array({ maxLength: 4096 }).map((b) => emit('painted as binary', 'painted', Buffer.from(b))) },
  { weight: 1, arbitrary: painted.map((p) => ({ how: 'painted with an ack', mayClose: false, send: (s: Socket) => void s.emit('painted', p, () => undefined) })) },
  {
    weight: 3,
    arbitrary: fc
      .tuple(fc.string({ minLength: 1, maxLength: 40 }).filter((n) => !RESERVED.has(n)), fc.array(fc.oneof(fc.jsonValue({ maxDepth: 3 }), fc.uint8Array({ maxLength: 256 })), { maxLength: 3 }))
      .map(([name, args]) => emit('unknown event', name, ...args)),
  },
  {
    weight: 3,
    arbitrary: fc
      .constantFrom(
        '2',
        '2[',
        '2["painted"',
        '2{}',
        '2[]',
        '2[1,2]',
        '2[null]',
        '2[{"id":1}]',
        '2["painted",null]',
        '2["painted",{"id":1,"paintedAt":1},{"id":2}]',
        '2/nowhere,["painted",{"id":1,"paintedAt":1}]',
        '0/nowhere,',
        '0',
        '3',
        '399999[]',
        '4"error from a client"',
        '5-["painted",{"_placeholder":true,"num":0}]',
        '51-["painted",{"_placeholder":true,"num":7}]',
        '51-["painted",{"_placeholder":"yes","num":"0"}]',
        '6',
        '9["painted"]',
        '21x["painted",{"id":1,"paintedAt":1}]',
      )
      .map((p) => raw('raw packet', p)),
  },
  { weight: 2, arbitrary: fc.string({ maxLength: 300 }).map((s) => raw('raw garbage', s)) },
  { weight: 1, arbitrary: fc.integer({ min: 100, max: 7000 }).map((d) => raw('raw deep nesting', `2["painted",${deep(d)}]`)) },
  { weight: 1, arbitrary: fc.integer({ min: 1, max: 16 * 1024 }).map((n) => raw('raw oversized', `2["painted","${'x'.repeat(SOCKET_MAX_BYTES + n)}"]`)) },
);
