/**
 * SQLite through node-sqlite3-wasm (SQLite compiled to WASM, real file I/O, no native build).
 * The library is synchronous and one connection serves everything, so every call goes through
 * one async lock: a transaction started by the MQTT ingest can never interleave with a query
 * from an HTTP request.
 */
import { mkdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import type { Database as DatabaseType } from 'node-sqlite3-wasm';
import { Lock } from '../lock.ts';
import type { Row, SqlDriver, SqlExecutor, SqlValue } from './driver.ts';

const require = createRequire(import.meta.url);
const { Database } = require('node-sqlite3-wasm') as { Database: typeof DatabaseType };

export function openSqlite(file: string): SqlDriver {
  if (file !== ':memory:') mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
  const db = new Database(file);
  // WAL needs shared memory between connections, which the WASM build does not have; with the
  // exclusive locking mode it needs none. One fleet service owns its database file (the CLI goes
  // through the API), so exclusive is right anyway. WAL + synchronous=NORMAL: a commit is a write,
  // not an fsync (fsync at checkpoints): safe against a service crash, which is what acknowledging
  // MQTT messages after the commit relies on; a power cut may lose the last moments of telemetry.
  // Measured on the dev box: ~0.5 ms per ingest transaction instead of 6-14 ms.
  if (file !== ':memory:') {
    db.exec('PRAGMA locking_mode = EXCLUSIVE');
    db.get('PRAGMA journal_mode = WAL');
  }
  db.exec('PRAGMA synchronous = NORMAL');
  const lock = new Lock();
  const stmts = new Map<string, ReturnType<DatabaseType['prepare']>>();
  const prepared = (sql: string) => {
    let s = stmts.get(sql);
    if (s === undefined) {
      s = db.prepare(sql);
      stmts.set(sql, s);
    }
    return s;
  };
  // Inside the lock: direct, synchronous access (`.all` always runs a statement to completion).
  const direct: SqlExecutor = {
    all: async <T extends Row>(sql: string, params: SqlValue[] = []) => prepared(sql).all(params) as T[],
    run: async (sql: string, params: SqlValue[] = []) => prepared(sql).run(params).changes,
  };
  let closed = false;
  return {
    dialect: 'sqlite',
    describe: `sqlite:${file}`,
    all: (sql, params) => lock.run(() => direct.all(sql, params)),
    run: (sql, params) => lock.run(() => direct.run(sql, params)),
    exec: (sql) => lock.run(async () => db.exec(sql)),
    tx: (fn) =>
      lock.run(async () => {
        db.exec('BEGIN IMMEDIATE');
        try {
          const out = await fn(direct);
          db.exec('COMMIT');
          return out;
        } catch (err) {
          if (db.inTransaction) db.exec('ROLLBACK');
          throw err;
        }
      }),
    close: () =>
      lock.run(async () => {
        if (closed) return;
        closed = true;
        for (const s of stmts.values()) if (!s.isFinalized) s.finalize();
        stmts.clear();
        db.close();
      }),
  };
}
