/**
 * The shopper's control over socket.io against the REAL daemon (child process, demo clip, real
 * Mosquitto) with real socket.io clients that acknowledge every frame: each command changes
 * `tryon:state`, the frame's `applied` and the pixels on the lips; malformed commands and floods
 * are refused naming the field while frames keep flowing; `product.tried` once per real choice;
 * a saved look round-trips and a tampered one is refused; the selection is wiped on idle.
 */
import { copyFileSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { channelFilter } from '../../fleet/protocol/topics.ts';
import { startMosquitto, type TestBroker } from '../../fleet/sim/broker.ts';
import { DEMO_CLIP } from '../../device/source/index.ts';
import { bundledCatalog } from '../../device/tryon/catalog.ts';
import { repoRoot, startDaemon, type RunningDaemon } from '../helpers/daemon.ts';
import type { FrameMessage } from '../../device/transport/events.ts';
import { connectKiosk, deltaE, lipLab, mouthSplit, type TryOnKiosk } from '../helpers/tryon-kiosk.ts';
import { until } from '../helpers/until.ts';
import { subscribe, type Subscriber } from '../telemetry/support.ts';
import { MALFORMED_TRYON_COMMANDS } from '../fuzz/socket-cases.ts';

const ADDR = { storeId: 'tryon-store', deviceId: 'tryon-mirror' };
const SAVE_URL = 'https://shop.example/look/{lookId}?from=mirror';
const catalog = bundledCatalog();
const RED = { productId: 'velour-velvet-matte', shadeId: 'classic-red' };

function writeConfig(config: object): string {
  const file = path.join(mkdtempSync(path.join(os.tmpdir(), 'mirror-config-')), 'mirror.json');
  writeFileSync(file, JSON.stringify(config));
  return file;
}

const eventsOf = (sub: Subscriber, type: string) =>
  sub.messages.map((m) => m.json as { type?: string; data?: Record<string, unknown> }).filter((m) => m?.type === type);

describe('try-on control over socket.io (real daemon, real Mosquitto)', () => {
  let broker: TestBroker;
  let events: Subscriber;
  let daemon: RunningDaemon;
  let kiosk: TryOnKiosk;
  let other: TryOnKiosk;

  beforeAll(async () => {
    broker = await startMosquitto();
    events = await subscribe(broker.url, channelFilter('events', ADDR));
    // A still shopper (one demo frame, looped): frames differ only by what the daemon paints, so
    // the lips of two frames can be compared pixel for pixel.
    const still = mkdtempSync(path.join(os.tmpdir(), 'mirror-still-'));
    copyFileSync(path.join(DEMO_CLIP, 'frame-0001.jpg'), path.join(still, 'frame-0001.jpg'));
    const config = writeConfig({ mqtt: { url: broker.url, ...ADDR }, source: `clip:${still}`, tryon: { saveUrl: SAVE_URL } });
    daemon = await startDaemon({ env: { MIRROR_CONFIG: config } });
    kiosk = await connectKiosk(daemon.url);
    other = await connectKiosk(daemon.url);
  }, 90_000);
  afterAll(async () => {
    kiosk?.close();
    other?.close();
    await daemon?.stop();
    await events?.close();
    await broker?.stop();
  });

  it('on connect: the catalog, then the state (the catalog default, rendered on the frames and not "tried")', async () => {
    await until(() => kiosk.catalogs.length > 0 && kiosk.states.length > 0 || undefined);
    expect(kiosk.catalogs[0].version).toBe(catalog.version);
    expect(kiosk.catalogs[0].products.map((p) => p.id)).toEqual(catalog.products.map((p) => p.id));
    expect(kiosk.catalogs[0].looks).toHaveLength(catalog.looks.length);
    expect(kiosk.states[0].items).toEqual([{ ...catalog.default!, intensity: 1, category: 'lipstick' }]);
    const frame = await kiosk.frameAfter(Date.now());
    expect(frame.applied).toEqual([catalog.default!.productId]);
    await events.waitFor((m) => (m.json as { type?: string }).type === 'session.start', 30_000, 'session.start');
    // Frames with the default on and a shopper in front: still nothing "tried".
    await kiosk.frameAfter(Date.now() + 500);
    expect(eventsOf(events, 'product.tried')).toEqual([]);
  });

  it('each command round trip changes tryon:state for every kiosk, the frame\'s applied and the lips\' pixels', async () => {
    const artifacts = path.join(repoRoot, 'test-artifacts', 'tryon-control');
    mkdirSync(artifacts, { recursive: true });
    const keep = (name: string, f: FrameMessage) => {
      writeFileSync(path.join(artifacts, `${name}.jpg`), f.image);
      return f;
    };
    const step = async (event: string, payload: unknown) => {
      const answer = await kiosk.send(event, payload);
      expect(answer, `${event} ${JSON.stringify(payload)}`).toMatchObject({ ok: true });
      const at = Date.now();
      // The other kiosk hears the same state.
      await until(() => other.states.find((s) => s.revision === answer.state!.revision), { what: `${event} state on the other kiosk` });
      return { state: answer.state!, at };
    };

    const cleared = await step('tryon:clear', {});
    expect(cleared.state.items).toEqual([]);
    const bareFrame = keep('bare', await kiosk.frameAfter(cleared.at));
    expect(bareFrame.applied).toEqual([]);
    const bare = await lipLab(bareFrame);

    const red = await step('tryon:set', RED);
    expect(red.state.items).toEqual([{ ...RED, intensity: 1, category: 'lipstick' }]);
    expect(red.state.revision).toBe(cleared.state.revision + 1);
    const redFrame = keep('red', await kiosk.frameAfter(red.at));
    expect(redFrame.applied).toEqual([RED.productId]);
    const full = deltaE(bare, await lipLab(redFrame));

    const light = await step('tryon:set', { ...RED, intensity: 0.3 });
    expect(light.state.items[0].intensity).toBe(0.3);
    const lightFrame = keep('light', await kiosk.frameAfter(light.at));
    const partial = deltaE(bare, await lipLab(lightFrame));

    await step('tryon:set', RED);
    const { splitX, split } = mouthSplit(await kiosk.frameAfter(Date.now()));
    const compared = await step('tryon:compare', { split });
    expect(compared.state.compare).toBeCloseTo(split, 10);
    const compareFrame = keep('compare', await kiosk.frameAfter(compared.at));
    // Displayed left = the frame's right: bare there, red on the frame's left of the mouth.
    const bareSide = deltaE(await lipLab(bareFrame, { splitX, keep: 'right' }), await lipLab(compareFrame, { splitX, keep: 'right' }));
    const paintedSide = deltaE(await lipLab(bareFrame, { splitX, keep: 'left' }), await lipLab(compareFrame, { splitX, keep: 'left' }));
    const off = await step('tryon:compare', { split: null });
    expect(off.state.compare).toBeNull();

    const look = await step('tryon:look', { lookId: 'bold-red' });
    expect(look.state.lookId).toBe('bold-red');
    const lookItems = catalog.looks.find((l) => l.id === 'bold-red')!.items;
    expect(look.state.items.map((i) => i.productId).sort()).toEqual(lookItems.map((i) => i.productId).sort());
    const lookFrame = keep('look', await kiosk.frameAfter(look.at));
    expect(lookFrame.applied).toContain(RED.productId);
    for (const id of lookFrame.applied) expect(lookItems.map((i) => i.productId)).toContain(id);

    const removed = await step('tryon:remove', { category: 'lipstick' });
    expect(removed.state.lookId).toBeNull();
    expect(removed.state.items.map((i) => i.category)).not.toContain('lipstick');
    expect((await kiosk.frameAfter(removed.at)).applied).not.toContain(RED.productId);

    console.log(`[tryon] lips ΔE2000 vs bare: classic-red 100 % ${full.toFixed(1)}, 30 % ${partial.toFixed(1)}; compare at the mouth centre: bare side ${bareSide.toFixed(2)}, painted side ${paintedSide.toFixed(1)}`);
    expect(full).toBeGreaterThan(8);
    expect(partial).toBeGreaterThan(1.5);
    expect(partial).toBeLessThan(full * 0.7);
    expect(bareSide).toBeLessThan(2);
    expect(paintedSide).toBeGreaterThan(full * 0.6);

    // product.tried: once per product and shade chosen (classic-red once, although chosen three
    // times and again inside the look), never for the catalog default.
    const expected = [`${RED.productId}/${RED.shadeId}`, ...lookItems.filter((i) => i.productId !== RED.productId).map((i) => `${i.productId}/${i.shadeId}`)];
    const tried = () => eventsOf(events, 'product.tried').map((e) => `${e.data!.productId}/${e.data!.shadeId}`);
    await until(() => tried().length >= expected.length || undefined, { what: 'product.tried events' });
    await kiosk.frameAfter(Date.now() + 300);
    expect(tried().sort()).toEqual(expected.sort());
  });

  it('save my look: the id reproduces the same tryon:state, the URL follows the config, look.saved reaches the broker; a tampered id is refused naming lookId', async () => {
    await kiosk.send('tryon:look', { lookId: 'evening-glam' });
    await kiosk.send('tryon:set', { productId: 'velour-cheek-tint', shadeId: 'berry-flush', intensity: 0.45 });
    const before = (await kiosk.send('tryon:compare', { split: null })).state!;
    const saved = await kiosk.send('look:save', {});
    expect(saved).toMatchObject({ ok: true, lookId: expect.stringMatching(/^1\.[A-Za-z0-9_-]+$/) });
    expect(saved.url).toBe(SAVE_URL.replace('{lookId}', saved.lookId!));
    expect(saved.lookId!.length).toBeLessThan(130);

    await kiosk.send('tryon:clear', {});
    const restored = await kiosk.send('tryon:look', { lookId: saved.lookId });
    expect(restored.ok).toBe(true);
    expect(restored.state!.items).toEqual(before.items);
    expect(restored.state!.lookId).toBe(saved.lookId);
    expect((await kiosk.frameAfter(Date.now())).applied).toContain('lumiere-rouge-satin');

    const tampered = saved.lookId!.slice(0, -6) + (saved.lookId!.at(-6) === 'x' ? 'y' : 'x') + saved.lookId!.slice(-5);
    const refused = await kiosk.send('tryon:look', { lookId: tampered });
    expect(refused).toMatchObject({ ok: false, error: { field: 'lookId' } });
    const emptyRefused = await (async () => {
      await kiosk.send('tryon:clear', {});
      return kiosk.send('look:save', {});
    })();
    expect(emptyRefused).toMatchObject({ ok: false, error: { field: 'items' } });

    const event = await events.waitFor((m) => (m.json as { type?: string }).type === 'look.saved', 20_000, 'look.saved');
    expect((event.json as { data: object }).data).toMatchObject({ lookId: saved.lookId, products: before.items.length });
    expect(event.payload.toString()).not.toMatch(/landmark|image|box/);
  });

  it(`${MALFORMED_TRYON_COMMANDS.length} malformed commands are each refused naming the field; the state and the render stay; frames keep flowing`, async () => {
    await kiosk.send('tryon:set', RED);
    const state = (await kiosk.send('tryon:compare', { split: null })).state!;
    const framesBefore = (await other.frameAfter(0)).id;
    const answers: string[] = [];
    for (const c of MALFORMED_TRYON_COMMANDS) {
      const answer = await kiosk.send(c.event, c.payload);
      answers.push(`${c.event} ${c.how}: ${answer.ok ? 'ACCEPTED' : answer.error!.field}`);
      expect(answer, `${c.event} ${c.how}`).toMatchObject({ ok: false, error: { field: c.field, message: expect.any(String) } });
      await new Promise((r) => setTimeout(r, 70)); // a shopper's pace: no rate refusal here
    }
    // Without an ack callback, and with a non-object payload: nothing thrown, nothing changed.
    const raw = kiosk.socket as unknown as { emit(event: string, ...args: unknown[]): void };
    raw.emit('tryon:set', { productId: 'no-such-product' });
    raw.emit('tryon:clear', 'now');
    raw.emit('tryon:compare');
    const after = await kiosk.send('tryon:remove', { productId: 'kora-glass-gloss' }); // not on: no change
    expect(after.state).toEqual(state);
    const frame = await kiosk.frameAfter(Date.now());
    expect(frame.applied).toEqual([RED.productId]);
    expect(other.frames.at(-1)!.id).toBeGreaterThan(framesBefore);
    expect(daemon.child.exitCode).toBeNull();
    const logged = daemon.logs.filter((l) => l.msg === 'socket event rejected' && String(l.event).startsWith('tryon:'));
    expect(logged.length).toBeGreaterThan(0);
    for (const l of logged) expect(l.field).toEqual(expect.any(String));
  });

  it('a flood of commands from one client is refused with field (rate) without stopping frames; a calm client is not affected', async () => {
    const flood = await connectKiosk(daemon.url);
    const framesBefore = (await other.frameAfter(0)).id;
    const answers = await Promise.all(Array.from({ length: 300 }, (_, i) => flood.send('tryon:compare', { split: (i % 10) / 10 })));
    const refused = answers.filter((a) => !a.ok);
    expect(refused.length).toBeGreaterThan(200);
    for (const r of refused) expect(r.error!.field).toBe('(rate)');
    // The other kiosk kept getting frames and may still command.
    await until(() => other.frames.at(-1)!.id > framesBefore + 3 || undefined, { what: 'frames during the flood' });
    expect(await other.send('tryon:compare', { split: null })).toMatchObject({ ok: true });
    // The flooder is served again once it calms down.
    await new Promise((r) => setTimeout(r, 1000));
    expect(await flood.send('tryon:compare', { split: null })).toMatchObject({ ok: true });
    flood.close();
  });
});

describe('the selection is wiped when the shopper leaves (real daemon, short idle timeout)', () => {
  let daemon: RunningDaemon;
  let kiosk: TryOnKiosk;
  beforeAll(async () => {
    // 0.5 s of the shopper, then 1.5 s of an empty room, looped: the session ends every loop.
    const clip = mkdtempSync(path.join(os.tmpdir(), 'mirror-leaving-'));
    mkdirSync(clip, { recursive: true });
    for (let i = 1; i <= 15; i++) copyFileSync(path.join(DEMO_CLIP, `frame-${String(i).padStart(4, '0')}.jpg`), path.join(clip, `frame-${String(i).padStart(4, '0')}.jpg`));
    const empty = await sharp({ create: { width: 1280, height: 720, channels: 3, background: '#6d6a66' } }).jpeg().toBuffer();
    for (let i = 16; i <= 60; i++) writeFileSync(path.join(clip, `frame-${String(i).padStart(4, '0')}.jpg`), empty);
    const config = writeConfig({ mqtt: { embeddedPort: 0 }, source: `clip:${clip}`, session: { idleTimeoutMs: 1000 } });
    daemon = await startDaemon({ env: { MIRROR_CONFIG: config } });
    kiosk = await connectKiosk(daemon.url);
  }, 90_000);
  afterAll(async () => {
    kiosk?.close();
    await daemon?.stop();
  });

  it('a shopper\'s look is gone after the idle timeout: every kiosk gets the initial state, and the frames show it', async () => {
    await kiosk.frameAfter(Date.now());
    const set = await kiosk.send('tryon:look', { lookId: 'bold-red' });
    expect(set.ok).toBe(true);
    const wiped = await until(() => kiosk.states.find((s) => s.revision > set.state!.revision), { timeoutMs: 15_000, what: 'the wiped state' });
    expect(wiped).toMatchObject({ items: [{ ...catalog.default!, intensity: 1, category: 'lipstick' }], lookId: null, compare: null });
    // The next shopper's frames show the initial state, not the last shopper's look.
    const frame = await kiosk.frameAfter(Date.now());
    expect(frame.applied).toEqual([catalog.default!.productId]);
    expect(daemon.logs.some((l) => l.msg === 'socket event rejected')).toBe(false);
  });
});
