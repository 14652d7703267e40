/**
 * sd_notify for the mirror daemon (systemd `Type=notify` + `WatchdogSec=`).
 *
 * Node has no AF_UNIX datagram sockets, so messages go out through the `systemd-notify` binary.
 * The datagram then comes from that short-lived child rather than from us, which is why the unit
 * sets `NotifyAccess=all`, and why every call passes `--pid=<our pid>` (sent as MAINPID=, so the
 * service manager keeps tracking the daemon itself as the main process).
 *
 * Attribution race: the datagram's sender is the helper, which exits right after sending. Since
 * systemd 246 the helper follows each message with a BARRIER=1 and waits until the manager has
 * processed it (seen with systemd 252's systemd-notify against a plain socket), so the message is
 * attributed while the helper is still alive in our cgroup. Should one still be lost, a missed
 * WATCHDOG=1 is covered by pinging at half the timeout; a lost READY=1 ends in TimeoutStartSec and
 * a restart.
 *
 * Outside systemd (NOTIFY_SOCKET unset: dev runs, tests, containers) every method is a no-op.
 * Nothing here ever throws: a missing binary or a failing call is logged once and swallowed.
 *
 * Length: createSystemdNotifier (~85 lines) is a factory of nine small functions (the longest 22
 * lines) sharing the watchdog timer and the helper's state; the closure is that private state.
 */
import { execFile, spawnSync } from 'node:child_process';

/** The subset of pino's Logger we use. */
export interface NotifyLogger {
  warn(obj: object, msg?: string): void;
  debug?(obj: object, msg?: string): void;
}

export interface SystemdNotifier {
  /** READY=1 (plus STATUS= when given): start-up is done. */
  ready(status?: string): void;
  /** WATCHDOG=1: call every `watchdogIntervalMs` while healthy. */
  watchdog(): void;
  /** STOPPING=1: shutdown has begun. Sent synchronously so it goes out before the process exits. */
  stopping(): void;
  /** STATUS=<text>: free-form line shown by `systemctl status`. */
  status(text: string): void;
  /** How often to call watchdog(): half of WATCHDOG_USEC, or null when systemd's watchdog is not on for us. */
  readonly watchdogIntervalMs: number | null;
  /** True when NOTIFY_SOCKET was set, i.e. messages are actually sent. */
  readonly active: boolean;
}

export const NOTIFY_BINARY = 'systemd-notify';
const CALL_TIMEOUT_MS = 2000;

/**
 * Watchdog interval to use, in ms, following sd_watchdog_enabled(3): WATCHDOG_USEC must be a
 * positive integer, and WATCHDOG_PID, when set, must name this process. Pinging at half the
 * timeout is what systemd recommends.
 */
export function watchdogIntervalFromEnv(env: NodeJS.ProcessEnv = process.env, pid: number = process.pid): number | null {
  const usecText = env.WATCHDOG_USEC;
  if (!usecText || !/^\d+$/.test(usecText.trim())) return null;
  const usec = Number(usecText.trim());
  if (!Number.isSafeInteger(usec) || usec <= 0) return null;
  const pidText = env.WATCHDOG_PID?.trim();
  if (pidText) {
    if (!/^\d+$/.test(pidText) || Number(pidText) !== pid) return null;
  }
  return usec / 2000;
}

/** Keeps STATUS= text on one line and within a sane size; systemd shows it verbatim. */
const oneLine = (text: string): string => text.replace(/[\r\n]+/g, ' ').slice(0, 512);

export function createSystemdNotifier(logger?: NotifyLogger): SystemdNotifier {
  const active = Boolean(process.env.NOTIFY_SOCKET);
  const watchdogIntervalMs = active ? watchdogIntervalFromEnv() : null;

  if (!active) {
    const noop = (): void => {};
    return { ready: noop, watchdog: noop, stopping: noop, status: noop, watchdogIntervalMs: null, active: false };
  }

  let binaryMissing = false;
  let failureLogged = false;
  // Async sends are chained so that e.g. READY=1 and a later STATUS= arrive in call order.
  let queue: Promise<void> = Promise.resolve();

  const report = (err: { code?: unknown; message: string; stderr?: string | Buffer }, assignments: string[]): void => {
    try {
      if (err.code === 'ENOENT') {
        if (!binaryMissing) {
          binaryMissing = true;
          logger?.warn({ binary: NOTIFY_BINARY }, 'sd_notify disabled: systemd-notify not found on PATH');
        }
        return;
      }
      if (!failureLogged) {
        failureLogged = true;
        logger?.warn(
          { err: err.message, stderr: String(err.stderr ?? '').trim(), assignments },
          'systemd-notify failed (further failures are logged at debug level)',
        );
      } else {
        logger?.debug?.({ err: err.message, assignments }, 'systemd-notify failed');
      }
    } catch {
      // A broken logger must not take the daemon down either.
    }
  };

  const argv = (assignments: string[]): string[] => [`--pid=${process.pid}`, ...assignments];

  const sendAsync = (assignments: string[]): void => {
    if (binaryMissing) return;
    queue = queue.then(
      () =>
        new Promise<void>((resolve) => {
          try {
            execFile(NOTIFY_BINARY, argv(assignments), { timeout: CALL_TIMEOUT_MS, env: process.env }, (err, _stdout, stderr) => {
              if (err) report(Object.assign(err, { stderr }), assignments);
              resolve();
            });
          } catch (err) {
            report(err as Error, assignments);
            resolve();
          }
        }),
    );
  };

  const sendSync = (assignments: string[]): void => {
    if (binaryMissing) return;
    try {
      const r = spawnSync(NOTIFY_BINARY, argv(assignments), { timeout: CALL_TIMEOUT_MS, env: process.env, encoding: 'utf8' });
      if (r.error) report(r.error, assignments);
      else if (r.status !== 0) report(Object.assign(new Error(`exit status ${r.status ?? r.signal}`), { stderr: r.stderr }), assignments);
    } catch (err) {
      report(err as Error, assignments);
    }
  };

  return {
    active,
    watchdogIntervalMs,
    ready(status?: string) {
      sendAsync(status === undefined ? ['READY=1'] : ['READY=1', `STATUS=${oneLine(status)}`]);
    },
    watchdog() {
      sendAsync(['WATCHDOG=1']);
    },
    stopping() {
      sendSync(['STOPPING=1']);
    },
    status(text: string) {
      sendAsync([`STATUS=${oneLine(text)}`]);
    },
  };
}
