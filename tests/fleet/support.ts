/**
 * Fleet test support: the stores to run against (SQLite always, PostgreSQL when reachable, each
 * in a fresh file or schema), a fleet service on a free port with a bootstrap admin, and a tiny
 * authenticated HTTP client.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { createFleetService, type FleetService } from '../../fleet/service/app.ts';
import type { FleetConfigInput } from '../../fleet/service/config.ts';
import type { FleetStore } from '../../fleet/service/store/fleet-store.ts';
import { openFleetStore } from '../../fleet/service/store/open.ts';
import { dropPostgresSchema, postgresReachable } from '../../fleet/service/store/postgres.ts';
import { until as poll } from '../helpers/until.ts';

export const PG_URL = process.env.FLEET_TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
export const ADMIN = { username: 'admin', password: 'admin-password-1' };

let pgChecked: Promise<boolean> | undefined;
export function pgAvailable(): Promise<boolean> {
  pgChecked ??= postgresReachable(PG_URL, 1500);
  return pgChecked;
}

/**
 * Whether the PostgreSQL suites run. Outside CI a missing server skips them (with a warning); in
 * CI (`CI=true`, where .ci/run starts one) it fails the file instead of passing it silently.
 */
export async function pgRequired(): Promise<boolean> {
  if (await pgAvailable()) return true;
  if (process.env.CI === 'true') throw new Error(`PostgreSQL is required in CI but not reachable at ${PG_URL} (FLEET_TEST_DATABASE_URL)`);
  console.warn(`[tests] PostgreSQL not reachable at ${PG_URL}: skipping the PostgreSQL store suite (SQLite still runs)`);
  return false;
}

export interface TestStoreConfig {
  kind: 'sqlite' | 'postgres';
  config: Pick<FleetConfigInput, 'sqlitePath' | 'databaseUrl' | 'databaseSchema' | 'artifactDir'>;
  cleanup(): Promise<void>;
}

export async function makeStoreConfig(kind: 'sqlite' | 'postgres'): Promise<TestStoreConfig> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'fleet-test-'));
  if (kind === 'sqlite') {
    return {
      kind,
      config: { sqlitePath: path.join(dir, 'fleet.db'), artifactDir: path.join(dir, 'artifacts') },
      cleanup: () => rm(dir, { recursive: true, force: true }),
    };
  }
  const schema = `fleet_test_${Date.now().toString(36)}_${randomBytes(4).toString('hex')}`;
  return {
    kind,
    config: { databaseUrl: PG_URL, databaseSchema: schema, artifactDir: path.join(dir, 'artifacts') },
    cleanup: async () => {
      await dropPostgresSchema(PG_URL, schema).catch(() => undefined);
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** The store config for `kind`, or undefined where PostgreSQL is skipped (see pgRequired). */
export async function storeConfigOrSkip(kind: 'sqlite' | 'postgres'): Promise<TestStoreConfig | undefined> {
  if (kind === 'postgres' && !(await pgRequired())) return undefined;
  return makeStoreConfig(kind);
}

/** One more connection (as one service instance would have) to the test store. */
export function openTestStore(cfg: TestStoreConfig): Promise<FleetStore> {
  return openFleetStore({ sqlitePath: cfg.config.sqlitePath ?? 'unused', databaseUrl: cfg.config.databaseUrl, databaseSchema: cfg.config.databaseSchema });
}

export interface TestService extends FleetService {
  token: string;
  api<T = any>(method: string, url: string, body?: unknown, token?: string | null): Promise<{ status: number; body: T }>;
  stop(): Promise<void>;
}

export async function startFleet(
  kind: 'sqlite' | 'postgres',
  overrides: Partial<FleetConfigInput> & { mqtt?: FleetConfigInput['mqtt'] } = {},
  opts: { mqtt?: boolean; now?: () => number } = {},
): Promise<TestService> {
  const store = await makeStoreConfig(kind);
  const svc = await createFleetService(
    {
      host: '127.0.0.1',
      port: 0,
      logLevel: 'silent',
      bootstrapAdmin: `${ADMIN.username}:${ADMIN.password}`,
      ...store.config,
      ...overrides,
      mqtt: { clientId: `fleet-test-${randomBytes(4).toString('hex')}`, cleanSession: true, ...(overrides.mqtt ?? { url: 'mqtt://127.0.0.1:1' }) },
    },
    { mqtt: opts.mqtt, now: opts.now },
  );
  const api = async (method: string, url: string, body?: unknown, token?: string | null) => {
    const headers: Record<string, string> = {};
    if (token) headers.authorization = `Bearer ${token}`;
    if (body !== undefined) headers['content-type'] = 'application/json';
    const res = await fetch(svc.url + url, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
    const text = await res.text();
    return { status: res.status, body: text ? JSON.parse(text) : undefined };
  };
  const login = await api('POST', '/api/login', ADMIN);
  if (login.status !== 200) throw new Error(`login failed: ${JSON.stringify(login.body)}`);
  const token = login.body.token as string;
  return {
    ...svc,
    token,
    api: (method, url, body, t) => api(method, url, body, t === undefined ? token : t),
    stop: async () => {
      await svc.close();
      await store.cleanup();
    },
  };
}

/** Polls `fn` until it returns a value that is not undefined/false; the test's timeout bounds it. */
export const until = <T>(fn: () => Promise<T | undefined | false> | T | undefined | false, everyMs = 25): Promise<T> =>
  poll(fn, { everyMs, timeoutMs: Number.POSITIVE_INFINITY });

/** POST /api/artifacts: the bundle as octet-stream, metadata as base64 JSON in `x-artifact`. */
export async function uploadArtifact(
  svc: { url: string; token: string },
  bytes: Buffer,
  meta: unknown,
  token: string | null = svc.token,
): Promise<{ status: number; body: any }> {
  const headers: Record<string, string> = {
    'content-type': 'application/octet-stream',
    'x-artifact': Buffer.from(JSON.stringify(meta)).toString('base64'),
  };
  if (token) headers.authorization = `Bearer ${token}`;
  const res = await fetch(`${svc.url}/api/artifacts`, { method: 'POST', headers, body: bytes as unknown as BodyInit });
  return { status: res.status, body: await res.json() };
}
