/**
 * Fuzzed socket.io traffic from a kiosk-origin client: the kiosk's own `painted` event (valid,
 * broken by the shared payload mutations, or with binary and extra arguments), events the daemon
 * does not know, and raw socket.io packets written straight to the engine (truncated, bad
 * types, bogus binary attachment headers, unknown namespaces, deep nesting, garbage).
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

const deep = (depth: number) => '['.repeat(depth) + ']'.repeat(depth);

export const socketCase: fc.Arbitrary<SocketCase> = fc.oneof(
  { weight: 4, arbitrary: painted.map((p) => emit('valid painted', 'painted', p)) },
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
