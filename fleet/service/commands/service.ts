/**
 * The fleet side of commands: sign, record (table `commands` and the audit log, with who sent it),
 * publish on the mirror's `cmd/{name}` topic, and take the mirror's result from its `result`
 * topic: validated, applied once, audited, and handed to whoever waits for it.
 *
 * Results come in on a connection of the service's own (client id `{mqtt.clientId}-cmd`, same
 * credentials, so the same ACL identity), not through the ingest, whose subscriptions may be
 * shared between instances: every instance sees every result, the first to store it audits it
 * (commands-repo.ts), and the one whose API caller waits wakes up.
 */
import { createPrivateKey, randomBytes, randomUUID, sign, type KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import mqtt, { type MqttClient } from 'mqtt';
import {
  CLOCK_SKEW_MS,
  CommandResultSchema,
  commandSigningPayload,
  parseOutput,
  type Command,
  type CommandName,
  type CommandResult,
  type UnsignedCommand,
} from '../../protocol/commands.ts';
import { channelFilter, cmdTopic, parseTopic } from '../../protocol/topics.ts';
import { FleetConfigError, type FleetConfig } from '../config.ts';
import { serviceClientOptions } from '../mqtt-options.ts';
import type { Logger } from '../rollouts/engine.ts';
import type { SqlExecutor } from '../store/driver.ts';
import type { FleetStore } from '../store/fleet-store.ts';
import { CommandsRepo, type CommandRow } from './commands-repo.ts';

export interface CommandStats {
  sent: number;
  results: number;
  /** Results that were not JSON, failed the schema, or named a command this fleet never sent. */
  invalidResults: number;
  unknownResults: number;
  duplicateResults: number;
}

/** The command key from config; undefined when none is configured (commands off). */
export function loadCommandKey(cfg: FleetConfig['commands']): KeyObject | undefined {
  if (cfg.privateKeyFile === undefined) return undefined;
  try {
    const key = createPrivateKey(readFileSync(cfg.privateKeyFile, 'utf8'));
    if (key.asymmetricKeyType !== 'ed25519') throw new Error(`key type ${key.asymmetricKeyType}, expected ed25519`);
    return key;
  } catch (err) {
    throw new FleetConfigError(`fleet config key "commands.privateKeyFile": ${(err as Error).message}`);
  }
}

export class CommandService {
  readonly repo: CommandsRepo;
  private client: MqttClient | undefined;
  private sweepTimer: NodeJS.Timeout | undefined;
  private readonly waiters = new Map<string, Set<(row: CommandRow) => void>>();
  private readonly s: CommandStats = { sent: 0, results: 0, invalidResults: 0, unknownResults: 0, duplicateResults: 0 };

  constructor(
    private readonly store: FleetStore,
    private readonly cfg: FleetConfig['commands'],
    private readonly key: KeyObject | undefined,
    private readonly log: Logger,
    private readonly now: () => number = Date.now,
  ) {
    this.repo = new CommandsRepo(store.db);
  }

  /** How long the API waits for a result unless told otherwise. */
  get defaultWaitS(): number {
    return this.cfg.waitS;
  }

  /** Why commands cannot be sent now, or undefined when they can. */
  unavailable(): string | undefined {
    if (this.key === undefined) return 'commands are not configured on this fleet service (commands.privateKeyFile)';
    if (this.client === undefined) return 'the fleet service has no MQTT connection for commands';
    return undefined;
  }

  stats(): CommandStats {
    return { ...this.s };
  }

  async connect(cfg: FleetConfig['mqtt']): Promise<void> {
    const client = mqtt.connect(
      cfg.url,
      serviceClientOptions(cfg, { clientId: `${cfg.clientId}-cmd`.slice(0, 64), clean: cfg.cleanSession, reconnectPeriod: 1000, connectTimeout: 10_000 }),
    );
    this.client = client;
    // Acknowledged only once stored: a result the store missed is redelivered (persistent session).
    client.handleMessage = (packet, done) => {
      void this.onResult(packet.topic, packet.payload as Buffer).then(
        () => done(),
        (err: unknown) => {
          this.log.error({ err: (err as Error).message }, 'command result not stored');
          done();
        },
      );
    };
    client.on('connect', () => {
      client.subscribe(channelFilter('result'), { qos: 1 }, (err, granted) => {
        if (err || granted?.some((g) => g.qos === 128)) this.log.error({ err: err?.message }, 'command results: subscription refused (ACL?)');
      });
    });
    client.on('error', (err) => this.log.warn({ err: err.message }, 'command MQTT error'));
    this.sweepTimer = setInterval(() => void this.sweep().catch((err: unknown) => this.log.warn({ err: (err as Error).message }, 'command sweep failed')), 10_000);
    this.sweepTimer.unref();
    await new Promise<void>((resolve, reject) => {
      const t = setTimeout(() => reject(new Error('command MQTT: no connection within 10 s')), 10_000);
      client.once('connect', () => {
        clearTimeout(t);
        resolve();
      });
    });
  }

  /** Signs, records, audits and publishes one command; the row as sent. */
  async send(issuedBy: string, target: { storeId: string; deviceId: string }, name: CommandName, args: Record<string, unknown>): Promise<CommandRow> {
    const why = this.unavailable();
    if (why !== undefined || this.key === undefined || this.client === undefined) throw new Error(why);
    const issuedAt = this.now();
    const unsigned: UnsignedCommand = {
      v: 1,
      id: randomUUID(),
      name,
      args,
      storeId: target.storeId,
      deviceId: target.deviceId,
      issuedAt,
      expiresAt: issuedAt + this.cfg.ttlS * 1000,
      nonce: randomBytes(16).toString('base64url'),
      issuedBy,
      keyId: this.cfg.keyId,
    };
    const command: Command = { ...unsigned, signature: sign(null, commandSigningPayload(unsigned), this.key).toString('base64') };
    await this.store.db.tx(async (q) => {
      await this.repo.insert(command, q);
      await this.store.auditLog.audit(issuedBy, 'command.send', `${target.storeId}/${target.deviceId}`, { commandId: command.id, name, args }, issuedAt, q);
    });
    this.client.publish(cmdTopic(target, name), Buffer.from(JSON.stringify(command)), { qos: 1 }, (err) => {
      if (err) this.log.warn({ commandId: command.id, err: err.message }, 'command publish failed');
    });
    this.s.sent++;
    const row = await this.repo.get(command.id);
    if (!row) throw new Error(`command ${command.id} vanished from the store`);
    return row;
  }

  /** The command's row once it has a result, or as it stands after `timeoutMs`. */
  async wait(id: string, timeoutMs: number): Promise<CommandRow | undefined> {
    const row = await this.repo.get(id);
    if (row === undefined || row.status !== 'sent') return row;
    return new Promise((resolve) => {
      const set = this.waiters.get(id) ?? new Set();
      this.waiters.set(id, set);
      const done = (r: CommandRow) => {
        clearTimeout(timer);
        set.delete(done);
        if (set.size === 0) this.waiters.delete(id);
        resolve(r);
      };
      const timer = setTimeout(() => void this.repo.get(id).then((r) => done(r ?? row)), timeoutMs);
      set.add(done);
    });
  }

  /** Commands that can no longer run (expired, no result): marked and audited as unanswered. */
  async sweep(): Promise<number> {
    const now = this.now();
    return this.store.db.tx(async (q) => {
      const marked = await this.repo.markUnanswered(now - CLOCK_SKEW_MS, q);
      for (const r of marked) {
        await this.store.auditLog.audit(r.issuedBy, 'command.result', `${r.storeId}/${r.deviceId}`, { commandId: r.id, name: r.name, status: 'unanswered' }, now, q);
      }
      return marked.length;
    });
  }

  async close(): Promise<void> {
    clearInterval(this.sweepTimer);
    const c = this.client;
    this.client = undefined;
    if (c) await new Promise<void>((r) => c.end(false, {}, () => r()));
  }

  private async onResult(topic: string, payload: Buffer): Promise<void> {
    const t = parseTopic(topic);
    let result: CommandResult;
    try {
      result = CommandResultSchema.parse(JSON.parse(payload.toString()));
    } catch (err) {
      this.s.invalidResults++;
      this.log.warn({ topic: topic.slice(0, 200), err: String((err as Error).message).slice(0, 300) }, 'invalid command result dropped');
      return;
    }
    if (!t.ok || t.value.storeId !== result.storeId || t.value.deviceId !== result.deviceId) {
      this.s.invalidResults++;
      this.log.warn({ topic: topic.slice(0, 200) }, 'command result names another device than its topic; dropped');
      return;
    }
    this.s.results++;
    const row = result.commandId === null ? undefined : await this.repo.get(result.commandId);
    if (row === undefined || result.commandId === null || row.storeId !== result.storeId || row.deviceId !== result.deviceId) {
      // A refusal of something this fleet never sent (an unsigned or forged command): logged, not stored.
      this.s.unknownResults++;
      this.log.warn({ device: `${result.storeId}/${result.deviceId}`, commandId: result.commandId, status: result.status, reason: result.reason, error: result.error }, 'result for a command this fleet did not send');
      return;
    }
    let output: Record<string, unknown> | null = null;
    let applied = result;
    if (result.output !== undefined) {
      const o = parseOutput(row.name as CommandName, result.output);
      if (o.ok) output = o.output;
      else applied = { ...result, status: 'failed', error: `the mirror's answer did not validate: ${o.error}`.slice(0, 1024) };
    }
    // One transaction: an instance that sees the result stored (and answers its caller) sees its audit row too.
    const first = await this.store.db.tx(async (q) => {
      const stored = await this.repo.applyResult({ ...applied, commandId: row.id }, output, this.now(), q);
      if (stored) await this.auditResult(row, applied, q);
      return stored;
    });
    if (!first) this.s.duplicateResults++;
    // Whoever waits here wakes up, even when another instance stored the result first.
    const updated = await this.repo.get(row.id);
    if (updated && updated.status !== 'sent') for (const w of [...(this.waiters.get(row.id) ?? [])]) w(updated);
  }

  private async auditResult(row: CommandRow, applied: CommandResult, q: SqlExecutor): Promise<void> {
    await this.store.auditLog.audit(row.issuedBy, 'command.result', `${row.storeId}/${row.deviceId}`, {
      commandId: row.id,
      name: row.name,
      status: applied.status,
      ...(applied.reason ? { reason: applied.reason } : {}),
      ...(applied.field ? { field: applied.field } : {}),
    }, this.now(), q);
  }
}
