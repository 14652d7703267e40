/**
 * `fleet`: the operator CLI. Talks to the fleet service's HTTP API (`--url` or FLEET_URL, default
 * http://127.0.0.1:8090) with a bearer token (`--token` or FLEET_TOKEN; `fleet login` prints one).
 * Signing and key generation are local and need no service.
 */
import { readFileSync, writeFileSync, existsSync, mkdirSync, chmodSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { ArtifactSchema } from '../protocol/update.ts';
import { describeSelector, parseSelectorString } from '../service/rollouts/selector.ts';
import { generateSigningKey, signArtifact } from './signing.ts';
import { ago, bar, table } from './table.ts';

const USAGE = `usage: fleet <command> [options]

  devices [--store S]                          devices with version, health, last seen, telemetry
  push <artifact> --to <selector> [--canary 5%] [--threshold 5%] [--min-done 10] [--transfer mqtt|http]
                                                upload the artifact (signed: <artifact>.manifest.json) and start a rollout
                                                selector: all | store=ID,tag=T,device=[STORE/]ID,N% (comma-separated)
  status [<rollout>] [--watch] [--interval S]  rollouts, or one rollout's waves (live with --watch)
  pause|resume|abort|rollback <rollout>
  keys generate [--out DIR] [--key-id ID]      a new Ed25519 signing key pair
  sign <artifact> --key KEY.pem --key-id ID --name NAME --version V [--kind model|catalog] [--id ID]
                                                writes <artifact>.manifest.json
  users add <username> --role admin|operator|manager [--store S] [--password P]
  login <username> [--password P]              prints a token for FLEET_TOKEN
  audit [--limit N]

  global: --url URL (FLEET_URL)  --token T (FLEET_TOKEN)  --json`;

export interface CliIo {
  out: (s: string) => void;
  err: (s: string) => void;
  env: NodeJS.ProcessEnv;
  /** For --watch: how to wait between refreshes. */
  sleep?: (ms: number) => Promise<void>;
  isTTY?: boolean;
}

class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode = 1,
  ) {
    super(message);
  }
}

function pct(s: string | undefined, what: string): number | undefined {
  if (s === undefined) return undefined;
  const m = /^(\d+(?:\.\d+)?)%?$/.exec(s.trim());
  if (!m) throw new CliError(`${what}: "${s}" is not a percentage like 5%`, 2);
  return Number(m[1]);
}

