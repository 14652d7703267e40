import type { ConfirmAnswer, ConfirmRequest } from '../../../../device/transport/events.ts';

/**
 * A question from the daemon for the staff at the mirror (debug capture consent). Only a tap on
 * this screen answers it; it closes by itself when the daemon's wait runs out or it was answered
 * on another screen.
 */
export class StaffConfirm {
  current = $state.raw<ConfirmRequest | null>(null);
  #reply: ((answer: ConfirmAnswer) => void) | null = null;

  /** socket.io 'confirm': the request crossed a process boundary, so its shape is checked. */
  ask = (request: unknown, reply: unknown): void => {
    if (!isRequest(request) || typeof reply !== 'function') return;
    this.#reply = reply as (answer: ConfirmAnswer) => void;
    this.current = request;
  };

  /** socket.io 'confirmClosed', a lost connection, or the countdown ran out. */
  close = (id?: string): void => {
    if (id !== undefined && this.current?.id !== id) return;
    this.current = null;
    this.#reply = null;
  };

  answer(allow: boolean): void {
    const request = this.current;
    if (!request || !this.#reply) return;
    this.#reply({ id: request.id, allow });
    this.close();
  }
}

function isRequest(value: unknown): value is ConfirmRequest {
  const r = value as ConfirmRequest | null;
  return (
    typeof r === 'object' &&
    r !== null &&
    typeof r.id === 'string' &&
    r.kind === 'debug-capture' &&
    typeof r.title === 'string' &&
    typeof r.detail === 'string' &&
    Number.isFinite(r.timeoutMs) &&
    r.timeoutMs > 0
  );
}
