/**
 * Why a store call failed, in the terms the ingest needs: `permanent` (this message can never be
 * stored: retrying it forever would block every message behind it), `transient` (the store is
 * down, busy or reconfiguring: retry, lose nothing), or `unknown` (the ingest asks the store
 * whether it answers at all before it decides).
 *
 * PostgreSQL says it with SQLSTATE classes; SQLite (node-sqlite3-wasm) only with its message.
 */
import { CONTROL_CHARS } from '../../protocol/schemas.ts';

export type StoreFailure = 'permanent' | 'transient' | 'unknown';

/** SQLSTATE classes about the data of one statement: bad value, constraint, limit exceeded. */
const PG_PERMANENT_CLASSES = new Set(['22', '23', '54']);
/**
 * Connection (08), rollback (40: serialization, deadlock), resources (53), operator (57: shutdown),
 * system (58), object state (55: lock not available), and missing objects (3F schema, 42P01
 * table: a schema dropped under a running service is an outage of the store, not bad data).
 */
const PG_TRANSIENT_CLASSES = new Set(['08', '40', '53', '55', '57', '58', '3F']);
const PG_TRANSIENT_CODES = new Set(['42P01']);

const NET_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'EHOSTUNREACH', 'ENETUNREACH', 'EAI_AGAIN', 'ENOTFOUND']);

const SQLITE_TRANSIENT = /database is locked|database table is locked|disk I\/O error|database or disk is full|unable to open database|attempt to write a readonly database|out of memory|database is closed/i;
const SQLITE_PERMANENT = /constraint failed|string or blob too big|datatype mismatch|too many SQL variables|Unsupported type for binding/i;
/** pg-pool and pg-protocol messages when the server or the network went away. */
const PG_CONNECTION = /Connection terminated|connection timeout|timeout exceeded when trying to connect|Client has encountered a connection error|server closed the connection/i;

export function classifyStoreError(err: unknown): StoreFailure {
  const e = err as { code?: unknown; message?: unknown; name?: unknown } | null;
  const code = typeof e?.code === 'string' ? e.code : '';
  const message = typeof e?.message === 'string' ? e.message : String(err);
  if (/^[0-9A-Z]{5}$/.test(code)) {
    const cls = code.slice(0, 2);
    if (PG_PERMANENT_CLASSES.has(cls)) return 'permanent';
    if (PG_TRANSIENT_CLASSES.has(cls) || PG_TRANSIENT_CODES.has(code)) return 'transient';
    return 'unknown';
  }
  if (NET_CODES.has(code) || PG_CONNECTION.test(message)) return 'transient';
  if (SQLITE_TRANSIENT.test(message)) return 'transient';
  if (SQLITE_PERMANENT.test(message)) return 'permanent';
  // Our own code failing on this message's values (a TypeError, a RangeError) fails the same way
  // every time: retrying cannot help.
  if (err instanceof TypeError || err instanceof RangeError) return 'permanent';
  return 'unknown';
}

/** The error as one line for a log or a dead-letter row: no control characters, bounded. */
export function describeStoreError(err: unknown): string {
  const e = err as { code?: unknown; message?: unknown } | null;
  const code = typeof e?.code === 'string' ? `${e.code}: ` : '';
  const message = typeof e?.message === 'string' ? e.message : String(err);
  return printable(`${code}${message}`, 500);
}

const CONTROL_ALL = new RegExp(CONTROL_CHARS.source, 'g');

/** Control characters as spaces, at most `max` characters: safe to store and to log. */
export function printable(s: string, max: number): string {
  return s.replace(CONTROL_ALL, ' ').slice(0, max);
}
