/**
 * The mirror's command agent: every message on its `cmd/{name}` topic goes through the guard
 * (guard.ts) and then runs, one command at a time, and every one gets exactly one result on the
 * `result` topic: ok with the command's output, failed with the error, or refused with the
 * reason and the bad field. Nothing here throws into the daemon.
 *
 * `restart` answers first and acts after: its result is published and acknowledged by the broker
 * (or, with the broker gone, queued in the durable outbox) before the daemon begins to stop.
 */
import type { KeyObject } from 'node:crypto';
import {
  MAX_LOG_BYTES,
  type Command,
  type CommandArgs,
  type CommandName,
  type CommandResult,
  type SelfTestCheck,
} from '../../fleet/protocol/commands.ts';
import type { DeviceAddress } from '../../fleet/protocol/topics.ts';
import type { ReloadAnswer } from '../control/protocol.ts';
import type { Logger, LogLevel } from '../core/logger.ts';
import { CommandGuard, type GuardVerdict } from './guard.ts';

/** Exit status of a daemon stopping for a `restart` command (systemd restarts it: RestartForceExitStatus). */
export const EXIT_RESTART = 75;
/** Commands waiting behind the running one; more are refused as unavailable. */
const MAX_QUEUED = 16;
/** At most this many refusals are logged per minute (a flood of junk must not flood the journal). */
const REFUSAL_LOGS_PER_MIN = 20;

/** What the daemon lends the commands. */
export interface CommandHost {
  /** Begins a clean stop with EXIT_RESTART (called after the result is out). */
  restart(): void;
  reload(): ReloadAnswer;
  logs(lines: number, maxBytes: number): { lines: string[]; truncated: boolean };
  selfTest(): Promise<{ passed: boolean; checks: SelfTestCheck[] }>;
  setLogLevel(level: LogLevel, durationMs: number): { level: LogLevel; previous: LogLevel; revertAt: number };
}

export interface CommandAgentOptions {
  addr: DeviceAddress;
  keys: ReadonlyMap<string, KeyObject>;
  stateDir: string;
  host: CommandHost;
  /** Publishes a result; resolves true once the broker has it (or it is queued durably). */
  publish: (result: CommandResult) => Promise<boolean>;
  logger: Logger;
  now?: () => number;
}

export interface CommandAgent {
  /** A message on `cmd/{subtopic}`. Never throws; the work runs in the background. */
  handle(subtopic: string, payload: Buffer): void;
  /** Resolves when every command received so far has its result out (tests, shutdown). */
  idle(): Promise<void>;
}

export function createCommandAgent(opts: CommandAgentOptions): CommandAgent {
  const { addr, host, logger } = opts;
  const now = opts.now ?? Date.now;
  const guard = new CommandGuard({ addr, keys: opts.keys, stateDir: opts.stateDir, now });
  if (guard.damaged) logger.warn({ problem: guard.damaged }, 'commands: replay memory reset');
  if (opts.keys.size === 0) logger.info({}, 'commands: no command key pinned (commands.publicKeys); every command will be refused');
  let chain: Promise<void> = Promise.resolve();
  let queued = 0;
  const refusalLog = { windowStart: 0, n: 0, suppressed: 0 };

  const base = (id: string | null, name: CommandName | null): Pick<CommandResult, 'v' | 'commandId' | 'name' | 'storeId' | 'deviceId' | 'ts'> => ({
    v: 1,
    commandId: id,
    name,
    storeId: addr.storeId,
    deviceId: addr.deviceId,
    ts: now(),
  });

  async function send(result: CommandResult): Promise<boolean> {
    try {
      return await opts.publish(result);
    } catch (err) {
      logger.error({ commandId: result.commandId, err: (err as Error).message }, 'commands: result not sent');
      return false;
    }
  }

  function logRefusal(v: Extract<GuardVerdict, { ok: false }>): void {
    const t = now();
    if (t - refusalLog.windowStart > 60_000) {
      if (refusalLog.suppressed > 0) logger.warn({ suppressed: refusalLog.suppressed }, 'commands: more refused than logged');
      Object.assign(refusalLog, { windowStart: t, n: 0, suppressed: 0 });
    }
    if (++refusalLog.n <= REFUSAL_LOGS_PER_MIN) logger.warn({ commandId: v.id, name: v.name, reason: v.reason, field: v.field, error: v.error }, 'commands: command refused');
    else refusalLog.suppressed++;
  }

  async function run(c: Command): Promise<CommandResult> {
    const ok = (output: Record<string, unknown>): CommandResult => ({ ...base(c.id, c.name), status: 'ok', output });
    switch (c.name) {
      case 'restart':
        return ok({ exitCode: EXIT_RESTART });
      case 'reload-config': {
        const answer = host.reload();
        if (!answer.ok) return { ...base(c.id, c.name), status: 'failed', error: answer.error.slice(0, 1024) };
        return ok({ applied: answer.applied, restartRequired: answer.restartRequired });
      }
      case 'logs': {
        const { lines } = c.args as CommandArgs<'logs'>;
        return ok(host.logs(lines, MAX_LOG_BYTES));
      }
      case 'self-test': {
        const r = await host.selfTest();
        return { ...ok(r), status: r.passed ? 'ok' : 'failed', ...(r.passed ? {} : { error: r.checks.filter((k) => !k.ok).map((k) => `${k.name}: ${k.detail}`).join('; ').slice(0, 1024) }) };
      }
      case 'log-level': {
        const { level, durationS } = c.args as CommandArgs<'log-level'>;
        return ok(host.setLogLevel(level, durationS * 1000));
      }
    }
  }

  async function execute(subtopic: string, payload: Buffer): Promise<void> {
    const verdict = guard.check(subtopic, payload);
    if (!verdict.ok) {
      logRefusal(verdict);
      await send({ ...base(verdict.id, verdict.name), status: 'refused', reason: verdict.reason, error: verdict.error.slice(0, 1024), ...(verdict.field ? { field: verdict.field } : {}) });
      return;
    }
    const c = verdict.command;
    logger.info({ commandId: c.id, name: c.name, args: c.args, issuedBy: c.issuedBy }, 'commands: running');
    let result: CommandResult;
    try {
      result = await run(c);
    } catch (err) {
      result = { ...base(c.id, c.name), status: 'failed', error: String((err as Error).message ?? err).slice(0, 1024) };
    }
    const delivered = await send(result);
    logger.info({ commandId: c.id, name: c.name, status: result.status, delivered }, 'commands: done');
    // Only after the answer is out: the fleet learns the restart was taken before the mirror goes.
    if (c.name === 'restart') host.restart();
  }

  return {
    handle(subtopic, payload) {
      if (queued >= MAX_QUEUED) {
        void send({ ...base(null, null), status: 'refused', reason: 'unavailable', error: `more than ${MAX_QUEUED} commands waiting` });
        return;
      }
      queued++;
      chain = chain
        .then(() => execute(subtopic, payload))
        .catch((err: unknown) => logger.error({ err: (err as Error).message }, 'commands: handler failed'))
        .finally(() => queued--);
    },
    idle: () => chain,
  };
}
