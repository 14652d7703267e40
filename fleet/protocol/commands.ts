/**
 * Commands from the fleet to one mirror (`mirror/v1/{store}/{device}/cmd/{name}`, QoS 1) and the
 * mirror's result (`mirror/v1/{store}/{device}/result`, QoS 1), shared by both sides.
 *
 * Two locks, either of which stops a forged command: the broker ACL lets only the fleet service
 * write `cmd/` (fleet/broker/acl), and every command is signed by the fleet's command key
 * (Ed25519, a key of its own: the artifact key stays offline with the operator, this one lives in
 * the service). The signature covers the target store and device, the command id, its name and
 * arguments, when it was issued, when it expires, a random nonce and who sent it, so a command
 * captured for one mirror cannot be replayed on another, later, or twice (the mirror remembers
 * every id and nonce until the command has expired: device/commands/guard.ts).
 *
 * Every command gets exactly one result: `ok` with the command's output, `failed` (it ran and
 * did not work), or `refused` with a reason and, for a bad field, the field's dotted path.
 */
import { verify, type KeyObject } from 'node:crypto';
import { z } from 'zod';
import { safeText } from './schemas.ts';
import { ID_PATTERN } from './topics.ts';

const Id = z.string().regex(ID_PATTERN, { error: 'must match [A-Za-z0-9_-]{1,64}' });
const TimestampMs = z.int().min(0);

export const COMMAND_NAMES = ['restart', 'reload-config', 'logs', 'self-test', 'log-level'] as const;
export type CommandName = (typeof COMMAND_NAMES)[number];

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace'] as const;

/** A command lives at most this long (issuedAt → expiresAt); the replay memory is bounded by it. */
export const MAX_COMMAND_TTL_MS = 10 * 60_000;
/** Clocks of mirror and fleet may differ this much before a command counts as expired or early. */
export const CLOCK_SKEW_MS = 2 * 60_000;
/** `logs`: most lines one result carries, and the bytes they may take (the broker limit is 128 KiB). */
export const MAX_LOG_LINES = 500;
export const MAX_LOG_BYTES = 96 * 1024;
/** `log-level`: the longest a raised level stays before it reverts by itself. */
export const MAX_LOG_LEVEL_S = 24 * 3600;

/** Arguments per command; unknown keys are refused (a typo must not run a command half-understood). */
export const COMMAND_ARGS = {
  restart: z.strictObject({}),
  'reload-config': z.strictObject({}),
  logs: z.strictObject({
    lines: z.int().min(1).max(MAX_LOG_LINES).default(100),
  }),
  'self-test': z.strictObject({}),
  'log-level': z.strictObject({
    level: z.enum(LOG_LEVELS),
    durationS: z.int().min(1).max(MAX_LOG_LEVEL_S),
  }),
} as const satisfies Record<CommandName, z.ZodType>;

export type CommandArgs<N extends CommandName> = z.output<(typeof COMMAND_ARGS)[N]>;

/** The envelope; `args` is checked against COMMAND_ARGS[name] after it (parseCommand). */
export const CommandSchema = z.strictObject({
  v: z.literal(1),
  id: z.uuid(),
  name: z.enum(COMMAND_NAMES),
  args: z.record(z.string().max(64), z.unknown()),
  storeId: Id,
  deviceId: Id,
  issuedAt: TimestampMs,
  expiresAt: TimestampMs,
  /** 16+ random bytes, base64url. */
  nonce: z.string().regex(/^[A-Za-z0-9_-]{22,64}$/, { error: 'must be 22-64 base64url characters' }),
  /** The fleet user who sent it (for the mirror's log; the fleet's audit log is the record). */
  issuedBy: safeText(64, 1),
  keyId: Id,
  /** Base64 Ed25519 signature over commandSigningPayload(command). */
  signature: z.base64(),
});
export type Command = z.infer<typeof CommandSchema>;
export type UnsignedCommand = Omit<Command, 'signature'>;

/** Arguments with sorted keys, so signer and verifier serialise them the same way. */
function canonical(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(canonical);
  if (typeof value !== 'object' || value === null) return value;
  return Object.fromEntries(
    Object.keys(value)
      .sort()
      .map((k) => [k, canonical((value as Record<string, unknown>)[k])]),
  );
}

/** What is signed: a domain tag (so no artifact signature can pass for a command) and every field but the signature. */
export function commandSigningPayload(c: UnsignedCommand): Buffer {
  const fields = [c.v, c.id, c.name, canonical(c.args), c.storeId, c.deviceId, c.issuedAt, c.expiresAt, c.nonce, c.issuedBy, c.keyId];
  return Buffer.from(`mirror-command-v1\n${JSON.stringify(fields)}`, 'utf8');
}

export const REFUSAL_REASONS = [
  /** Not JSON, a field missing or wrong (`field` names it), arguments the command does not take. */
  'bad-command',
  /** No signature at all. */
  'unsigned',
  /** Signed by a key this mirror does not pin. */
  'unknown-key',
  'bad-signature',
  /** Signed for another store or device (`field`: storeId or deviceId), or on another command's topic. */
  'wrong-target',
  'expired',
  /** Issued further in the future than the allowed clock skew. */
  'not-yet-valid',
  /** This command id or nonce was seen before. */
  'replayed',
  /** The mirror cannot take commands now (replay memory unwritable or full). */
  'unavailable',
] as const;
export type RefusalReason = (typeof REFUSAL_REASONS)[number];

export interface SelfTestCheck {
  name: 'models' | 'camera' | 'disk' | 'broker';
  ok: boolean;
  detail: string;
  ms: number;
}

