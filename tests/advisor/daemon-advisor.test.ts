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
const DEEP_FOUNDATION = 'northlight-second-skin';
/** Deep shades, one per attempt (product.tried is sent once per product and shade in a session). */
const DEEP_SHADES = ['120c', '110w', '100n'];
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
  frames: Array<{ capturedAt: number; face: boolean; seq: number }>;
  /** `seq`: arrival order of frames and advisor messages together (one socket: the order sent). */
  advisor: Array<{ at: number; message: AdvisorEventMessage; seq: number }>;
}

async function watch(url: string): Promise<Watched> {
  const kiosk = await connectKiosk(url);
  const watched: Watched = { kiosk, frames: [], advisor: [] };
  let seq = 0;
  kiosk.socket.on('frame', (f) => watched.frames.push({ capturedAt: f.capturedAt, face: f.faces.length > 0, seq: seq++ }));
  kiosk.socket.on('advisor', (message) => watched.advisor.push({ at: Date.now(), message, seq: seq++ }));
  return watched;
}

/**
 * The daemon's `faceSince` is where a face really began: most of the frames this kiosk got that were
 * captured in the second after it show a face. (The kiosk gets only some of the daemon's frames, so
 * its own first face frame may come after the daemon's: the face time is the daemon's.)
 */
function facesAfter(w: Watched, faceSince: number): { frames: number; withFace: number } {
  const after = w.frames.filter((f) => f.capturedAt >= faceSince && f.capturedAt < faceSince + 1000);
  return { frames: after.length, withFace: after.filter((f) => f.face).length };
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
    // The retailer shares the tone band; the shopper leaves after 1 s without a face. Every face
    // frame analysed: the minimum of analysed frames is then reached long before the second, so
    // only the settle time holds the reading back (on a loaded machine at 1 in 5 it alone can).
    shared = await start({ storeId: 'advisor-store', deviceId: 'advisor-shared' }, { advisor: { shareToneWithEvents: true, leaveMs: 1000, everyFrames: 1 } });
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
    const readings = w.advisor.filter((x) => x.message !== null).map((a) => ({ at: a.at, faceSince: (a.message as AdvisorMessage).faceSince }));
    console.log(`advisor readings ${readings.map((r) => (r.at - r.faceSince).toFixed(0)).join(', ')} ms after the daemon first saw the face`);
    for (const { at, faceSince } of readings) expect(at - faceSince).toBeGreaterThanOrEqual(1000);
    // Checked where this kiosk was watching already (the first face may predate its connection).
    const watchedFrom = w.frames[0].capturedAt;
    const checked = readings.filter((r) => r.faceSince >= watchedFrom);
    expect(checked.length).toBeGreaterThan(0);
    for (const { faceSince } of checked) {
      const seen = facesAfter(w, faceSince);
      expect(seen.frames).toBeGreaterThan(0);
      expect(seen.withFace * 2).toBeGreaterThan(seen.frames);
    }
    // The daemon decides the null on a frame without a face captured >= leaveMs after the last face.
    // Up to two frames captured BEFORE it may still reach the kiosk after the null: the one in the
    // encoder while the next runs vision (pipeline.ts), and one waiting in the transport for this
    // kiosk's receipt; on a loaded machine that drops frames, one of them can be the last frame
    // with a face. So the first three frames after the null, in capture order, are: maybe such
    // earlier frames with a face, then a run without one that holds the deciding frame or a later
    // one, then maybe the shopper's return. The last of that run is on or after the deciding frame,
    // and the last face is the latest captured before it, whenever it arrived. Capture times, not
    // arrival: a loaded pipeline may deliver the null late.
    const left = w.advisor.find((a, i) => i > first && a.message === null)!;
    const afterNull = w.frames
      .filter((f) => f.seq > left.seq)
      .slice(0, 3)
      .sort((a, b) => a.capturedAt - b.capturedAt);
    const firstAway = afterNull.findIndex((f) => !f.face);
    expect(firstAway, 'a frame without a face among the first three after the null').toBeGreaterThanOrEqual(0);
    const fromAway = afterNull.slice(firstAway);
    const back = fromAway.findIndex((f) => f.face);
    const decidedOn = (back === -1 ? fromAway : fromAway.slice(0, back)).at(-1)!;
    const lastFace = w.frames.filter((f) => f.face && f.capturedAt < decidedOn.capturedAt).reduce((a, b) => (b.capturedAt > a.capturedAt ? b : a));
    const gone = decidedOn.capturedAt - lastFace.capturedAt;
    console.log(`advisor null; the latest of the frames after it captured ${gone.toFixed(0)} ms after the last frame with a face (${afterNull.map((f) => `${(f.capturedAt - lastFace.capturedAt).toFixed(0)}${f.face ? ' face' : ''}`).join(', ')})`);
    expect(decidedOn.face).toBe(false);
    expect(gone).toBeGreaterThanOrEqual(1000);
    expect(gone).toBeLessThan(4000);
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
    // Choose while a reading is on screen (the tone band is attached only then). The shopper may
    // leave between the kiosk seeing the reading and the daemon taking the command: that attempt is
    // told by a null arriving before the command's ack (same socket, in order), and made again.
    let chosen: { shadeId: string; reading: AdvisorMessage; setAt: number } | null = null;
    for (const shadeId of DEEP_SHADES) {
      await until(() => (w.advisor.at(-1)?.message ? true : undefined), { timeoutMs: 60_000, what: 'a reading on screen' });
      const seen = w.advisor.length;
      const reading = w.advisor[seen - 1].message as AdvisorMessage;
      const setAt = Date.now();
      expect(await w.kiosk.send('tryon:set', { productId: DEEP_FOUNDATION, shadeId, intensity: 1 })).toMatchObject({ ok: true });
      if (w.advisor.slice(seen).every((a) => a.message !== null)) {
        chosen = { shadeId, reading, setAt };
        break;
      }
    }
    expect(chosen, 'a reading on screen when the daemon took the command').not.toBeNull();
    const { shadeId, reading, setAt } = chosen!;
    const painted = await w.kiosk.frameAfter(setAt, (f) => f.applied.includes(DEEP_FOUNDATION));
    expect(painted.applied).toContain(DEEP_FOUNDATION);
    // The next reading made entirely from frames with the foundation on: after the shopper left and came back.
    const nullAt = (await until(() => w.advisor.find((a) => a.at > setAt && a.message === null), { timeoutMs: 60_000, what: 'the shopper leaves' })).at;
    const after = (await until(() => w.advisor.find((a) => a.at > nullAt && a.message !== null), { timeoutMs: 60_000, what: 'the shopper returns' })).message as AdvisorMessage;
    // Bare readings of earlier visits differ by a few degrees (which frames a loaded pipeline keeps
    // differs per visit); the foundation (ITA° about -60) read even in part would fall far below them.
    const bare = w.advisor.filter((a) => a.at < setAt && a.message !== null).map((a) => (a.message as AdvisorMessage).ita);
    console.log(`bare: MST ${before.monk} ITA ${Math.min(...bare)}..${Math.max(...bare)} ${before.undertone}; with the deep foundation painted: MST ${after.monk} ITA ${after.ita} ${after.undertone}`);
    expect(Math.abs(after.monk - before.monk)).toBeLessThanOrEqual(1);
    expect(after.undertone).toBe(before.undertone);
    expect(after.ita).toBeGreaterThan(Math.min(...bare) - 4);
    expect(after.ita).toBeLessThan(Math.max(...bare) + 4);
    const tried = await until(() => productTried(events).find((d) => d.productId === DEEP_FOUNDATION && d.shadeId === shadeId), { timeoutMs: 30_000, what: 'product.tried' });
    expect(tried).toMatchObject({ toneBand: toneBandOf(reading.monk), undertone: reading.undertone });
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
