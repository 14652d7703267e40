/**
 * Config reload without a restart: the file is read and validated exactly as at start-up (a bad
 * file is refused naming the key, and nothing changes); keys that can change in place are
 * applied, the others are reported as needing a restart and keep their running values.
 */
import { isDeepStrictEqual } from 'node:util';
import type { MirrorConfig } from '../config/schema.ts';
import type { Logger } from '../core/logger.ts';
import type { ReloadAnswer } from './protocol.ts';

/**
 * Keys (or whole sections) the daemon applies in place: the log level, the shopper idle timeout,
 * JPEG quality and the pinned try-on shade. Everything else (ports, source, models, broker...)
 * is wired into running parts at start-up and needs a restart.
 */
export const HOT_KEYS = ['logLevel', 'session.idleTimeoutMs', 'encode.quality', 'tryon'] as const;

/** Dotted paths of the leaves (or hot sections) that differ between two configs. */
export function changedKeys(before: unknown, after: unknown, prefix = ''): string[] {
  if (isDeepStrictEqual(before, after)) return [];
  const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
  if (!isObject(before) || !isObject(after) || (HOT_KEYS as readonly string[]).includes(prefix)) return [prefix];
  const keys = new Set([...Object.keys(before), ...Object.keys(after)]);
  return [...keys].flatMap((key) => changedKeys(before[key], after[key], prefix ? `${prefix}.${key}` : key));
}

const isHot = (key: string): boolean => (HOT_KEYS as readonly string[]).includes(key);

function getPath(obj: unknown, key: string): unknown {
  return key.split('.').reduce<unknown>((node, part) => (node as Record<string, unknown> | undefined)?.[part], obj);
}

function setPath(obj: Record<string, unknown>, key: string, value: unknown): void {
  const parts = key.split('.');
  let node = obj;
  for (const part of parts.slice(0, -1)) node = node[part] as Record<string, unknown>;
  if (value === undefined) delete node[parts[parts.length - 1]];
  else node[parts[parts.length - 1]] = value;
}

export interface ReloaderOptions {
  /** Reads and validates the config as start-up does; throws a MirrorError naming the bad key. */
  load: () => MirrorConfig;
  running: MirrorConfig;
  /** Applies a config whose hot keys changed (the others are the running values). */
  apply: (next: MirrorConfig) => void;
  logger: Logger;
}

export function createReloader(options: ReloaderOptions): () => ReloadAnswer {
  let running = options.running;
  return () => {
    let next: MirrorConfig;
    try {
      next = options.load();
    } catch (err) {
      options.logger.warn({ err: (err as Error).message }, 'config reload refused; nothing changed');
      return { ok: false, error: (err as Error).message };
    }
    const changed = changedKeys(running, next);
    const applied = changed.filter(isHot);
    const restartRequired = changed.filter((key) => !isHot(key));
    if (applied.length > 0) {
      const merged = structuredClone(running) as Record<string, unknown>;
      for (const key of applied) setPath(merged, key, structuredClone(getPath(next, key)));
      options.apply(merged as MirrorConfig);
      running = merged as MirrorConfig;
    }
    options.logger.info({ applied, restartRequired }, 'config reloaded');
    return { ok: true, applied, restartRequired };
  };
}