const SelfTestCheckSchema = z.strictObject({
  name: z.enum(['models', 'camera', 'disk', 'broker']),
  ok: z.boolean(),
  detail: safeText(512),
  ms: z.number().min(0),
});

/** What each command answers when it ran. */
export const COMMAND_OUTPUTS = {
  restart: z.strictObject({ exitCode: z.int() }),
  'reload-config': z.strictObject({ applied: z.array(safeText(128)).max(64), restartRequired: z.array(safeText(128)).max(256) }),
  logs: z.strictObject({ lines: z.array(z.string().max(4096)).max(MAX_LOG_LINES), truncated: z.boolean() }),
  'self-test': z.strictObject({ passed: z.boolean(), checks: z.array(SelfTestCheckSchema).max(16) }),
  'log-level': z.strictObject({ level: z.enum(LOG_LEVELS), previous: z.enum(LOG_LEVELS), revertAt: TimestampMs }),
} as const satisfies Record<CommandName, z.ZodType>;

export const CommandResultSchema = z.strictObject({
  v: z.literal(1),
  /** Null when the command was too broken to carry an id. */
  commandId: z.uuid().nullable(),
  name: z.enum(COMMAND_NAMES).nullable(),
  storeId: Id,
  deviceId: Id,
  ts: TimestampMs,
  status: z.enum(['ok', 'failed', 'refused']),
  reason: z.enum(REFUSAL_REASONS).optional(),
  /** The dotted path of the bad field (`args.lines`, `storeId`, `(payload)`). */
  field: safeText(128).optional(),
  error: safeText(1024).optional(),
  /** The command's output (COMMAND_OUTPUTS[name]) when it ran. */
  output: z.record(z.string(), z.unknown()).optional(),
});
export type CommandResult = z.infer<typeof CommandResultSchema>;

/** A command's payload, parsed and its arguments checked; never throws. */
export type CommandParse =
  | { ok: true; command: Command & { args: Record<string, unknown> } }
  | { ok: false; reason: 'bad-command' | 'unsigned'; field: string; error: string; id: string | null; name: CommandName | null };

function firstIssue(err: z.ZodError, prefix: string[] = []): { field: string; error: string } {
  const i = err.issues[0];
  const path = [...prefix, ...i.path.map(String)];
  // An unknown key's issue sits on the object: name the key itself.
  if (i.code === 'unrecognized_keys') path.push(i.keys[0]);
  const field = path.length ? path.join('.') : '(payload)';
  return { field, error: `${field}: ${i.message}` };
}

export function parseCommand(payload: Buffer | string, maxBytes = 16 * 1024): CommandParse {
  const bad = (field: string, error: string, raw?: Record<string, unknown>): CommandParse => ({
    ok: false,
    reason: 'bad-command',
    field,
    error,
    id: z.uuid().safeParse(raw?.id).success ? (raw?.id as string) : null,
    name: z.enum(COMMAND_NAMES).safeParse(raw?.name).success ? (raw?.name as CommandName) : null,
  });
  const size = typeof payload === 'string' ? Buffer.byteLength(payload) : payload.byteLength;
  if (size > maxBytes) return bad('(payload)', `(payload): larger than ${maxBytes} bytes`);
  let raw: unknown;
  try {
    raw = JSON.parse(payload.toString());
  } catch {
    return bad('(payload)', '(payload): not JSON');
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return bad('(payload)', '(payload): not a JSON object');
  const obj = raw as Record<string, unknown>;
  if (obj.signature === undefined || obj.signature === null || obj.signature === '') {
    const r = bad('signature', 'signature: the command is not signed', obj);
    return { ...r, reason: 'unsigned' } as CommandParse;
  }
  const env = CommandSchema.safeParse(raw);
  if (!env.success) {
    const { field, error } = firstIssue(env.error);
    return bad(field, error, obj);
  }
  const args = COMMAND_ARGS[env.data.name].safeParse(env.data.args);
  if (!args.success) {
    const { field, error } = firstIssue(args.error, ['args']);
    return bad(field, error, obj);
  }
  return { ok: true, command: { ...env.data, args: args.data as Record<string, unknown> } };
}

export type CommandSignatureCheck = { ok: true } | { ok: false; reason: 'unknown-key' | 'bad-signature'; error: string };

/** Ed25519 over commandSigningPayload with the key the command names, if this mirror pins it. */
export function checkCommandSignature(c: Command, keys: ReadonlyMap<string, KeyObject>): CommandSignatureCheck {
  const key = keys.get(c.keyId);
  if (!key) return { ok: false, reason: 'unknown-key', error: `keyId: key "${c.keyId}" is not pinned on this mirror` };
  const sig = Buffer.from(c.signature, 'base64');
  let good = false;
  try {
    const { signature: _omit, ...unsigned } = c;
    good = sig.byteLength === 64 && verify(null, commandSigningPayload(unsigned), key, sig);
  } catch {
    good = false;
  }
  return good ? { ok: true } : { ok: false, reason: 'bad-signature', error: `signature: does not verify with key "${c.keyId}"` };
}

/** A result's output checked against its command's schema (the fleet does this before storing). */
export function parseOutput(name: CommandName, output: unknown): { ok: true; output: Record<string, unknown> } | { ok: false; error: string } {
  const r = COMMAND_OUTPUTS[name].safeParse(output);
  if (r.success) return { ok: true, output: r.data as Record<string, unknown> };
  return { ok: false, error: firstIssue(r.error, ['output']).error };
}
