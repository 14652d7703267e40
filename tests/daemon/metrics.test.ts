/** Prometheus /metrics scraped from the real daemon on the demo clip, as a Prometheus server would. */
import http from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDaemon, type RunningDaemon } from '../helpers/daemon.ts';
import { collectFrames } from '../helpers/frames.ts';

/** Prometheus text format → "name{labels}" → value (comments skipped). */
function parseExposition(text: string): Map<string, number> {
  const samples = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const at = line.lastIndexOf(' ');
    samples.set(line.slice(0, at), Number(line.slice(at + 1)));
  }
  return samples;
}

async function scrape(url: string): Promise<{ contentType: string; samples: Map<string, number> }> {
  const res = await fetch(`${url}/metrics`);
  expect(res.status).toBe(200);
  return { contentType: res.headers.get('content-type') ?? '', samples: parseExposition(await res.text()) };
}

describe('daemon /metrics', () => {
  let daemon: RunningDaemon;
  beforeAll(async () => {
    daemon = await startDaemon();
    await collectFrames(daemon.url, 10);
  }, 90_000);
  afterAll(async () => {
    await daemon?.stop();
  });

  it('exposes fps, capture→emit latency, drops, stage errors, restarts, backends, update state, outbox and degraded parts', async () => {
    const { contentType, samples } = await scrape(daemon.url);
    expect(contentType).toMatch(/^text\/plain; version=0\.0\.4/);
    expect(samples.get('mirror_fps')).toBeGreaterThan(0);
    expect(samples.get('mirror_frames_emitted_total')).toBeGreaterThanOrEqual(10);
    expect(samples.get('mirror_capture_to_emit_seconds_count')).toBeGreaterThanOrEqual(10);
    expect(samples.get('mirror_capture_to_emit_seconds_bucket{le="+Inf"}')).toBe(samples.get('mirror_capture_to_emit_seconds_count'));
    expect(samples.get('mirror_capture_to_emit_seconds_sum')).toBeGreaterThan(0);
    for (const name of ['mirror_frames_dropped_total', 'mirror_stage_errors_total', 'mirror_source_restarts_total', 'mirror_kiosk_skipped_frames_total', 'mirror_outbox_pending']) {
      expect(samples.has(name), name).toBe(true);
    }
    const backends = [...samples.keys()].filter((k) => k.startsWith('mirror_inference_backend{'));
    expect(backends).toEqual(
      expect.arrayContaining([expect.stringMatching(/^mirror_inference_backend\{model="detector",backend="(onnx|tfjs)-[a-z-]+"\}$/), expect.stringMatching(/model="mesh"/)]),
    );
    expect([...samples.keys()].some((k) => /^mirror_model_version\{model="face-mesh",version=".+"\}$/.test(k))).toBe(true);
    // Nothing degraded on the demo clip: the series is absent, not 0.
    expect([...samples.keys()].filter((k) => k.startsWith('mirror_degraded{'))).toEqual([]);
    // Node's own process metrics are not mixed in (a registry of the daemon's own).
    expect([...samples.keys()].filter((k) => !k.startsWith('mirror_'))).toEqual([]);
  });

  it('counters grow between scrapes while frames flow', async () => {
    const first = (await scrape(daemon.url)).samples.get('mirror_frames_emitted_total')!;
    await collectFrames(daemon.url, 5);
    const second = (await scrape(daemon.url)).samples.get('mirror_frames_emitted_total')!;
    expect(second).toBeGreaterThan(first);
  });

  it('is refused to a foreign Host like every other kiosk path', async () => {
    const status = await new Promise<number>((resolve, reject) => {
      http
        .get({ host: '127.0.0.1', port: daemon.port, path: '/metrics', headers: { host: `evil.example:${daemon.port}` }, setHost: false }, (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        })
        .on('error', reject);
    });
    expect(status).toBe(403);
  });
});
