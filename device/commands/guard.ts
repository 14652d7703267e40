/**
 * What a command must pass before it runs, in this order: it parses (commands.ts, naming the bad
 * field), it came on its own topic, it is signed for this store and this device by a pinned
 * command key, it is within its validity window (with CLOCK_SKEW_MS of slack either side), and
 * neither its id nor its nonce has been seen before.
 *
 * The replay memory is on disk (stateDir/commands-seen.json, written atomically), because a
 * `restart` must not run again when the broker redelivers it to the restarted daemon. Entries
 * are kept until their command has expired (plus the skew), which bounds the file: commands live
 * at most MAX_COMMAND_TTL_MS, and past MAX_SEEN entries new commands are refused as unavailable
 * rather than forgetting a live one.
 */
import type { KeyObject } from 'node:crypto';
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import {
  CLOCK_SKEW_MS,
  MAX_COMMAND_TTL_MS,
  checkCommandSignature,
  parseCommand,
  type Command,
  type CommandName,
  type RefusalReason,
} from '../../fleet/protocol/commands.ts';
import type { DeviceAddress } from '../../fleet/protocol/topics.ts';

export const SEEN_FILE = 'commands-seen.json';
export const MAX_SEEN = 4096;

export type GuardVerdict =
  | { ok: true; command: Command }
  | { ok: false; reason: RefusalReason; field?: string; error: string; id: string | null; name: CommandName | null };

const SeenFile = z.object({ v: z.literal(1), seen: z.array(z.object({ key: z.string(), until: z.number() })) });

export interface GuardOptions {
  addr: DeviceAddress;
  /** keyId → pinned Ed25519 public key (config `commands.publicKeys`). */
  keys: ReadonlyMap<string, KeyObject>;
  stateDir: string;
  now?: () => number;
}

export class CommandGuard {
  private readonly seen = new Map<string, number>();
  private readonly file: string;
  private readonly now: () => number;
  /** Set when the replay memory on disk could not be read (the agent logs it once). */
  damaged: string | undefined;

  constructor(private readonly opts: GuardOptions) {
    this.file = path.join(opts.stateDir, SEEN_FILE);
    this.now = opts.now ?? Date.now;
    this.load();
  }

  /** Checks one command; a command that passes is remembered (on disk) before this returns. */
  check(subtopic: string, payload: Buffer): GuardVerdict {
    const parsed = parseCommand(payload);
    if (!parsed.ok) return { ok: false, reason: parsed.reason, field: parsed.field, error: parsed.error, id: parsed.id, name: parsed.name };
    const c = parsed.command;
    const refuse = (reason: RefusalReason, error: string, field?: string): GuardVerdict => ({
      ok: false,
      reason,
      error,
      id: c.id,
      name: c.name,
      ...(field === undefined ? {} : { field }),
    });
    // The target first: a command for another mirror is refused as such, whatever else is wrong.
    if (c.storeId !== this.opts.addr.storeId) return refuse('wrong-target', `storeId: signed for store "${c.storeId}", this mirror is in "${this.opts.addr.storeId}"`, 'storeId');
    if (c.deviceId !== this.opts.addr.deviceId) return refuse('wrong-target', `deviceId: signed for device "${c.deviceId}", this mirror is "${this.opts.addr.deviceId}"`, 'deviceId');
    if (subtopic !== c.name) return refuse('wrong-target', `name: "${c.name}" arrived on cmd/${subtopic}`, 'name');
    const sig = checkCommandSignature(c, this.opts.keys);
    if (!sig.ok) return refuse(sig.reason, sig.error, sig.reason === 'unknown-key' ? 'keyId' : 'signature');
    if (c.expiresAt <= c.issuedAt || c.expiresAt - c.issuedAt > MAX_COMMAND_TTL_MS) {
      return refuse('bad-command', `expiresAt: must be after issuedAt by at most ${MAX_COMMAND_TTL_MS} ms`, 'expiresAt');
    }
    const now = this.now();
    if (now > c.expiresAt + CLOCK_SKEW_MS) return refuse('expired', `expiresAt: expired ${Math.round((now - c.expiresAt) / 1000)} s ago`, 'expiresAt');
    if (c.issuedAt > now + CLOCK_SKEW_MS) return refuse('not-yet-valid', `issuedAt: ${Math.round((c.issuedAt - now) / 1000)} s in the future`, 'issuedAt');
    this.prune(now);
    const keys = [`id:${c.id}`, `nonce:${c.nonce}`];
    const replayed = keys.find((k) => this.seen.has(k));
    if (replayed !== undefined) return refuse('replayed', `${replayed.startsWith('id:') ? 'id' : 'nonce'}: this command was received before`, replayed.startsWith('id:') ? 'id' : 'nonce');
    if (this.seen.size + keys.length > MAX_SEEN) return refuse('unavailable', `more than ${MAX_SEEN / 2} live commands remembered; try again once some expire`);
    const until = c.expiresAt + CLOCK_SKEW_MS;
    for (const k of keys) this.seen.set(k, until);
    try {
      this.save();
    } catch (err) {
      // Not remembered on disk means it could run twice after a restart: refuse rather than risk it.
      for (const k of keys) this.seen.delete(k);
      return refuse('unavailable', `replay memory not writable: ${(err as Error).message}`);
    }
    return { ok: true, command: c };
  }

  private prune(now: number): void {
    for (const [k, until] of this.seen) if (until < now) this.seen.delete(k);
  }

  private load(): void {
    let text: string;
    try {
      text = readFileSync(this.file, 'utf8');
    } catch {
      return; // first start: nothing seen
    }
    let parsed: z.infer<typeof SeenFile>;
    try {
      parsed = SeenFile.parse(JSON.parse(text));
    } catch (err) {
      // A damaged file (a power cut mid-write cannot make one: it is renamed into place). The
      // commands it named are at most MAX_COMMAND_TTL_MS old; refusing every command for that
      // long would be worse than the replay window it opens, so it starts empty and says so.
      this.damaged = `${this.file} was not a valid replay memory (${(err as Error).message.slice(0, 200)}); started empty`;
      return;
    }
    for (const { key, until } of parsed.seen) this.seen.set(key, until);
  }

  private save(): void {
    mkdirSync(path.dirname(this.file), { recursive: true });
    const tmp = `${this.file}.tmp`;
    writeFileSync(tmp, JSON.stringify({ v: 1, seen: [...this.seen].map(([key, until]) => ({ key, until })) }));
    renameSync(tmp, this.file);
  }
}
