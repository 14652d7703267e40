/**
 * The one small interface both stores sit behind: a SQL executor with `?` placeholders and
 * transactions. `FleetStore` (fleet-store.ts) writes its queries once in the common subset of
 * SQLite and PostgreSQL (ON CONFLICT, RETURNING, BIGINT, DOUBLE PRECISION); each driver adapts
 * placeholders and number types, nothing else.
 */
export type SqlValue = string | number | null;
export type Row = Record<string, unknown>;

export interface SqlExecutor {
  /** Rows of a SELECT (or of an INSERT/UPDATE ... RETURNING). */
  all<T extends Row = Row>(sql: string, params?: SqlValue[]): Promise<T[]>;
  /** Runs a statement; resolves with the number of rows it changed. */
  run(sql: string, params?: SqlValue[]): Promise<number>;
}

export interface SqlDriver extends SqlExecutor {
  readonly dialect: 'sqlite' | 'postgres';
  /** Several DDL statements separated by `;`. */
  exec(sql: string): Promise<void>;
  /** Runs `fn` in one transaction: committed when it resolves, rolled back when it throws. */
  tx<T>(fn: (q: SqlExecutor) => Promise<T>): Promise<T>;
  close(): Promise<void>;
  /** Where the data lives, for logs (no credentials). */
  readonly describe: string;
}

/** Numbers come back as strings from pg for BIGINT/NUMERIC aggregates; normalise once. */
export function num(v: unknown): number {
  if (typeof v === 'number') return v;
  if (typeof v === 'bigint') return Number(v);
  if (typeof v === 'string' && v !== '') return Number(v);
  return 0;
}

export function numOrNull(v: unknown): number | null {
  return v === null || v === undefined ? null : num(v);
}
