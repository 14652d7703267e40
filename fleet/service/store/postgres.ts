/**
 * PostgreSQL through `pg` (a pool). `schema` puts every table in its own schema (created when
 * missing) through the connection's search_path: tests use a fresh one per run.
 */
import pg from 'pg';
import type { Row, SqlDriver, SqlExecutor, SqlValue } from './driver.ts';

/** `?` → `$1, $2, ...` (our SQL never has a literal `?`). */
function placeholders(sql: string): string {
  let n = 0;
  return sql.replace(/\?/g, () => `$${++n}`);
}

function executor(q: { query: pg.Pool['query'] } | pg.PoolClient): SqlExecutor {
  return {
    all: async <T extends Row>(sql: string, params: SqlValue[] = []) =>
      (await (q as pg.PoolClient).query(placeholders(sql), params)).rows as T[],
    run: async (sql: string, params: SqlValue[] = []) =>
      (await (q as pg.PoolClient).query(placeholders(sql), params)).rowCount ?? 0,
  };
}

export interface PostgresOptions {
  url: string;
  schema?: string;
  max?: number;
}

export async function openPostgres(opts: PostgresOptions): Promise<SqlDriver> {
  if (opts.schema !== undefined && !/^[a-z_][a-z0-9_]{0,62}$/.test(opts.schema)) {
    throw new TypeError(`invalid PostgreSQL schema name ${JSON.stringify(opts.schema)}`);
  }
  if (opts.schema !== undefined) {
    const setup = new pg.Client({ connectionString: opts.url });
    await setup.connect();
    try {
      await setup.query(`CREATE SCHEMA IF NOT EXISTS ${opts.schema}`);
    } finally {
      await setup.end();
    }
  }
  const pool = new pg.Pool({
    connectionString: opts.url,
    max: opts.max ?? 8,
    ...(opts.schema !== undefined ? { options: `-c search_path=${opts.schema}` } : {}),
  });
  // BIGINT (int8) and NUMERIC come back as strings by default; our values fit in a double.
  const types = {
    getTypeParser: (oid: number, format?: 'text' | 'binary') =>
      oid === 20 || oid === 1700 ? (v: string) => Number(v) : pg.types.getTypeParser(oid, format),
  };
  pool.on('error', () => {
    /* an idle client died; the pool replaces it */
  });
  const q = {
    query: ((text: string, values?: unknown[]) => pool.query({ text, values, types })) as unknown as pg.Pool['query'],
  };
  let host = '(unknown)';
  try {
    const u = new URL(opts.url);
    host = `${u.hostname}:${u.port || 5432}${u.pathname}`;
  } catch {
    /* keep the placeholder */
  }
  return {
    dialect: 'postgres',
    describe: `postgres://${host}${opts.schema ? ` schema ${opts.schema}` : ''}`,
    ...executor(q),
    exec: async (sql) => {
      await pool.query(sql);
    },
    tx: async (fn) => {
      const client = await pool.connect();
      // A checked-out client has no pool listener: without this, a connection the server (or the
      // network) drops mid-transaction is an uncaught 'error' event that ends the process. The
      // query in flight rejects anyway; the client is destroyed on release.
      let broken: Error | undefined;
      const onError = (err: Error) => {
        broken = err;
      };
      client.on('error', onError);
      const cq = {
        query: ((text: string, values?: unknown[]) => client.query({ text, values, types })) as unknown as pg.Pool['query'],
      };
      try {
        await client.query('BEGIN');
        const out = await fn(executor(cq));
        await client.query('COMMIT');
        return out;
      } catch (err) {
        await client.query('ROLLBACK').catch(() => undefined);
        throw err;
      } finally {
        client.off('error', onError);
        client.release(broken);
      }
    },
    close: () => pool.end(),
  };
}

/** Drops a schema made by a test run. */
export async function dropPostgresSchema(url: string, schema: string): Promise<void> {
  if (!/^[a-z_][a-z0-9_]{0,62}$/.test(schema)) throw new TypeError('invalid schema');
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    await c.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
  } finally {
    await c.end();
  }
}

/** Whether a PostgreSQL server answers at `url` within `timeoutMs`. */
export async function postgresReachable(url: string, timeoutMs = 2000): Promise<boolean> {
  const c = new pg.Client({ connectionString: url, connectionTimeoutMillis: timeoutMs });
  try {
    await c.connect();
    await c.query('SELECT 1');
    return true;
  } catch {
    return false;
  } finally {
    await c.end().catch(() => undefined);
  }
}
