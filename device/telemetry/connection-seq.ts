/**
 * The MQTT `connectionSeq`: one number per connection attempt that only ever grows, across
 * restarts and across a lost state dir, because the fleet ignores a status whose sequence is not
 * newer than the last it applied (the stale-will rule, fleet/protocol/schemas.ts shouldApplyStatus).
 *
 * Kept in `{stateDir}/mqtt-connection-seq`. When that file is missing (first boot, or a state dir
 * that was wiped or replaced), unreadable or corrupt, the counter starts from the wall clock in
 * ms: larger than any count an earlier life of this mirror reached by incrementing (one per
 * connection attempt, and attempts are at least core/backoff.ts MIN_DELAY_MS = 100 ms apart, so
 * the clock outruns the count a hundredfold), so the fleet accepts the new birth instead of showing the mirror offline
 * forever, and a late will of the old connection still loses. A write that fails is logged and
 * the counter carries on in memory.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { writeFileAtomic } from '../core/fs-atomic.ts';
import { errorFields, type TelemetryLogger } from './logger.ts';

export const CONNECTION_SEQ_FILE = 'mqtt-connection-seq';

export interface ConnectionSeqStore {
  /** The next sequence number, persisted (atomically) before it is returned. */
  next(): Promise<number>;
}

export function createConnectionSeqStore(stateDir: string, logger: TelemetryLogger, now: () => number = Date.now): ConnectionSeqStore {
  const file = path.join(stateDir, CONNECTION_SEQ_FILE);
  let last: number | undefined;

  async function load(): Promise<number> {
    let text: string;
    try {
      text = await readFile(file, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
        logger.info({ file }, 'no connectionSeq file (first boot or a new state dir); starting from the clock');
      } else {
        logger.warn({ file, ...errorFields(err) }, 'connectionSeq file unreadable; continuing from the clock');
      }
      return now();
    }
    const n = Number(text.trim());
    if (text.trim() !== '' && Number.isSafeInteger(n) && n >= 0) return n;
    logger.warn({ file }, 'connectionSeq file corrupt; continuing from the clock');
    return now();
  }

  return {
    async next() {
      last ??= await load();
      last += 1;
      try {
        await writeFileAtomic(file, `${last}\n`);
      } catch (err) {
        logger.error({ file, ...errorFields(err) }, 'could not persist connectionSeq; continuing in memory');
      }
      return last;
    },
  };
}
