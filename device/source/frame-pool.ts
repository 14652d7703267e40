/** Preallocated frame buffers: a source writes into a free one; the pipeline hands it back. */
export class FramePool {
  readonly #free: Buffer[] = [];
  readonly #byteLength: number;
  #allocated = 0;
  readonly #limit: number;

  /**
   * `limit` buffers at most: the slot (1 waiting) and the pipeline (2 in flight: one rendered, one
   * encoded) need 3, the source 1 more to fill, and one spare so a late release never drops a frame.
   */
  constructor(byteLength: number, limit = 5) {
    this.#byteLength = byteLength;
    this.#limit = limit;
  }

  get byteLength(): number {
    return this.#byteLength;
  }

  /** A free buffer, or null when every buffer is in use (the caller drops the frame). */
  acquire(): Buffer | null {
    const buffer = this.#free.pop();
    if (buffer) return buffer;
    if (this.#allocated >= this.#limit) return null;
    this.#allocated++;
    return Buffer.allocUnsafe(this.#byteLength);
  }

  release(buffer: Buffer): void {
    if (buffer.byteLength === this.#byteLength) this.#free.push(buffer);
  }
}
