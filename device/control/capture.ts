/**
 * One debug frame, only with the consent of someone standing at the mirror (privacy rule: frames
 * never reach the disk unless an operator enables a capture explicitly). The daemon asks the
 * kiosk to show a staff confirmation; only "Allow" tapped on the mirror's own screen writes ONE
 * frame (as the shopper sees it, JPEG) to stateDir/debug/ with mode 0600. Deny, no answer within
 * the timeout, or no kiosk connected writes nothing. Every request and its outcome is logged.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Logger } from '../core/logger.ts';
import type { CaptureAnswer } from './protocol.ts';

/** How long the confirmation waits on the mirror's screen. */
export const CONFIRM_TIMEOUT_MS = 30_000;
/** How long an allowed capture waits for the next emitted frame. */
const FRAME_WAIT_MS = 3000;

export type ConfirmOutcome = 'allow' | 'deny' | 'timeout' | 'no-kiosk';

export interface ConfirmPrompt {
  kind: 'debug-capture';
  title: string;
  detail: string;
  timeoutMs: number;
}

/** The next frame the pipeline emits, for whoever asks; costs nothing while nobody waits. */
export class FrameTap {
  #waiters: Array<(image: Uint8Array) => void> = [];

  offer(image: Uint8Array): void {
    if (this.#waiters.length === 0) return;
    const waiters = this.#waiters;
    this.#waiters = [];
    for (const resolve of waiters) resolve(image);
  }

  next(timeoutMs: number): Promise<Uint8Array | null> {
    return new Promise((resolve) => {
      const waiter = (image: Uint8Array): void => {
        clearTimeout(timer);
        resolve(image);
      };
      const timer = setTimeout(() => {
        this.#waiters = this.#waiters.filter((w) => w !== waiter);
        resolve(null);
      }, timeoutMs);
      this.#waiters.push(waiter);
    });
  }
}

export interface DebugCaptureOptions {
  /** stateDir/debug */
  dir: string;
  /** Shows the prompt on the mirror and resolves with what happened there. */
  confirm: (prompt: ConfirmPrompt) => Promise<ConfirmOutcome>;
  frames: FrameTap;
  logger: Logger;
  timeoutMs?: number;
}

const REFUSALS: Record<Exclude<ConfirmOutcome, 'allow'>, string> = {
  deny: 'denied on the mirror',
  timeout: 'not confirmed on the mirror in time',
  'no-kiosk': 'no kiosk screen is connected to confirm on',
};

export function createDebugCapture(options: DebugCaptureOptions): () => Promise<CaptureAnswer> {
  const timeoutMs = options.timeoutMs ?? CONFIRM_TIMEOUT_MS;
  let pending = false;
  return async () => {
    const { logger } = options;
    logger.warn({ timeoutMs }, 'debug capture requested: asking for confirmation on the mirror');
    if (pending) {
      logger.warn({}, 'debug capture refused: another request is waiting for confirmation');
      return { ok: false, error: 'another capture is waiting for confirmation' };
    }
    pending = true;
    try {
      const outcome = await options.confirm({
        kind: 'debug-capture',
        title: 'Staff: save one debug picture?',
        detail: 'A technician asked to save one picture of this screen to the mirror for troubleshooting. It stays on this mirror.',
        timeoutMs,
      });
      if (outcome !== 'allow') {
        logger.warn({ outcome }, 'debug capture not taken');
        return { ok: false, error: REFUSALS[outcome] };
      }
      const image = await options.frames.next(FRAME_WAIT_MS);
      if (image === null) {
        logger.warn({}, 'debug capture allowed but no frame arrived');
        return { ok: false, error: 'no frame arrived to capture' };
      }
      await mkdir(options.dir, { recursive: true, mode: 0o700 });
      const file = path.join(options.dir, `capture-${new Date().toISOString().replace(/[:.]/g, '-')}.jpg`);
      // 'wx': never overwrite; 0600: the daemon's user only.
      await writeFile(file, image, { mode: 0o600, flag: 'wx' });
      logger.warn({ file, bytes: image.length }, 'debug capture written');
      return { ok: true, file };
    } finally {
      pending = false;
    }
  };
}
