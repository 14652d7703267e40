/**
 * The logging surface every stage needs (a subset of pino's, so the daemon passes its pino logger
 * or a child straight in and tests pass a recorder), and the daemon's root logger.
 *
 * Under systemd the root logger prefixes every JSON line with its syslog priority (`<3>` error,
 * `<4>` warn, `<6>` info, `<7>` debug; sd-daemon(3)), which journald strips and records as the
 * entry's PRIORITY, so `journalctl -p warning` works. Anywhere else lines stay plain JSON.
 */
import { fstatSync } from 'node:fs';
import pino from 'pino';

export interface Logger {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

export type LogLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace';

/** pino's numeric level → syslog priority (fatal is crit, trace is debug). */
const SYSLOG_PRIORITY: Record<number, number> = { 60: 2, 50: 3, 40: 4, 30: 6, 20: 7, 10: 7 };
/** pino writes the level first: `{"level":30,...`. */
const LEVEL_AT_START = /^\{"level":(\d+)/;

/** The `<N>` prefix for one pino line; '' when the line does not start with a known level. */
export function syslogPrefix(line: string): string {
  const match = LEVEL_AT_START.exec(line);
  const priority = match ? SYSLOG_PRIORITY[Number(match[1])] : undefined;
  return priority === undefined ? '' : `<${priority}>`;
}

/**
 * True when stdout is the journal stream systemd connected: JOURNAL_STREAM ("dev:inode") names
 * our fd 1. Checking the inode (as sd_journal_stream_fd users do) keeps a child that inherited the
 * variable but writes to a pipe or file from emitting prefixes nobody strips.
 */
export function stdoutIsJournal(env: NodeJS.ProcessEnv = process.env, fd = 1): boolean {
  const match = /^(\d+):(\d+)$/.exec(env.JOURNAL_STREAM ?? '');
  if (!match) return false;
  try {
    const st = fstatSync(fd, { bigint: true });
    return st.dev === BigInt(match[1]) && st.ino === BigInt(match[2]);
  } catch {
    return false;
  }
}

interface LineSink {
  write(line: string): unknown;
  flush?(cb?: (err?: Error) => void): void;
  flushSync?(): void;
}

/** Wraps a destination so each line carries its syslog priority prefix. */
export function journalStream(dest: LineSink): LineSink {
  return {
    write: (line) => dest.write(syslogPrefix(line) + line),
    flush: (cb) => (dest.flush ? dest.flush(cb) : cb?.()),
    flushSync: () => dest.flushSync?.(),
  };
}

/** Passes every line to `tap` (the `logs` command's ring, device/commands/log-ring.ts) before `dest`. */
export function tappedStream(dest: LineSink, tap: (line: string) => void): LineSink {
  return {
    write: (line) => {
      tap(line);
      return dest.write(line);
    },
    flush: (cb) => (dest.flush ? dest.flush(cb) : cb?.()),
    flushSync: () => dest.flushSync?.(),
  };
}

/**
 * The daemon's root logger on stdout: journald-prefixed under systemd, plain JSON otherwise;
 * `tap` sees each line as written (unprefixed).
 */
export function createRootLogger(level: LogLevel, env: NodeJS.ProcessEnv = process.env, tap?: (line: string) => void): pino.Logger {
  const stdout = pino.destination({ dest: 1, sync: true });
  const options = { level, base: { service: 'mirror' } };
  const sink = stdoutIsJournal(env) ? journalStream(stdout) : stdout;
  return pino(options, tap ? tappedStream(sink, tap) : sink);
}
