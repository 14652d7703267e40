/**
 * The `advisor` event from the REAL daemon (child process, real models, real Mosquitto) to a real
 * socket.io kiosk, on a clip where the shopper is in front of the mirror for 2.5 s and away for 2 s,
 * looped: nothing before a face has been seen for a second, `null` when the shopper leaves; the
 * reading comes from the camera's pixels, not the try-on render (a deep foundation on the face does
 * not change it); privacy: the tone band and undertone ride on product.tried only when the config
 * enables it, and the reading is wiped when the session ends on idle.
 */
import { copyFileSync, mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { channelFilter } from '../../fleet/protocol/topics.ts';
import { startMosquitto, type TestBroker } from '../../fleet/sim/broker.ts';
import { toneBandOf } from '../../device/advisor/trends.ts';
import type { AdvisorEventMessage, AdvisorMessage } from '../../device/transport/events.ts';
import { startDaemon, type RunningDaemon } from '../helpers/daemon.ts';
import { connectKiosk, type TryOnKiosk } from '../helpers/tryon-kiosk.ts';
import { until } from '../helpers/until.ts';
import { subscribe, type Subscriber } from '../telemetry/support.ts';
import { demoClipFrames } from './support.ts';

const FACE_FRAMES = 75;
const AWAY_FRAMES = 60;
const DEEP_FOUNDATION = { productId: 'northlight-second-skin', shadeId: '120c' };
const LIPSTICK = { productId: 'velour-velvet-matte', shadeId: 'classic-red' };

/** Demo frames 1-75 (2.5 s at 30 fps), then 60 frames of an empty grey room (2 s). */
async function comeAndGoClip(): Promise<string> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'advisor-clip-'));
  demoClipFrames()
    .slice(0, FACE_FRAMES)
    .forEach((file, i) => copyFileSync(file, path.join(dir, `a-${String(i).padStart(4, '0')}.jpg`)));
  const meta = await sharp(demoClipFrames()[0]).metadata();
  const grey = await sharp({ create: { width: meta.width!, height: meta.height!, channels: 3, background: { r: 118, g: 112, b: 106 } } }).jpeg().toBuffer();
  for (let i = 0; i < AWAY_FRAMES; i++) writeFileSync(path.join(dir, `b-${String(i).padStart(4, '0')}.jpg`), grey);
  return dir;
}

function writeConfig(config: object): string {
  const file = path.join(mkdtempSync(path.join(os.tmpdir(), 'mirror-config-')), 'mirror.json');
  writeFileSync(file, JSON.stringify(config));
  return file;
}

interface Watched {
  kiosk: TryOnKiosk;
  /** Every frame's capture time and whether it had a face. */
  frames: Array<{ capturedAt: number; face: boolean }>;
  advisor: Array<{ at: number; message: AdvisorEventMessage }>;
}

async function watch(url: string): Promise<Watched> {
  const kiosk = await connectKiosk(url);
  const watched: Watched = { kiosk, frames: [], advisor: [] };
  kiosk.socket.on('frame', (f) => watched.frames.push({ capturedAt: f.capturedAt, face: f.faces.length > 0 }));
  kiosk.socket.on('advisor', (message) => watched.advisor.push({ at: Date.now(), message }));
  return watched;
}

/**
 * Capture time of the first frame of the face run that `at` (ms) falls in (a face frame right after
 * a frame without one), or NaN when that run began before this kiosk saw its first frame.
 */
function faceRunStart(w: Watched, at: number): number {
  const before = w.frames.filter((f) => f.capturedAt <= at);
  let start = NaN;
  for (let i = 1; i < before.length; i++) if (before[i].face && !before[i - 1].face) start = before[i].capturedAt;
  return start;
}

const productTried = (sub: Subscriber) =>
  sub.messages.map((m) => m.json as { type?: string; data?: Record<string, unknown> }).filter((m) => m?.type === 'product.tried').map((m) => m.data!);

const health = async (d: RunningDaemon) => (await (await fetch(`${d.url}/healthz`)).json()) as { advisor: { reading: boolean; heldFrames: number; analysedFrames: number; meanAnalysisMs: number } };

