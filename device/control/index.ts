/**
 * mirrorctl's daemon side, wired once: the control socket with its three commands (status,
 * reload, capture), and SIGHUP doing what `reload` does. A control channel that cannot start is
 * logged and skipped: the mirror keeps serving shoppers without it.
 */
import path from 'node:path';
import type { MirrorConfig } from '../config/schema.ts';
import type { Logger } from '../core/logger.ts';
import { createDebugCapture, type ConfirmOutcome, type ConfirmPrompt, type FrameTap } from './capture.ts';
import { controlSocketPath, type ReloadAnswer } from './protocol.ts';
import { createReloader } from './reload.ts';
import { startControlServer } from './server.ts';

/** What the running daemon lends to the control channel. */
export interface ControlTarget {
  health(): Record<string, unknown>;
  /** Applies a config whose hot keys (reload.ts HOT_KEYS) changed. */
  reconfigure(next: MirrorConfig): void;
  frames: FrameTap;
  confirm(prompt: ConfirmPrompt): Promise<ConfirmOutcome>;
}

export interface ControlOptions {
  target: ControlTarget;
  running: MirrorConfig;
  /** Reads and validates the config file as start-up did. */
  load: () => MirrorConfig;
  env?: NodeJS.ProcessEnv;
  logger: Logger;
}

export interface Control {
  /** Re-reads the config file and applies what can change in place (reload.ts); never throws. */
  reload(): ReloadAnswer;
  close(): Promise<void>;
}

export async function startControl(options: ControlOptions): Promise<Control> {
  const { target, logger } = options;
  const stateDir = path.resolve(options.running.stateDir);
  const reload = createReloader({ load: options.load, running: options.running, apply: (next) => target.reconfigure(next), logger });
  const capture = createDebugCapture({ dir: path.join(stateDir, 'debug'), confirm: (p) => target.confirm(p), frames: target.frames, logger });
  const file = controlSocketPath(options.env ?? process.env, stateDir);
  try {
    const server = await startControlServer(file, { status: () => ({ ok: true, health: target.health() }), reload, capture }, logger);
    return { reload, close: () => server.close() };
  } catch (err) {
    logger.error({ socket: file, err: (err as Error).message }, 'control socket failed to start; mirrorctl will not reach this daemon');
    return { reload, close: async () => {} };
  }
}
