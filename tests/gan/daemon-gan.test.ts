/**
 * The GAN stage in the real daemon (device/main.ts on the demo clip, whose shopper wears the
 * catalog's default look), configured through config `gan`:
 *   - with the committed reference model it measures itself, picks a schedule within its budget,
 *     refines frames, and /healthz shows mode, time per run and counts; the model's version is
 *     among the serving models;
 *   - with a budget no schedule can meet (maxEvery 1) it turns itself off: /healthz gan.mode "off"
 *     with the reason, the degradation ladder lists `gan`, and frames keep flowing;
 *   - a model whose file does not match its manifest is refused at start (the ladder names the
 *     field) and the mirror runs on the classical render.
 */
import { cp, mkdtemp, readFile, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { REFERENCE_GAN_DIR } from '../../models/gan/manifest.ts';
import { startDaemon, type RunningDaemon } from '../helpers/daemon.ts';

interface Health {
  processedFrames: number;
  models: Record<string, string>;
  degraded: Array<{ component: string; reason: string }>;
  gan: null | { mode: string; every: number; msPerRun: number; budgetMs: number; reason: string; runs: number; refinedFrames: number; litFrames: number; backend: string };
}

let daemon: RunningDaemon | null = null;
afterEach(async () => {
  await daemon?.stop('SIGKILL');
  daemon = null;
});

async function withGan(gan: Record<string, unknown>): Promise<RunningDaemon> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'mirror-gan-'));
  const config = path.join(dir, 'mirror.json');
  await writeFile(config, JSON.stringify({ stateDir: path.join(dir, 'state'), gan }));
  return startDaemon({ args: ['--config', config], timeoutMs: 120_000 });
}

const health = async (d: RunningDaemon): Promise<Health> => (await (await fetch(`${d.url}/healthz`)).json()) as Health;

async function until(d: RunningDaemon, test: (h: Health) => boolean, ms: number): Promise<Health> {
  const end = Date.now() + ms;
  let h = await health(d);
  while (!test(h) && Date.now() < end) {
    await new Promise((r) => setTimeout(r, 500));
    h = await health(d);
  }
  return h;
}

describe('GAN stage in the daemon', () => {
  it('reference model on: measured, scheduled within its budget, refining frames, shown in /healthz', async () => {
    daemon = await withGan({ model: REFERENCE_GAN_DIR, budgetMs: 10, maxEvery: 30 });
    const h = await until(daemon, (x) => (x.gan?.refinedFrames ?? 0) >= 5, 90_000);
    console.log('healthz gan:', JSON.stringify(h.gan));
    expect(h.gan).not.toBeNull();
    expect(h.gan!.backend).toBe('onnx-cpu');
    expect(h.gan!.msPerRun).toBeGreaterThan(0);
    expect(['every-frame', 'every-nth']).toContain(h.gan!.mode);
    // The schedule follows the measured time: one frame in ceil(ms / budget).
    if (h.gan!.mode === 'every-nth') expect(h.gan!.every).toBeGreaterThanOrEqual(2);
    expect(h.gan!.refinedFrames).toBeGreaterThanOrEqual(5);
    expect(h.gan!.runs).toBeGreaterThanOrEqual(1);
    // The catalog's default lipstick is satin (a specular term): the daemon's try-on stage records
    // the light it draws for the GAN stage's guard.
    expect(h.gan!.litFrames).toBeGreaterThan(0);
    expect(h.models['makeup-refiner']).toMatch(/^ref-/);
    expect(h.degraded.map((s) => s.component)).not.toContain('gan');
  }, 180_000);

  it('budget no schedule meets: the stage turns itself off, /healthz and the ladder say why, frames keep flowing', async () => {
    daemon = await withGan({ model: REFERENCE_GAN_DIR, budgetMs: 0.1, maxEvery: 1 });
    const first = await until(daemon, (x) => x.processedFrames > 0, 60_000);
    expect(first.gan?.mode).toBe('off');
    expect(first.gan?.reason).toMatch(/more than maxEvery 1/);
    expect(first.degraded.find((s) => s.component === 'gan')?.reason).toMatch(/maxEvery 1/);
    expect(first.models['makeup-refiner']).toBeUndefined();
    const later = await until(daemon, (x) => x.processedFrames >= first.processedFrames + 10, 60_000);
    expect(later.processedFrames).toBeGreaterThanOrEqual(first.processedFrames + 10);
    expect(later.gan?.refinedFrames).toBe(0);
  }, 180_000);

  it('a tampered model is refused at start naming the field; the mirror runs on the classical render', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'mirror-gan-model-'));
    await cp(REFERENCE_GAN_DIR, dir, { recursive: true });
    const file = path.join(dir, 'makeup-refiner.onnx');
    const bytes = await readFile(file);
    bytes[bytes.length - 20] ^= 0x55;
    await writeFile(file, bytes);
    daemon = await withGan({ model: dir });
    const h = await until(daemon, (x) => x.processedFrames >= 10, 60_000);
    expect(h.gan).toBeNull();
    expect(h.degraded.find((s) => s.component === 'gan')?.reason).toMatch(/files\[0\]\.sha256/);
    expect(h.processedFrames).toBeGreaterThanOrEqual(10);
  }, 180_000);
});
