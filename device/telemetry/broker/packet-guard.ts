/**
 * A socket wrapper that aedes reads MQTT from, enforcing what aedes itself does not:
 *  - a maximum packet size: the fixed header announces the remaining length, so a 200 MB PUBLISH
 *    is refused (connection destroyed) after its first bytes, before anything is buffered;
 *  - a per-connection PUBLISH rate (token bucket): over the rate, reading from the socket pauses,
 *    so TCP backpressure slows the sender down instead of the broker queueing its burst.
 */
import { Duplex } from 'node:stream';
import type net from 'node:net';

export interface PacketLimits {
  maxPacketBytes: number;
  /** Sustained PUBLISH packets per second per connection. */
  publishPerSecond: number;
  /** Burst allowance (bucket size). */
  publishBurst: number;
}

const PUBLISH = 3;

export class GuardedConnection extends Duplex {
  readonly #socket: net.Socket;
  readonly #limits: PacketLimits;
  readonly #onViolation: (reason: string) => void;
  /** Fixed-header parser state: bytes of the current packet still to pass through. */
  #header: number[] = [];
  #remaining = 0;
  #tokens: number;
  #refilledAt = Date.now();
  #held: Buffer | undefined;
  #backpressured = false;
  #timer: NodeJS.Timeout | undefined;

  constructor(socket: net.Socket, limits: PacketLimits, onViolation: (reason: string) => void) {
    super({ allowHalfOpen: false });
    this.#socket = socket;
    this.#limits = limits;
    this.#onViolation = onViolation;
    this.#tokens = limits.publishBurst;
    socket.on('data', (chunk: Buffer) => this.#consume(chunk));
    socket.on('end', () => this.push(null));
    socket.on('error', (err) => this.destroy(err));
    socket.on('close', () => this.destroy());
  }

  override _read(): void {
    this.#backpressured = false;
    if (this.#held === undefined) this.#socket.resume();
  }

  override _write(chunk: Buffer, _enc: BufferEncoding, cb: (err?: Error | null) => void): void {
    this.#socket.write(chunk, cb);
  }

  override _final(cb: (err?: Error | null) => void): void {
    this.#socket.end(cb);
  }

  override _destroy(err: Error | null, cb: (err?: Error | null) => void): void {
    clearTimeout(this.#timer);
    this.#socket.destroy();
    cb(err);
  }

  /** Passes `chunk` on up to the next PUBLISH that has no token; holds the rest until one refills. */
  #consume(chunk: Buffer): void {
    let i = 0;
    while (i < chunk.length) {
      if (this.#remaining > 0) {
        const n = Math.min(this.#remaining, chunk.length - i);
        this.#remaining -= n;
        i += n;
        continue;
      }
      if (this.#header.length === 0 && chunk[i] >> 4 === PUBLISH && !this.#takeToken()) {
        this.#passThrough(chunk.subarray(0, i));
        this.#hold(chunk.subarray(i));
        return;
      }
      this.#header.push(chunk[i]);
      i += 1;
      if (!this.#parseHeader()) return;
    }
    this.#passThrough(chunk);
  }

  /** Reads the remaining length once the header is complete; false when the packet was refused. */
  #parseHeader(): boolean {
    const h = this.#header;
    if (h.length < 2) return true;
    if (h[h.length - 1] & 0x80) return h.length < 5 || this.#violate('malformed remaining length');
    let length = 0;
    for (let k = h.length - 1; k >= 1; k--) length = length * 128 + (h[k] & 0x7f);
    if (length + h.length > this.#limits.maxPacketBytes) {
      return this.#violate(`packet of ${length + h.length} bytes exceeds the ${this.#limits.maxPacketBytes}-byte limit`);
    }
    this.#remaining = length;
    this.#header = [];
    return true;
  }

  #violate(reason: string): false {
    this.#onViolation(reason);
    this.destroy();
    return false;
  }

  #passThrough(part: Buffer): void {
    if (part.length > 0 && !this.push(part)) {
      this.#backpressured = true;
      this.#socket.pause();
    }
  }

  #takeToken(): boolean {
    const now = Date.now();
    const { publishPerSecond, publishBurst } = this.#limits;
    this.#tokens = Math.min(publishBurst, this.#tokens + ((now - this.#refilledAt) * publishPerSecond) / 1000);
    this.#refilledAt = now;
    if (this.#tokens < 1) return false;
    this.#tokens -= 1;
    return true;
  }

  #hold(rest: Buffer): void {
    this.#held = rest;
    this.#socket.pause();
    const waitMs = Math.ceil(1000 / this.#limits.publishPerSecond);
    this.#timer = setTimeout(() => {
      this.#held = undefined;
      if (this.destroyed) return;
      if (!this.#backpressured) this.#socket.resume();
      this.#consume(rest);
    }, waitMs);
  }
}
