/**
 * A mirror installed the way a real one is, for the application update tests: the working tree
 * installed as release 1.0.0 under `<state>/releases` (device/release/install.ts: the code
 * hard-linked or copied, node_modules as the shared dependency tree of its lockfile), started by
 * the supervisor (systemd's part: the release boot check, then the daemon from
 * `<releases>/current`, restarted whenever it exits), talking to a real broker.
 */
import { mkdtemp, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { AppBootLimits } from '../../device/release/boot-check.ts';
import { installFromTree } from '../../device/release/install.ts';
import { Supervisor, type SupervisedStart } from '../../device/release/supervisor.ts';
import { repoRoot } from '../helpers/daemon.ts';
import { recordingLogger } from '../telemetry/support.ts';
import { until } from '../helpers/until.ts';
import type { SigningKey } from './fleet-double.ts';

export interface Start {
  release: string;
  pid: number;
  /** The daemon's JSON log lines. */
  logs: Array<Record<string, unknown>>;
  port: number | null;
  exit: { code: number | null; signal: string | null } | null;
}

export interface AppMirror {
  stateDir: string;
  releasesDir: string;
  first: { dir: string; version: string };
  supervisor: Supervisor;
  starts: Start[];
  latest(): Start;
  /** The newest start that is listening, once it is (a restart may be under way). */
  listening(timeoutMs?: number): Promise<Start & { port: number }>;
  health(): Promise<Record<string, unknown> & { processedFrames: number }>;
  stop(): Promise<void>;
}

export interface AppMirrorOptions {
  brokerUrl: string;
  storeId: string;
  deviceId: string;
  key: SigningKey;
  appMinFps: number;
  /** The release boot check's crash-loop limits (default: production's 3 starts in 5 min). */
  limits?: AppBootLimits;
}

export async function startAppMirror(opts: AppMirrorOptions): Promise<AppMirror> {
  const root = await mkdtemp(path.join(os.tmpdir(), 'mirror-app-'));
  const stateDir = path.join(root, 'state');
  const releasesDir = path.join(stateDir, 'releases');
  const first = await installFromTree({ root: repoRoot, releasesDir, stateDir, version: '1.0.0', artifactId: 'app-1-0-0' });
  const config = path.join(root, 'mirror.json');
  await writeFile(
    config,
    JSON.stringify({
      stateDir,
      mqtt: { url: opts.brokerUrl, storeId: opts.storeId, deviceId: opts.deviceId, metricsIntervalMs: 1000 },
      updates: { publicKeys: { [opts.key.keyId]: opts.key.publicKeyBase64 }, chunkTimeoutMs: 3000, appMinFps: opts.appMinFps },
      // One backend, no autotune, no advisor: the daemon starts as fast as this machine allows.
      vision: { backend: 'onnx', providers: ['cpu'], precision: 'fp32' },
      advisor: { enabled: false },
    }),
  );
  const supervisor = new Supervisor({
    releasesDir,
    stateDir,
    args: ['--config', config],
    env: { PORT: '0' },
    restartMs: 300,
    startLimitBurst: 20,
    ...(opts.limits ? { limits: opts.limits } : {}),
    logger: recordingLogger(),
  });
  const starts: Start[] = [];
  supervisor.on('start', (s: SupervisedStart) => {
    const start: Start = { release: s.release, pid: s.child.pid ?? -1, logs: [], port: null, exit: null };
    starts.push(start);
    let buffered = '';
    s.child.stdout!.on('data', (chunk: Buffer) => {
      buffered += chunk.toString();
      const lines = buffered.split('\n');
      buffered = lines.pop()!;
      for (const line of lines) {
        if (!line.startsWith('{')) continue;
        try {
          const entry = JSON.parse(line) as Record<string, unknown>;
          start.logs.push(entry);
          if (entry.msg === 'kiosk listening') start.port = entry.port as number;
        } catch {
          // not a log line
        }
      }
    });
    s.child.stderr!.resume();
    s.child.once('exit', (code, signal) => {
      start.exit = { code, signal };
    });
  });
  await supervisor.start();
  const latest = (): Start => starts.at(-1)!;
  const mirror: AppMirror = {
    stateDir,
    releasesDir,
    first: { dir: first.dir, version: '1.0.0' },
    supervisor,
    starts,
    latest,
    async listening(timeoutMs = 120_000) {
      await until(() => latest()?.port !== null && latest()?.exit === null, { what: 'a listening daemon', timeoutMs, everyMs: 100 });
      return latest() as Start & { port: number };
    },
    async health() {
      const s = await mirror.listening();
      return (await (await fetch(`http://127.0.0.1:${s.port}/healthz`)).json()) as Record<string, unknown> & { processedFrames: number };
    },
    async stop() {
      await supervisor.stop('SIGKILL');
    },
  };
  return mirror;
}

/** Frames keep flowing in the daemon now serving: its processed count grows. */
export async function expectFramesFlowing(m: AppMirror, timeoutMs = 90_000): Promise<void> {
  const a = await m.health();
  const grown = async (): Promise<boolean> => ((await m.health().catch(() => null))?.processedFrames ?? 0) > a.processedFrames + 3;
  await until(grown, { what: 'frames flowing', timeoutMs, everyMs: 500 });
}
