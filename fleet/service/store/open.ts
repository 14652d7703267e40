import type { FleetConfig } from '../config.ts';
import { FleetStore } from './fleet-store.ts';
import { openPostgres } from './postgres.ts';
import { openSqlite } from './sqlite.ts';

/** PostgreSQL when `databaseUrl` is set, else the SQLite file. Creates the tables. */
export async function openFleetStore(cfg: Pick<FleetConfig, 'databaseUrl' | 'databaseSchema' | 'sqlitePath'>): Promise<FleetStore> {
  const driver = cfg.databaseUrl ? await openPostgres({ url: cfg.databaseUrl, schema: cfg.databaseSchema }) : openSqlite(cfg.sqlitePath);
  const store = new FleetStore(driver);
  try {
    await store.init();
  } catch (err) {
    await store.close().catch(() => undefined);
    throw err;
  }
  return store;
}
