#!/usr/bin/env -S node --import tsx
/**
 * `mirrorctl`: the technician's tool on the mirror itself. Talks to the running daemon over its
 * control socket (owner-only Unix socket; run as the daemon's user or root).
 *
 *   mirrorctl status [--json]          state, fps, latencies, degraded parts, models, update, MQTT, outbox
 *   mirrorctl logs [-f] [-n N]         journalctl -u mirror-daemon, pretty-printed
 *                  [--stdin]           pretty-print JSON lines from stdin (npm run daemon | mirrorctl logs --stdin)
 *   mirrorctl reload                   re-read the config file; apply what can change without a restart
 *   mirrorctl capture                  one debug frame, only after "Allow" is tapped on the mirror (30 s)
 *   mirrorctl enrol --token T --fleet URL [--dir DIR] | --config FILE [--token T]
 *                                      this mirror's identity from a one-time token (device/enrol; no daemon needed)
 *
 *   --socket PATH   the daemon's control socket (default: $MIRROR_CONTROL_SOCKET,
 *                   /run/smart-mirror/control.sock, else $MIRROR_STATE_DIR or var/state /control.sock)
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import readline from 'node:readline';
import { parseArgs } from 'node:util';
import { describeEnrol, ENROL_USAGE, runEnrol } from '../enrol/cli.ts';
import { CONFIRM_TIMEOUT_MS } from './capture.ts';
import { request } from './client.ts';
import { formatLogLine, formatStatus } from './format.ts';
import { SOCKET_NAME, type ControlAnswer } from './protocol.ts';

const USAGE = `usage: mirrorctl status [--json] | logs [-f] [-n N] [--stdin] | reload | capture  [--socket PATH]\n       ${ENROL_USAGE}`;
const INSTALLED_SOCKET = `/run/smart-mirror/${SOCKET_NAME}`;

function socketPath(given: string | undefined): string {
  if (given) return given;
  if (process.env.MIRROR_CONTROL_SOCKET) return process.env.MIRROR_CONTROL_SOCKET;
  if (existsSync(INSTALLED_SOCKET)) return INSTALLED_SOCKET;
  return path.resolve(process.env.MIRROR_STATE_DIR ?? 'var/state', SOCKET_NAME);
}

function fail(message: string): never {
  process.stderr.write(`mirrorctl: ${message}\n`);
  process.exit(1);
}

function refused(answer: ControlAnswer): answer is { ok: false; error: string } {
  return !answer.ok;
}

async function logs(follow: boolean, lines: string, fromStdin: boolean): Promise<void> {
  if (!/^\d+$/.test(lines)) fail(`-n must be a number of lines, got "${lines}"`);
  const print = (line: string): void => void process.stdout.write(`${formatLogLine(line)}\n`);
  const pipeThrough = (input: NodeJS.ReadableStream): Promise<void> =>
    new Promise((resolve) => readline.createInterface({ input }).on('line', print).on('close', resolve));
  if (!fromStdin) {
    // -o cat: the message only (journald already took the <N> priority prefix off).
    const child = spawn('journalctl', ['-u', 'mirror-daemon', '-o', 'cat', '-n', lines, ...(follow ? ['-f'] : [])], { stdio: ['ignore', 'pipe', 'inherit'] });
    const spawned = await new Promise<boolean>((resolve) => {
      child.once('spawn', () => resolve(true));
      child.once('error', () => resolve(false));
    });
    if (spawned) {
      await pipeThrough(child.stdout!);
      return;
    }
    process.stderr.write('mirrorctl: journalctl not found; reading log lines from stdin\n');
  }
  await pipeThrough(process.stdin);
}

async function main(): Promise<void> {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: {
      socket: { type: 'string' },
      json: { type: 'boolean', default: false },
      follow: { type: 'boolean', short: 'f', default: false },
      lines: { type: 'string', short: 'n', default: '50' },
      stdin: { type: 'boolean', default: false },
      token: { type: 'string' },
      fleet: { type: 'string' },
      dir: { type: 'string' },
      config: { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  const [command, ...extra] = positionals;
  if (values.help || !command) {
    process.stdout.write(`${USAGE}\n`);
    return;
  }
  if (extra.length) fail(`unexpected argument "${extra[0]}"\n${USAGE}`);
  if (command === 'enrol') {
    process.stdout.write(`${describeEnrol(await runEnrol(values))}\n`);
    return;
  }
  const socket = socketPath(values.socket);
  switch (command) {
    case 'status': {
      const answer = await request(socket, { cmd: 'status' }, 5000);
      if (refused(answer)) fail(answer.error);
      const health = (answer as { health: Record<string, unknown> }).health;
      process.stdout.write(`${values.json ? JSON.stringify(health, null, 2) : formatStatus(health)}\n`);
      return;
    }
    case 'logs':
      return logs(values.follow, values.lines, values.stdin);
    case 'reload': {
      const answer = await request(socket, { cmd: 'reload' }, 10_000);
      if (refused(answer)) fail(`config refused, nothing changed: ${answer.error}`);
      const { applied, restartRequired } = answer as { applied: string[]; restartRequired: string[] };
      process.stdout.write(`applied: ${applied.length ? applied.join(', ') : 'nothing changed'}\n`);
      if (restartRequired.length) process.stdout.write(`need a restart (systemctl restart mirror-daemon): ${restartRequired.join(', ')}\n`);
      return;
    }
    case 'capture': {
      process.stdout.write(`waiting up to ${CONFIRM_TIMEOUT_MS / 1000} s for "Allow" on the mirror's screen...\n`);
      const answer = await request(socket, { cmd: 'capture' }, CONFIRM_TIMEOUT_MS + 10_000);
      if (refused(answer)) fail(`no capture: ${answer.error}`);
      process.stdout.write(`captured: ${(answer as { file: string }).file}\n`);
      return;
    }
    default:
      fail(`unknown command "${command}"\n${USAGE}`);
  }
}

main().catch((err: unknown) => fail((err as Error).message));
