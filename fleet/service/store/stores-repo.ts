/**
 * Stores: the ones devices report from, with each one's settings (display name, time zone). A
 * store has no settings row until someone sets one; it reads as UTC until then.
 */
import { DEFAULT_TIME_ZONE } from '../time-zone.ts';
import { num, type SqlDriver } from './driver.ts';
import { str, type StoreScope } from './rows.ts';

export interface StoreRow {
  storeId: string;
  name: string | null;
  timeZone: string;
  devices: number;
  online: number;
}

export interface StoreSettings {
  name?: string | null;
  timeZone: string;
}

export class StoresRepo {
  constructor(private readonly db: SqlDriver) {}

  /** Every store a device reported from or that has settings (in scope), by id. */
  async list(scope: StoreScope = {}): Promise<StoreRow[]> {
    const one = scope.storeId !== undefined;
    const devices = await this.db.all(
      `SELECT store_id, COUNT(*) AS devices, SUM(CASE WHEN state = 'online' THEN 1 ELSE 0 END) AS online
       FROM devices ${one ? 'WHERE store_id = ?' : ''} GROUP BY store_id`,
      one ? [scope.storeId!] : [],
    );
    const settings = await this.db.all(`SELECT store_id, name, time_zone FROM stores ${one ? 'WHERE store_id = ?' : ''}`, one ? [scope.storeId!] : []);
    const byId = new Map<string, StoreRow>();
    for (const r of devices) {
      byId.set(String(r.store_id), { storeId: String(r.store_id), name: null, timeZone: DEFAULT_TIME_ZONE, devices: num(r.devices), online: num(r.online) });
    }
    for (const r of settings) {
      const id = String(r.store_id);
      const row = byId.get(id) ?? { storeId: id, name: null, timeZone: DEFAULT_TIME_ZONE, devices: 0, online: 0 };
      byId.set(id, { ...row, name: str(r.name), timeZone: String(r.time_zone) });
    }
    return [...byId.values()].sort((a, b) => a.storeId.localeCompare(b.storeId));
  }

  async get(storeId: string): Promise<StoreRow | undefined> {
    return (await this.list({ storeId }))[0];
  }

  async timeZone(storeId: string): Promise<string> {
    const r = await this.db.all('SELECT time_zone FROM stores WHERE store_id = ?', [storeId]);
    return r.length ? String(r[0].time_zone) : DEFAULT_TIME_ZONE;
  }

  async set(storeId: string, s: StoreSettings, by: string, now: number): Promise<void> {
    await this.db.run(
      `INSERT INTO stores (store_id, name, time_zone, updated_at, updated_by) VALUES (?, ?, ?, ?, ?)
       ON CONFLICT (store_id) DO UPDATE SET name = excluded.name, time_zone = excluded.time_zone,
         updated_at = excluded.updated_at, updated_by = excluded.updated_by`,
      [storeId, s.name ?? null, s.timeZone, now, by],
    );
  }
}
