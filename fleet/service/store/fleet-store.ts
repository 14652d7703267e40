/**
 * Everything the fleet service keeps, over one `SqlDriver` (SQLite or PostgreSQL): one repository
 * per aggregate (device messages, devices, users, audit, artifacts, rollouts, dead letters, stores
 * and their settings, shopper-session facts), all
 * sharing the driver; this class opens the schema and holds them.
 */
import { ArtifactsRepo } from './artifacts-repo.ts';
import { AuditRepo } from './audit-repo.ts';
import { DeadLetterRepo } from './dead-letter-repo.ts';
import { DevicesRepo } from './devices-repo.ts';
import type { SqlDriver } from './driver.ts';
import { IngestRepo } from './ingest-repo.ts';
import { LeasesRepo } from './leases-repo.ts';
import { RolloutsRepo } from './rollouts-repo.ts';
import { ADDED_COLUMNS, SCHEMA_SQL, SCHEMA_VERSION } from './schema.ts';
import { StatsRepo } from './stats-repo.ts';
import { StoresRepo } from './stores-repo.ts';
import { UsersRepo } from './users-repo.ts';

export * from './rows.ts';

export class FleetStore {
  readonly messages: IngestRepo;
  readonly devices: DevicesRepo;
  readonly users: UsersRepo;
  readonly auditLog: AuditRepo;
  readonly artifacts: ArtifactsRepo;
  readonly rollouts: RolloutsRepo;
  readonly deadLetters: DeadLetterRepo;
  readonly stats: StatsRepo;
  readonly stores: StoresRepo;
  readonly leases: LeasesRepo;

  constructor(readonly db: SqlDriver) {
    this.messages = new IngestRepo(db);
    this.devices = new DevicesRepo(db);
    this.users = new UsersRepo(db);
    this.auditLog = new AuditRepo(db);
    this.artifacts = new ArtifactsRepo(db);
    this.rollouts = new RolloutsRepo(db);
    this.deadLetters = new DeadLetterRepo(db);
    this.stats = new StatsRepo(db);
    this.stores = new StoresRepo(db);
    this.leases = new LeasesRepo(db);
  }

  get describe(): string {
    return this.db.describe;
  }

  async init(): Promise<void> {
    await this.db.exec(SCHEMA_SQL);
    for (const [table, column, type] of ADDED_COLUMNS) {
      // A database created by an older version lacks the column: add it (the probe fails only then).
      try {
        await this.db.all(`SELECT ${column} FROM ${table} WHERE 1 = 0`);
      } catch {
        await this.db.exec(`ALTER TABLE ${table} ADD COLUMN ${column} ${type}`);
        if (table === 'events' && column === 'session_id') await this.stats.backfillSessionIds();
      }
    }
    await this.db.run(
      'INSERT INTO fleet_meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value',
      ['schema_version', String(SCHEMA_VERSION)],
    );
  }

  close(): Promise<void> {
    return this.db.close();
  }
}