describe('the advisor event from the real daemon', () => {
  let broker: TestBroker;
  let shared: { daemon: RunningDaemon; events: Subscriber; w: Watched };
  let local: { daemon: RunningDaemon; events: Subscriber; w: Watched };

  beforeAll(async () => {
    broker = await startMosquitto();
    const clip = await comeAndGoClip();
    const start = async (addr: { storeId: string; deviceId: string }, extra: object) => {
      const events = await subscribe(broker.url, channelFilter('events', addr));
      const daemon = await startDaemon({ env: { MIRROR_CONFIG: writeConfig({ mqtt: { url: broker.url, ...addr }, source: `clip:${clip}`, ...extra }) }, timeoutMs: 180_000 });
      return { daemon, events, w: await watch(daemon.url) };
    };
    // The retailer shares the tone band; the shopper leaves after 1 s without a face.
    shared = await start({ storeId: 'advisor-store', deviceId: 'advisor-shared' }, { advisor: { shareToneWithEvents: true, leaveMs: 1000 } });
    // Default privacy; the reading outlives a short absence, but not the session (idle after 1 s).
    local = await start({ storeId: 'advisor-store', deviceId: 'advisor-local' }, { advisor: { leaveMs: 60_000 }, session: { idleTimeoutMs: 1000 } });
  }, 400_000);
  afterAll(async () => {
    for (const d of [shared, local]) {
      d?.w.kiosk.close();
      await d?.daemon.stop();
      await d?.events.close();
    }
    await broker?.stop();
  });

  it('nothing before a face has been seen for 1 s; null when the shopper leaves; a reading again when they return', async () => {
    const { w } = shared;
    await until(() => w.advisor.filter((a) => a.message === null).length >= 1 && w.advisor.filter((a) => a.message !== null).length >= 2 || undefined, { timeoutMs: 120_000, what: 'reading, null, reading' });
    const first = w.advisor.findIndex((a) => a.message !== null);
    const timed = w.advisor.filter((x) => x.message !== null).map((a) => a.at - faceRunStart(w, a.at)).filter((ms) => !Number.isNaN(ms));
    console.log(`advisor readings ${timed.map((ms) => ms.toFixed(0)).join(', ')} ms after their face run's first frame was captured`);
    expect(timed.length).toBeGreaterThan(0);
    for (const since of timed) expect(since).toBeGreaterThanOrEqual(1000);
    const left = w.advisor.find((a, i) => i > first && a.message === null)!;
    const lastFace = w.frames.filter((f) => f.face && f.capturedAt < left.at).at(-1)!.capturedAt;
    console.log(`advisor null ${(left.at - lastFace).toFixed(0)} ms after the last frame with a face`);
    expect(left.at - lastFace).toBeGreaterThanOrEqual(1000);
    expect(left.at - lastFace).toBeLessThan(4000);
    const reading = w.advisor[first].message as AdvisorMessage;
    expect(reading.monk).toBeGreaterThanOrEqual(1);
    expect(reading.matches).toHaveLength(6);
    expect(reading.recommendations.length).toBeGreaterThan(0);
    const h = await health(shared.daemon);
    console.log(`healthz advisor: ${JSON.stringify(h.advisor)}`);
    expect(h.advisor.analysedFrames).toBeGreaterThan(0);
  }, 180_000);

  it('reads the camera, not the render: a deep foundation on the face leaves the reading as it was; the tone band rides on product.tried', async () => {
    const { w, events } = shared;
    const before = w.advisor.find((a) => a.message !== null)!.message as AdvisorMessage;
    // Choose while a reading is on screen (the tone band is attached only then).
    await until(() => (w.advisor.at(-1)?.message ? true : undefined), { timeoutMs: 60_000, what: 'a reading on screen' });
    expect(await w.kiosk.send('tryon:set', { ...DEEP_FOUNDATION, intensity: 1 })).toMatchObject({ ok: true });
    const setAt = Date.now();
    const painted = await w.kiosk.frameAfter(setAt, (f) => f.applied.includes(DEEP_FOUNDATION.productId));
    expect(painted.applied).toContain(DEEP_FOUNDATION.productId);
    // The next reading made entirely from frames with the foundation on: after the shopper left and came back.
    const nullAt = (await until(() => w.advisor.find((a) => a.at > setAt && a.message === null), { timeoutMs: 60_000, what: 'the shopper leaves' })).at;
    const after = (await until(() => w.advisor.find((a) => a.at > nullAt && a.message !== null), { timeoutMs: 60_000, what: 'the shopper returns' })).message as AdvisorMessage;
    console.log(`bare: MST ${before.monk} ITA ${before.ita} ${before.undertone}; with the deep foundation painted: MST ${after.monk} ITA ${after.ita} ${after.undertone}`);
    expect(after.monk).toBe(before.monk);
    expect(after.undertone).toBe(before.undertone);
    expect(Math.abs(after.ita - before.ita)).toBeLessThan(4);
    const tried = await until(() => productTried(events).find((d) => d.productId === DEEP_FOUNDATION.productId), { timeoutMs: 30_000, what: 'product.tried' });
    expect(tried).toMatchObject({ toneBand: toneBandOf(before.monk), undertone: before.undertone });
    expect(Object.keys(tried).sort()).toEqual(['productId', 'sessionId', 'shadeId', 'toneBand', 'undertone']);
  }, 240_000);

  it('by default nothing of the reading leaves with product.tried, and the session ending on idle wipes the reading', async () => {
    const { w, events, daemon } = local;
    await until(() => (w.advisor.at(-1)?.message ? true : undefined), { timeoutMs: 120_000, what: 'a reading on screen' });
    expect((await health(daemon)).advisor.heldFrames).toBeGreaterThan(0);
    expect(await w.kiosk.send('tryon:set', LIPSTICK)).toMatchObject({ ok: true });
    const tried = await until(() => productTried(events).find((d) => d.productId === LIPSTICK.productId), { timeoutMs: 30_000, what: 'product.tried' });
    expect(Object.keys(tried).sort()).toEqual(['productId', 'sessionId', 'shadeId']);
    // leaveMs is 60 s here: only the session's idle end (1 s without a face) can wipe the reading.
    const shownAt = Date.now();
    const ended = await events.waitFor((m) => (m.json as { type?: string; ts?: number }).type === 'session.end' && (m.json as { ts: number }).ts > shownAt, 60_000, 'session.end');
    const wiped = await until(() => w.advisor.find((a) => a.at > shownAt && a.message === null), { timeoutMs: 10_000, what: 'null after the session ended' });
    expect((ended.json as { data: { reason: string } }).data.reason).toBe('idle');
    expect(wiped.message).toBeNull();
    const h = await health(daemon);
    // The face may be back already (the clip loops): then the held frames are the new shopper's few.
    console.log(`after the idle end: ${JSON.stringify(h.advisor)}`);
    expect(h.advisor.heldFrames).toBeLessThan(15);
  }, 240_000);
});
