/**
 * The control channel between `mirrorctl` and the daemon: one JSON request line per connection on
 * a Unix socket that only the daemon's user (and root) can open, one JSON answer line back.
 * Nothing here is reachable over TCP, so no kiosk page or other origin can send a command.
 */
import path from 'node:path';
import { z } from 'zod';

export const ControlRequest = z.discriminatedUnion('cmd', [
  z.strictObject({ cmd: z.literal('status') }),
  z.strictObject({ cmd: z.literal('reload') }),
  z.strictObject({ cmd: z.literal('capture') }),
]);
export type ControlRequest = z.infer<typeof ControlRequest>;

export type ReloadAnswer =
  | { ok: true; applied: string[]; restartRequired: string[] }
  | { ok: false; error: string };
export type CaptureAnswer = { ok: true; file: string } | { ok: false; error: string };
export type StatusAnswer = { ok: true; health: Record<string, unknown> };
export type ControlAnswer = StatusAnswer | ReloadAnswer | CaptureAnswer | { ok: false; error: string };

/** A request line longer than this is refused unread. */
export const MAX_REQUEST_BYTES = 4096;
export const SOCKET_NAME = 'control.sock';

/**
 * Where the daemon listens: MIRROR_CONTROL_SOCKET, else the unit's RuntimeDirectory
 * (/run/smart-mirror, 0700, systemd sets RUNTIME_DIRECTORY), else the state dir (development).
 */
export function controlSocketPath(env: NodeJS.ProcessEnv, stateDir: string): string {
  if (env.MIRROR_CONTROL_SOCKET) return env.MIRROR_CONTROL_SOCKET;
  const runtimeDir = env.RUNTIME_DIRECTORY?.split(':')[0];
  return path.join(runtimeDir || stateDir, SOCKET_NAME);
}