export async function runCli(argv: string[], io: CliIo): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
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
        role: { type: 'string' },
        password: { type: 'string' },
        limit: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    });
  } catch (err) {
    io.err(`${(err as Error).message}\n\n${USAGE}`);
    return 2;
  }
  const { values: o, positionals: pos } = parsed;
  const [cmd, ...args] = pos;
  if (o.help || cmd === undefined || cmd === 'help') {
    io.out(USAGE);
    return cmd === undefined && !o.help ? 2 : 0;
  }
  // `npm run fleet:cli -- ...` runs in the package root; resolve user paths where they typed them.
  const userPath = (p: string) => path.resolve(io.env.INIT_CWD ?? process.cwd(), p);
  const base = (o.url ?? io.env.FLEET_URL ?? 'http://127.0.0.1:8090').replace(/\/$/, '');
  const token = o.token ?? io.env.FLEET_TOKEN;

  const call = async (method: string, p: string, body?: unknown, extraHeaders: Record<string, string> = {}, raw?: Buffer): Promise<any> => {
    const headers: Record<string, string> = { ...extraHeaders };
    if (token) headers.authorization = `Bearer ${token}`;
    if (body !== undefined) headers['content-type'] = 'application/json';
    let res: Response;
    try {
      res = await fetch(base + p, { method, headers, body: (raw as unknown as BodyInit | undefined) ?? (body === undefined ? undefined : JSON.stringify(body)) });
    } catch (err) {
      throw new CliError(`cannot reach the fleet service at ${base}: ${(err as Error).message}`);
    }
    const text = await res.text();
    let data: any;
    try {
      data = text ? JSON.parse(text) : undefined;
    } catch {
      data = { error: { message: text.slice(0, 200) } };
    }
    if (!res.ok) {
      const hint = res.status === 401 ? ' (set FLEET_TOKEN or --token; `fleet login <user>` prints one)' : '';
      throw new CliError(`${method} ${p}: ${res.status} ${data?.error?.code ?? ''} ${data?.error?.message ?? ''}${hint}`.replace(/\s+/g, ' ').trim());
    }
    return data;
  };
  const print = (human: string, data: unknown) => io.out(o.json ? JSON.stringify(data, null, 2) : human);
  const needArg = (v: string | undefined, what: string): string => {
    if (!v) throw new CliError(`${cmd}: missing ${what}\n\n${USAGE}`, 2);
    return v;
  };

  const statusView = (s: any): string => {
    const r = s.rollout;
    const lines = [
      `rollout ${r.id}  ${r.status.toUpperCase()}${r.statusReason ? ` (${r.statusReason})` : ''}`,
      `artifact ${s.artifact?.id ?? r.artifactId}  ${s.artifact ? `${s.artifact.name} ${s.artifact.version}` : ''}   to ${describeSelector(r.selector)}   ${r.targets} devices, by ${r.createdBy}`,
      `progress ${bar(s.progress)}   wave ${r.wave + 1} of ${r.waves}`,
      '',
      table(
        ['wave', 'size', 'progress', 'ok', 'failed', 'timed out', 'running', 'queued', 'pending', 'skipped'],
        s.waves.map((w: any) => {
          const c = w.counts;
          const done = (c.succeeded ?? 0) + (c.failed ?? 0) + (c['timed-out'] ?? 0) + (c.cancelled ?? 0) + (c.skipped ?? 0);
          return [
            w.wave === 0 ? '0 (canary)' : w.wave,
            w.size,
            bar(w.size ? done / w.size : 0, 16),
            c.succeeded ?? 0,
            c.failed ?? 0,
            c['timed-out'] ?? 0,
            (c.offered ?? 0) + (c['in-progress'] ?? 0) + (c.committed ?? 0),
            c.queued ?? 0,
            c.pending ?? 0,
            c.skipped ?? 0,
          ];
        }),
        ['l', 'r', 'l', 'r', 'r', 'r', 'r', 'r', 'r', 'r'],
      ),
    ];
    return lines.join('\n');
  };

  /** The hottest temperature a device reports (any thermal zone or the GPU), or '-'. */
  const hottest = (sys: { temperaturesC?: Record<string, number>; gpuTemperatureC?: number } | null | undefined): string => {
    const all = [...Object.values(sys?.temperaturesC ?? {}), ...(typeof sys?.gpuTemperatureC === 'number' ? [sys.gpuTemperatureC] : [])];
    return all.length ? Math.max(...all).toFixed(0) : '-';
  };

  try {
    switch (cmd) {
      case 'devices': {
        const q = o.store ? `?store=${encodeURIComponent(o.store)}` : '';
        const data = await call('GET', `/api/devices${q}`);
        const now = Date.now();
        print(
          table(
            ['store', 'device', 'state', 'health', 'firmware', 'models', 'fps', 'p95 ms', 'cpu %', 'max °C', 'last seen'],
            data.devices.map((d: any) => [
              d.storeId,
              d.deviceId,
              d.state,
              d.health + (d.problems?.length && d.health !== 'ok' ? ` (${d.problems.join('; ')})` : ''),
              d.firmwareVersion,
              Object.entries(d.models ?? {}).map(([k, v]) => `${k}@${v}`).join(' ') || '-',
              d.fps === null ? '-' : d.fps.toFixed(1),
              d.latencyP95Ms === null ? '-' : d.latencyP95Ms.toFixed(0),
              typeof d.system?.cpuLoad === 'number' ? (d.system.cpuLoad * 100).toFixed(0) : '-',
              hottest(d.system),
              ago(d.lastSeen, now),
            ]),
            ['l', 'l', 'l', 'l', 'l', 'l', 'r', 'r', 'r', 'r', 'r'],
          ) + `\n${data.devices.length} device(s)`,
          data,
        );
        return 0;
      }
      case 'push': {
        const file = userPath(needArg(args[0], '<artifact>'));
        const to = needArg(o.to, '--to <selector>');
        const selector = parseSelectorString(to);
        const manifestFile = o.manifest ? userPath(o.manifest) : `${file}.manifest.json`;
        if (!existsSync(manifestFile)) throw new CliError(`${manifestFile} not found: sign the artifact first (fleet sign ${file} ...)`);
        const meta = ArtifactSchema.parse(JSON.parse(readFileSync(manifestFile, 'utf8')));
        const bytes = readFileSync(file);
        const existing = await call('GET', `/api/artifacts/${meta.id}`).catch(() => undefined);
        if (existing === undefined) {
          await call('POST', '/api/artifacts', undefined, { 'content-type': 'application/octet-stream', 'x-artifact': Buffer.from(JSON.stringify(meta)).toString('base64') }, bytes);
          io.err(`uploaded ${meta.id} (${meta.name} ${meta.version}, ${bytes.length} bytes, signed by ${meta.keyId})`);
        } else if (existing.artifact.sha256 !== meta.sha256) {
          throw new CliError(`artifact ${meta.id} exists with a different sha256; give the new build a new id`);
        }
        const options: Record<string, unknown> = {};
        const canary = pct(o.canary, '--canary');
        if (canary !== undefined) options.canaryPercent = canary;
        const th = pct(o.threshold, '--threshold');
        if (th !== undefined) options.failureThreshold = th / 100;
        if (o['min-done'] !== undefined) options.minDevicesDone = Number(o['min-done']);
        if (o.transfer !== undefined) options.transfer = o.transfer;
        const data = await call('POST', '/api/rollouts', { artifactId: meta.id, selector, options });
        const r = data.rollout;
        print(`rollout ${r.id} started: ${r.targets} devices in ${r.waves} wave(s), canary first\nwatch it: fleet status ${r.id} --watch`, data);
        return 0;
      }
      case 'status': {
        if (args[0] === undefined) {
          const data = await call('GET', '/api/rollouts');
          print(
            table(
              ['rollout', 'status', 'artifact', 'targets', 'wave', 'by', 'started'],
              data.rollouts.map((r: any) => [r.id, r.status + (r.statusReason ? ` (${r.statusReason})` : ''), r.artifactId, r.targets, `${r.wave + 1}/${r.waves}`, r.createdBy, ago(r.createdAt)]),
              ['l', 'l', 'l', 'r', 'r', 'l', 'r'],
            ),
            data,
          );
          return 0;
        }
        const id = args[0];
        const interval = Math.max(0.2, Number(o.interval ?? 2)) * 1000;
        const sleep = io.sleep ?? ((ms: number) => new Promise((r) => setTimeout(r, ms)));
        for (;;) {
          const s = await call('GET', `/api/rollouts/${encodeURIComponent(id)}`);
          const ended = ['completed', 'aborted', 'rolled-back'].includes(s.rollout.status);
          if (o.watch && io.isTTY) io.out('\x1b[2J\x1b[H' + statusView(s) + `\n\n${new Date().toLocaleTimeString()}  (Ctrl-C to stop watching)`);
          else print(statusView(s), s);
          if (!o.watch || ended) return 0;
          await sleep(interval);
        }
      }
      case 'pause':
      case 'resume':
      case 'abort':
      case 'rollback': {
        const id = needArg(args[0], '<rollout>');
        const data = await call('POST', `/api/rollouts/${encodeURIComponent(id)}/${cmd}`);
        print(`rollout ${id}: ${data.rollout.status}${data.rollout.statusReason ? ` (${data.rollout.statusReason})` : ''}`, data);
        return 0;
      }
      case 'keys': {
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
      case 'sign': {
        const file = userPath(needArg(args[0], '<artifact>'));
        const keyFile = userPath(needArg(o.key, '--key KEY.pem'));
        const keyId = needArg(o['key-id'], '--key-id ID');
        const name = needArg(o.name, '--name NAME');
        const version = needArg(o.version, '--version V');
        const kind = (o.kind ?? 'model') as 'model' | 'catalog';
        if (kind !== 'model' && kind !== 'catalog') throw new CliError('--kind: model or catalog', 2);
        const id = o.id ?? `${name}-${version}`.replace(/[^A-Za-z0-9_-]/g, '-').slice(0, 64);
        const meta = signArtifact(readFileSync(file), { id, kind, name, version, keyId }, readFileSync(keyFile, 'utf8'));
        const out = o.out ? userPath(o.out) : `${file}.manifest.json`;
        writeFileSync(out, JSON.stringify(meta, null, 2) + '\n');
        print(`signed ${file}\n  id ${meta.id}  ${meta.kind} ${meta.name} ${meta.version}  ${meta.size} bytes\n  sha256 ${meta.sha256}\n  key ${meta.keyId}\nmanifest ${out}`, meta);
        return 0;
      }
      case 'users': {
        if (args[0] !== 'add') throw new CliError('usage: fleet users add <username> --role R [--store S] [--password P]', 2);
        const username = needArg(args[1], '<username>');
        const role = needArg(o.role, '--role admin|operator|manager');
        const password = o.password ?? io.env.FLEET_NEW_PASSWORD;
        if (!password) throw new CliError('--password (or FLEET_NEW_PASSWORD) is required', 2);
        const data = await call('POST', '/api/users', { username, password, role, ...(o.store ? { storeId: o.store } : {}) });
        print(`user ${data.username} added (${data.role}${data.storeId ? `, store ${data.storeId}` : ''})`, data);
        return 0;
      }
      case 'login': {
        const username = needArg(args[0], '<username>');
        const password = o.password ?? io.env.FLEET_PASSWORD;
        if (!password) throw new CliError('--password (or FLEET_PASSWORD) is required', 2);
        const data = await call('POST', '/api/login', { username, password });
        print(`export FLEET_TOKEN=${data.token}`, data);
        return 0;
      }
      case 'audit': {
        const data = await call('GET', `/api/audit?limit=${Number(o.limit ?? 50)}`);
        print(
          table(
            ['when', 'who', 'action', 'target', 'detail'],
            data.audit.map((a: any) => [new Date(a.ts).toISOString(), a.actor, a.action, a.target, a.detail ? JSON.stringify(a.detail).slice(0, 80) : '']),
          ),
          data,
        );
        return 0;
      }
      default:
        io.err(`unknown command "${cmd}"\n\n${USAGE}`);
        return 2;
    }
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

