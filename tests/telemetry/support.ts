/**
 * Shared pieces for the telemetry suites: a recording subscriber, a recording logger, a TCP proxy
 * that can cut connections like a failing network, and temp state dirs.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import mqtt, { type MqttClient } from 'mqtt';
import type { TelemetryLogger } from '../../device/telemetry/logger.ts';

export interface Received {
  topic: string;
  payload: Buffer;
  retain: boolean;
  json: unknown;
}

export interface Subscriber {
  messages: Received[];
  /** Resolves with the first message (already received or future) that matches. */
  waitFor(match: (m: Received) => boolean, timeoutMs?: number, what?: string): Promise<Received>;
  close(): Promise<void>;
}

function tryJson(b: Buffer): unknown {
  try {
    return JSON.parse(b.toString('utf8'));
  } catch {
    return undefined;
  }
}

export async function subscribe(url: string, filter: string, login: { username?: string; password?: string } = {}): Promise<Subscriber> {
  const client: MqttClient = await mqtt.connectAsync(url, {
    clientId: `test-sub-${Math.random().toString(36).slice(2, 10)}`,
    reconnectPeriod: 0,
    protocolVersion: 4,
    ...login,
  });
  const messages: Received[] = [];
  const waiters = new Set<() => void>();
  client.on('message', (topic, payload, packet) => {
    messages.push({ topic, payload, retain: packet.retain, json: tryJson(payload) });
    for (const w of [...waiters]) w();
  });
  client.on('error', () => {});
  await client.subscribeAsync(filter, { qos: 1 });
  return {
    messages,
    waitFor(match, timeoutMs = 10_000, what = 'message') {
      return new Promise((resolve, reject) => {
        const check = (): boolean => {
          const m = messages.find(match);
          if (m) {
            waiters.delete(check);
            clearTimeout(timer);
            resolve(m);
            return true;
          }
          return false;
        };
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(
            new Error(
              `timed out after ${timeoutMs} ms waiting for ${what}; got ${messages.length}: ` +
                messages.map((m) => `${m.topic} ${m.payload.toString().slice(0, 160)}`).join(' | '),
            ),
          );
        }, timeoutMs);
        if (!check()) waiters.add(check);
      });
    },
    async close() {
      await client.endAsync(true);
    },
  };
}

export interface LogLine {
  level: 'info' | 'warn' | 'error';
  obj: object;
  msg?: string;
}

export function recordingLogger(): TelemetryLogger & { lines: LogLine[] } {
  const lines: LogLine[] = [];
  const rec = (level: LogLine['level']) => (obj: object, msg?: string) => {
    lines.push({ level, obj, msg });
    if (process.env.TEST_LOG) console.log(level, msg, JSON.stringify(obj));
  };
  return { lines, info: rec('info'), warn: rec('warn'), error: rec('error') };
}

export async function tempDir(prefix = 'mirror-telemetry-'): Promise<{ dir: string; remove(): Promise<void> }> {
  const dir = await mkdtemp(path.join(os.tmpdir(), prefix));
  return { dir, remove: () => rm(dir, { recursive: true, force: true }) };
}

export function uniqueId(prefix: string): string {
  return `${prefix}-${Math.random().toString(36).slice(2, 10)}`;
}

export { startTcpProxy, type TcpProxy } from '../helpers/tcp-proxy.ts';

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
