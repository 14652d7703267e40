/**
 * `fleet`: the operator CLI. Talks to the fleet service's HTTP API (`--url` or FLEET_URL, default
 * http://127.0.0.1:8090) with a bearer token (`--token` or FLEET_TOKEN; `fleet login` prints one).
 * Signing and key generation are local and need no service.
 */
import { readFileSync, writeFileSync, existsSync, mkdirSync, chmodSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { TrendArtifactSchema } from '../protocol/recommendations.ts';
import { ARTIFACT_KINDS, ArtifactSchema } from '../protocol/update.ts';
import { parseSelectorString } from '../service/rollouts/selector.ts';
import { CliError, fleetClient, type Call } from './client.ts';
import { sendCommand } from './cmd.ts';
import { enrolToken, revoke } from './enrol.ts';
import * as answer from './responses.ts';
import { generateSigningKey, manifestFileFor, signArtifact } from './signing.ts';
import { alertsView, auditView, devicesView, rolloutsView, rolloutView, statsView, storesView } from './views.ts';

const USAGE = `usage: fleet <command> [options]

  devices [--store S]                          devices with version, health, last seen, telemetry
  stores                                       stores with their time zone and devices online
  stats <store> [--days N | --from T --to T]   sessions, dwell, products tried and saved, per day (store's time zone);
                                                T: ISO 8601 or epoch ms; default the last 7 days
  push <artifact> --to <selector> [--canary 5%] [--threshold 5%] [--min-done 10] [--transfer mqtt|http]
                                                upload the artifact (signed: <name>.manifest.json beside it) and start a rollout
                                                selector: all | store=ID,tag=T,device=[STORE/]ID,N% (comma-separated)
  status [<rollout>] [--watch] [--interval S]  rollouts, or one rollout's waves (live with --watch)
  pause|resume|abort|rollback <rollout>
  keys generate [--out DIR] [--key-id ID]      a new Ed25519 signing key pair
  recommendations [--days N] [--out FILE]     the shoppers' trends per tone band x undertone (k-anonymous buckets
                                                only), unsigned, to FILE (default recommendations-<version>.json);
                                                then sign it with --kind recommendations --name recommendations
  sign <artifact> --key KEY.pem --key-id ID --name NAME --version V [--kind model|catalog|recommendations|app|colour-profile] [--id ID]
       [--rollback-from V] [--out FILE]         writes <name>.manifest.json beside it (mesh.bin: mesh.manifest.json);
                                                --rollback-from signs an explicit rollback below the devices' floor
  users add <username> --role admin|operator|manager [--store S] [--password P]
  login <username> [--password P]              prints a token for FLEET_TOKEN
  audit [--limit N]
  alerts [--all] [--store S] [--limit N]       open alerts (--all: cleared ones too), newest first
  alerts ack <id>                              acknowledge an alert (recorded with your name in it and the audit log)
  cmd <store>/<device> <name> [key=value ...] [--timeout S] [--async]
                                                a signed command to one mirror, its result printed (exit 1 if refused
                                                or failed, 3 if none within the wait): restart | reload-config |
                                                logs [lines=N] | self-test | log-level level=L durationS=N
  enrol-token --store S --device D [--ttl S]   a one-time enrolment token for a new mirror (default 7 days)
  revoke --store S --device D [--reason R]     revoke a mirror's certificates: the broker refuses it and cuts it off

  global: --url URL (FLEET_URL)  --token T (FLEET_TOKEN)  --json`;

export interface CliIo {
  out: (s: string) => void;
  err: (s: string) => void;
  env: NodeJS.ProcessEnv;
  /** For --watch: how to wait between refreshes. */
  sleep?: (ms: number) => Promise<void>;
  isTTY?: boolean;
}

const OPTIONS = {
  url: { type: 'string' },
  token: { type: 'string' },
  json: { type: 'boolean' },
  store: { type: 'string' },
  to: { type: 'string' },
  canary: { type: 'string' },
  threshold: { type: 'string' },
  'min-done': { type: 'string' },
  transfer: { type: 'string' },
  manifest: { type: 'string' },
  watch: { type: 'boolean' },
  interval: { type: 'string' },
  out: { type: 'string' },
  'key-id': { type: 'string' },
  key: { type: 'string' },
  name: { type: 'string' },
  version: { type: 'string' },
  kind: { type: 'string' },
  id: { type: 'string' },
  'rollback-from': { type: 'string' },
  role: { type: 'string' },
  password: { type: 'string' },
  limit: { type: 'string' },
  days: { type: 'string' },
  from: { type: 'string' },
  timeout: { type: 'string' },
  async: { type: 'boolean' },
  all: { type: 'boolean' },
  device: { type: 'string' },
  ttl: { type: 'string' },
  reason: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

type Options = ReturnType<typeof parseArgs<{ options: typeof OPTIONS; allowPositionals: true }>>['values'];

/** What every command gets: its arguments, the options, the service client and output. */
interface Ctx {
  cmd: string;
  args: string[];
  o: Options;
  io: CliIo;
  call: Call;
  /** `npm run fleet:cli -- ...` runs in the package root; resolve user paths where they typed them. */
  userPath: (p: string) => string;
  print: (human: string, data: unknown) => void;
  needArg: (v: string | undefined, what: string) => string;
}

function pct(s: string | undefined, what: string): number | undefined {
  if (s === undefined) return undefined;
  const m = /^(\d+(?:\.\d+)?)%?$/.exec(s.trim());
  if (!m) throw new CliError(`${what}: "${s}" is not a percentage like 5%`, 2);
  return Number(m[1]);
}

async function devices({ o, call, print }: Ctx): Promise<number> {
  const q = o.store ? `?store=${encodeURIComponent(o.store)}` : '';
  const data = await call(answer.DeviceList, 'GET', `/api/devices${q}`);
  print(devicesView(data), data);
  return 0;
}

async function stores({ call, print }: Ctx): Promise<number> {
  const data = await call(answer.StoreList, 'GET', '/api/stores');
  print(storesView(data), data);
  return 0;
}

/** `2026-12-01T09:00:00+01:00` or epoch ms. */
function instant(s: string | undefined, what: string): number | undefined {
  if (s === undefined) return undefined;
  const t = /^\d+$/.test(s) ? Number(s) : Date.parse(s);
  if (!Number.isFinite(t)) throw new CliError(`${what}: "${s}" is not an ISO 8601 time or epoch ms`, 2);
  return t;
}

async function stats({ args, o, call, print, needArg }: Ctx): Promise<number> {
  const storeId = needArg(args[0], '<store>');
  const q = new URLSearchParams();
  const from = instant(o.from, '--from');
  const to = instant(o.to, '--to');
  if (from !== undefined || to !== undefined) {
    if (from !== undefined) q.set('from', String(from));
    if (to !== undefined) q.set('to', String(to));
  } else {
    q.set('days', o.days ?? '7');
  }
  const data = await call(answer.StoreStatsAnswer, 'GET', `/api/stores/${encodeURIComponent(storeId)}/stats?${q}`);
  print(statsView(data), data);
  return 0;
}

function rolloutOptions(o: Options): Record<string, unknown> {
  const options: Record<string, unknown> = {};
  const canary = pct(o.canary, '--canary');
  if (canary !== undefined) options.canaryPercent = canary;
  const th = pct(o.threshold, '--threshold');
  if (th !== undefined) options.failureThreshold = th / 100;
  if (o['min-done'] !== undefined) options.minDevicesDone = Number(o['min-done']);
  if (o.transfer !== undefined) options.transfer = o.transfer;
  return options;
}

async function push({ args, o, io, call, userPath, print, needArg }: Ctx): Promise<number> {
  const file = userPath(needArg(args[0], '<artifact>'));
  const selector = parseSelectorString(needArg(o.to, '--to <selector>'));
  const manifestFile = o.manifest ? userPath(o.manifest) : manifestFileFor(file);
  if (!existsSync(manifestFile)) throw new CliError(`${manifestFile} not found: sign the artifact first (fleet sign ${file} ...)`);
  const meta = ArtifactSchema.parse(JSON.parse(readFileSync(manifestFile, 'utf8')));
  const bytes = readFileSync(file);
  const existing = await call(answer.ArtifactAnswer, 'GET', `/api/artifacts/${meta.id}`).catch(() => undefined);
  if (existing === undefined) {
    const headers = { 'content-type': 'application/octet-stream', 'x-artifact': Buffer.from(JSON.stringify(meta)).toString('base64') };
    await call(answer.Acknowledged, 'POST', '/api/artifacts', { raw: bytes, headers });
    io.err(`uploaded ${meta.id} (${meta.name} ${meta.version}, ${bytes.length} bytes, signed by ${meta.keyId})`);
  } else if (existing.artifact.sha256 !== meta.sha256) {
    throw new CliError(`artifact ${meta.id} exists with a different sha256; give the new build a new id`);
  }
  const data = await call(answer.RolloutAnswer, 'POST', '/api/rollouts', { body: { artifactId: meta.id, selector, options: rolloutOptions(o) } });
  const r = data.rollout;
  print(`rollout ${r.id} started: ${r.targets} devices in ${r.waves} wave(s), canary first\nwatch it: fleet status ${r.id} --watch`, data);
  return 0;
}

async function status({ args, o, io, call, print }: Ctx): Promise<number> {
  if (args[0] === undefined) {
    const data = await call(answer.RolloutList, 'GET', '/api/rollouts');
    print(rolloutsView(data), data);
    return 0;
  }
  const id = args[0];
  const interval = Math.max(0.2, Number(o.interval ?? 2)) * 1000;
  const sleep = io.sleep ?? ((ms: number) => new Promise((r) => setTimeout(r, ms)));
  for (;;) {
    const s = await call(answer.RolloutSummaryAnswer, 'GET', `/api/rollouts/${encodeURIComponent(id)}`);
    const ended = ['completed', 'aborted', 'rolled-back'].includes(s.rollout.status);
    if (o.watch && io.isTTY) io.out('\x1b[2J\x1b[H' + rolloutView(s) + `\n\n${new Date().toLocaleTimeString()}  (Ctrl-C to stop watching)`);
    else print(rolloutView(s), s);
    if (!o.watch || ended) return 0;
    await sleep(interval);
  }
}

async function control({ cmd, args, call, print, needArg }: Ctx): Promise<number> {
  const id = needArg(args[0], '<rollout>');
  const data = await call(answer.RolloutAnswer, 'POST', `/api/rollouts/${encodeURIComponent(id)}/${cmd}`);
  print(`rollout ${id}: ${data.rollout.status}${data.rollout.statusReason ? ` (${data.rollout.statusReason})` : ''}`, data);
  return 0;
}

function keys({ args, o, userPath, print }: Ctx): number {
  if (args[0] !== 'generate') throw new CliError('usage: fleet keys generate [--out DIR] [--key-id ID]', 2);
  const keyId = o['key-id'] ?? `key-${new Date().toISOString().slice(0, 10).replaceAll('-', '')}`;
  if (!/^[A-Za-z0-9_-]{1,64}$/.test(keyId)) throw new CliError('--key-id: letters, digits, _ and - only', 2);
  const dir = userPath(o.out ?? '.');
  mkdirSync(dir, { recursive: true });
  const k = generateSigningKey();
  const priv = path.join(dir, `${keyId}.key.pem`);
  const pub = path.join(dir, `${keyId}.pub.pem`);
  if (existsSync(priv)) throw new CliError(`${priv} exists; refusing to overwrite a signing key`);
  writeFileSync(priv, k.privateKeyPem, { mode: 0o600 });
  chmodSync(priv, 0o600);
  writeFileSync(pub, k.publicKeyPem);
  print(
    `private key  ${priv}  (keep it offline; anyone with it can ship models)\npublic key   ${pub}\n\ntrust it in the fleet service config ("trustedKeys") and in each mirror's pinned keys:\n  "${keyId}": "${k.publicKeyRaw}"`,
    { keyId, privateKey: priv, publicKey: pub, publicKeyRaw: k.publicKeyRaw },
  );
  return 0;
}

function sign({ args, o, userPath, print, needArg }: Ctx): number {
  const file = userPath(needArg(args[0], '<artifact>'));
  const keyFile = userPath(needArg(o.key, '--key KEY.pem'));
  const keyId = needArg(o['key-id'], '--key-id ID');
  const name = needArg(o.name, '--name NAME');
  const version = needArg(o.version, '--version V');
  const kind = ARTIFACT_KINDS.find((k) => k === (o.kind ?? 'model'));
  if (kind === undefined) throw new CliError(`--kind: ${ARTIFACT_KINDS.join(' or ')}`, 2);
  const id = o.id ?? `${name}-${version}`.replace(/[^A-Za-z0-9_-]/g, '-').slice(0, 64);
  const rollbackFrom = o['rollback-from'];
  const meta = signArtifact(readFileSync(file), { id, kind, name, version, keyId, ...(rollbackFrom ? { rollbackFrom } : {}) }, readFileSync(keyFile, 'utf8'));
  const out = o.out ? userPath(o.out) : manifestFileFor(file);
  writeFileSync(out, JSON.stringify(meta, null, 2) + '\n');
  const rollback = meta.rollbackFrom ? `\n  signed rollback: devices at ${meta.rollbackFrom} or below may take it` : '';
  print(`signed ${file}\n  id ${meta.id}  ${meta.kind} ${meta.name} ${meta.version}  ${meta.size} bytes\n  sha256 ${meta.sha256}\n  key ${meta.keyId}${rollback}\nmanifest ${out}`, meta);
  return 0;
}

async function users({ args, o, io, call, print, needArg }: Ctx): Promise<number> {
  if (args[0] !== 'add') throw new CliError('usage: fleet users add <username> --role R [--store S] [--password P]', 2);
  const username = needArg(args[1], '<username>');
  const role = needArg(o.role, '--role admin|operator|manager');
  const password = o.password ?? io.env.FLEET_NEW_PASSWORD;
  if (!password) throw new CliError('--password (or FLEET_NEW_PASSWORD) is required', 2);
  const data = await call(answer.UserAnswer, 'POST', '/api/users', { body: { username, password, role, ...(o.store ? { storeId: o.store } : {}) } });
  print(`user ${data.username} added (${data.role}${data.storeId ? `, store ${data.storeId}` : ''})`, data);
  return 0;
}

async function login({ args, o, io, call, print, needArg }: Ctx): Promise<number> {
  const username = needArg(args[0], '<username>');
  const password = o.password ?? io.env.FLEET_PASSWORD;
  if (!password) throw new CliError('--password (or FLEET_PASSWORD) is required', 2);
  const data = await call(answer.LoginAnswer, 'POST', '/api/login', { body: { username, password } });
  print(`export FLEET_TOKEN=${data.token}`, data);
  return 0;
}

async function audit({ o, call, print }: Ctx): Promise<number> {
  const data = await call(answer.AuditList, 'GET', `/api/audit?limit=${Number(o.limit ?? 50)}`);
  print(auditView(data), data);
  return 0;
}

async function alerts({ args, o, call, print, needArg }: Ctx): Promise<number> {
  if (args[0] === 'ack') {
    const id = needArg(args[1], '<alert id>');
    const data = await call(answer.AlertAnswer, 'POST', `/api/alerts/${encodeURIComponent(id)}/ack`);
    print(`alert ${data.alert.id} (${data.alert.kind} ${data.alert.subject}) acknowledged by ${data.alert.ackedBy}`, data);
    return 0;
  }
  if (args[0] !== undefined) throw new CliError('usage: fleet alerts [--all] [--store S] [--limit N] | fleet alerts ack <id>', 2);
  const q = new URLSearchParams({ status: o.all ? 'all' : 'open', limit: String(Number(o.limit ?? 100)) });
  if (o.store) q.set('store', o.store);
  const data = await call(answer.AlertList, 'GET', `/api/alerts?${q}`);
  print(alertsView(data), data);
  return 0;
}

/** Fetches the trend artifact (unsigned) and writes it where `fleet sign` can take it. */
async function recommendations({ o, call, print, userPath }: Ctx): Promise<number> {
  const q = new URLSearchParams();
  if (o.days !== undefined) q.set('windowDays', o.days);
  const data = await call(TrendArtifactSchema, 'GET', `/api/recommendations${q.size ? `?${q}` : ''}`);
  const out = userPath(o.out ?? `recommendations-${data.version}.json`);
  writeFileSync(out, JSON.stringify(data, null, 2) + '\n');
  const next = `fleet sign ${out} --kind recommendations --name recommendations --version ${data.version} --key KEY.pem --key-id ID`;
  print(`${data.buckets.length} buckets (k = ${data.minSessions} sessions, ${data.windowDays} days) written to ${out}\nnext: ${next}`, { file: out, ...data });
  return 0;
}

async function cmd({ args, o, call, print, needArg }: Ctx): Promise<number> {
  const r = await sendCommand(call, { target: needArg(args[0], '<store>/<device>'), name: needArg(args[1], '<name>'), args: args.slice(2), timeoutS: o.timeout, async: o.async });
  print(r.human, r.data);
  return r.code;
}

async function enrolment({ cmd, o, call, print }: Ctx): Promise<number> {
  const r = cmd === 'revoke' ? await revoke(call, o) : await enrolToken(call, o);
  print(r.human, r.data);
  return 0;
}

const COMMANDS: Record<string, (ctx: Ctx) => number | Promise<number>> = {
  cmd,
  'enrol-token': enrolment,
  revoke: enrolment,
  recommendations,
  devices,
  stores,
  stats,
  push,
  status,
  pause: control,
  resume: control,
  abort: control,
  rollback: control,
  keys,
  sign,
  users,
  login,
  audit,
  alerts,
};

export async function runCli(argv: string[], io: CliIo): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({ args: argv, allowPositionals: true, options: OPTIONS });
  } catch (err) {
    io.err(`${(err as Error).message}\n\n${USAGE}`);
    return 2;
  }
  const { values: o, positionals: [cmd, ...args] } = parsed;
  if (o.help || cmd === undefined || cmd === 'help') {
    io.out(USAGE);
    return cmd === undefined && !o.help ? 2 : 0;
  }
  const command = Object.hasOwn(COMMANDS, cmd) ? COMMANDS[cmd] : undefined;
  if (!command) {
    io.err(`unknown command "${cmd}"\n\n${USAGE}`);
    return 2;
  }
  const base = (o.url ?? io.env.FLEET_URL ?? 'http://127.0.0.1:8090').replace(/\/$/, '');
  const ctx: Ctx = {
    cmd,
    args,
    o,
    io,
    call: fleetClient(base, o.token ?? io.env.FLEET_TOKEN),
    userPath: (p) => path.resolve(io.env.INIT_CWD ?? process.cwd(), p),
    print: (human, data) => io.out(o.json ? JSON.stringify(data, null, 2) : human),
    needArg: (v, what) => {
      if (!v) throw new CliError(`${cmd}: missing ${what}\n\n${USAGE}`, 2);
      return v;
    },
  };
  try {
    return await command(ctx);
  } catch (err) {
    if (err instanceof CliError) {
      io.err(`fleet: ${err.message}`);
      return err.exitCode;
    }
    if (err instanceof TypeError || (err as Error).name === 'ZodError') {
      io.err(`fleet: ${(err as Error).message}`);
      return 2;
    }
    throw err;
  }
}
