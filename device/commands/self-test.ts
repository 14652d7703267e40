/**
 * The `self-test` command: four checks, each pass/fail with a one-line detail and its time.
 *  - models: the serving face detector runs on a golden demo frame and finds the face in it
 *    (load and inference both exercised; the backend is named);
 *  - camera: the frame source delivers: processed frames advance within a few seconds;
 *  - disk: the state directory's filesystem has room (updates stage there, the outbox grows there);
 *  - broker: the telemetry agent is connected (the command came in over it, but the result and
 *    telemetry go out over it too, and a half-open link shows here).
 * A check that throws fails with the error; the command itself never throws.
 */
import { statfs } from 'node:fs/promises';
import type { SelfTestCheck } from '../../fleet/protocol/commands.ts';
import type { RgbImage } from '../vision/image-ops.ts';

export const MIN_FREE_BYTES = 200 * 1024 * 1024;

export interface SelfTestParts {
  /** The serving detector (the daemon's vision stage). */
  detect: (image: RgbImage) => Promise<unknown[]>;
  detectorBackend: () => string | undefined;
  /** A golden frame with one face in it. */
  goldenFrame: () => Promise<RgbImage>;
  processedFrames: () => number;
  stateDir: string;
  brokerConnected: () => boolean;
  /** How long the camera check waits for a new frame. */
  frameWaitMs?: number;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function timed(name: SelfTestCheck['name'], fn: () => Promise<{ ok: boolean; detail: string }>): Promise<SelfTestCheck> {
  const t0 = performance.now();
  let r: { ok: boolean; detail: string };
  try {
    r = await fn();
  } catch (err) {
    r = { ok: false, detail: `error: ${(err as Error).message}` };
  }
  return { name, ok: r.ok, detail: r.detail.slice(0, 512), ms: Math.round((performance.now() - t0) * 10) / 10 };
}

export async function runSelfTest(p: SelfTestParts): Promise<{ passed: boolean; checks: SelfTestCheck[] }> {
  const checks = [
    await timed('models', async () => {
      const faces = await p.detect(await p.goldenFrame());
      const backend = p.detectorBackend() ?? 'unknown backend';
      return { ok: faces.length >= 1, detail: `face-detector on ${backend}: ${faces.length} face(s) on the golden frame` };
    }),
    await timed('camera', async () => {
      const before = p.processedFrames();
      const deadline = performance.now() + (p.frameWaitMs ?? 3000);
      while (performance.now() < deadline) {
        if (p.processedFrames() > before) return { ok: true, detail: `frames flowing (${p.processedFrames()} processed)` };
        await sleep(50);
      }
      return { ok: false, detail: `no new frame in ${p.frameWaitMs ?? 3000} ms (${before} processed)` };
    }),
    await timed('disk', async () => {
      const s = await statfs(p.stateDir);
      const free = s.bavail * s.bsize;
      const mib = (b: number) => `${Math.round(b / 1024 / 1024)} MiB`;
      return { ok: free >= MIN_FREE_BYTES, detail: `${mib(free)} free of ${mib(s.blocks * s.bsize)} (need ${mib(MIN_FREE_BYTES)})` };
    }),
    await timed('broker', async () => {
      const up = p.brokerConnected();
      return { ok: up, detail: up ? 'connected' : 'not connected' };
    }),
  ];
  return { passed: checks.every((c) => c.ok), checks };
}
