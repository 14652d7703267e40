/**
 * Degradation ladder, telemetry's rungs: the disk fills up (a real 1 MiB tmpfs, filled to ENOSPC)
 * and the broker is unreachable. The outbox stops growing on disk, keeps what it can in memory
 * (bounded), never throws into the mirror, and the agent's health names both reasons; when space
 * comes back, the kept records are committed.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createTelemetryAgent } from '../../device/telemetry/mqtt-agent.ts';
import { Outbox } from '../../device/telemetry/outbox.ts';
import { recordingLogger, sleep, tempDir } from './support.ts';

/** A 1 MiB tmpfs when this process may mount one (root, CAP_SYS_ADMIN; CI runs as root). */
function tinyDisk(): string | undefined {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'mirror-tiny-disk-'));
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', dir], { stdio: 'ignore' });
    return dir;
  } catch {
    rmSync(dir, { recursive: true, force: true });
    return undefined;
  }
}

const disk = tinyDisk();
afterAll(() => {
  if (disk === undefined) return;
  execFileSync('umount', [disk]);
  rmSync(disk, { recursive: true, force: true });
});

function fillUp(dir: string): string {
  const filler = path.join(dir, 'filler');
  const chunk = Buffer.alloc(16 * 1024, 1);
  let data = Buffer.alloc(0);
  for (;;) {
    try {
      data = Buffer.concat([data, chunk]);
      writeFileSync(filler, data);
    } catch {
      return filler; // ENOSPC: the disk is full, the filler holds what fitted
    }
  }
}

describe.skipIf(disk === undefined)('disk full', () => {
  it('disk full and broker unreachable: the outbox stops growing, the mirror keeps running, health names both; space back → committed', async () => {
    const state = await tempDir();
    const logger = recordingLogger();
    const outbox = new Outbox({ file: path.join(disk!, 'outbox.sqlite'), maxBytes: 256 * 1024, logger });
    const agent = createTelemetryAgent({
      url: 'mqtt://127.0.0.1:1',
      storeId: 's1',
      deviceId: 'd1',
      firmwareVersion: '1',
      intervalMs: 60_000,
      stateDir: state.dir,
      snapshot: () => ({ fps: 0, latencyP50Ms: 0, latencyP95Ms: 0, droppedFrames: 0, processedFrames: 0, backends: {}, models: {} }),
      logger,
      outbox,
      systemMetrics: false,
      startTimeoutMs: 2_000,
      reconnect: { initialMs: 60_000, maxMs: 60_000 },
    });
    try {
      await agent.start();
      const filler = fillUp(disk!);
      for (let i = 0; i < 400; i++) expect(agent.enqueue('event', 'mirror/v1/s1/d1/events', Buffer.alloc(2_000, i % 256))).toBe(true);
      outbox.flush();
      for (let i = 0; i < 200 && agent.health().brokerError === undefined; i++) await sleep(50);
      const h = agent.health();
      expect(h.degraded).toEqual(expect.arrayContaining(['broker-unreachable', 'outbox-write-failing']));
      expect(h.brokerError, JSON.stringify(h)).toBeDefined();
      expect(outbox.health().writeError).toMatch(/full|space|disk|I\/O/i);
      // Bounded in memory while the disk is full: the oldest went, counted.
      expect(h.outbox!.pendingBytes).toBeLessThanOrEqual(256 * 1024);
      expect(h.outbox!.dropped.event).toBeGreaterThan(0);
      expect(logger.lines.some((l) => l.level === 'error' && /outbox commit failed/.test(l.msg ?? ''))).toBe(true);

      rmSync(filler);
      const { pending, unsaved } = outbox.stats();
      expect(unsaved).toBeGreaterThan(0); // kept in memory while the disk was full
      for (let i = 0; i < 100 && outbox.health().writeError !== undefined; i++) await sleep(50);
      expect(outbox.health().writeError).toBeUndefined();
      expect(agent.health().degraded).not.toContain('outbox-write-failing');
      expect(outbox.after(0, 10_000)).toHaveLength(pending + unsaved);
    } finally {
      await agent.stop();
      outbox.close();
      await state.remove();
    }
  }, 60_000);
});
