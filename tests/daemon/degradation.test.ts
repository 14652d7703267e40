/**
 * The degradation ladder's model and GPU steps, on the vision start step the daemon runs (real
 * models, real runtime): a committed mesh update that does not load serves the bundled mesh and
 * says so; a GPU host whose models run on the CPU says so; a CPU-only host is not degraded.
 */
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { MirrorConfig } from '../../device/config/schema.ts';
import { DegradationLadder } from '../../device/core/degraded.ts';
import { startVision, type StartedVision } from '../../device/daemon/vision.ts';

const quiet = { info: () => {}, warn: () => {}, error: () => {} };
// ONNX on the CPU only keeps the start quick (no backend timing) and the backend known.
const config = () => MirrorConfig.parse({ stateDir: mkdtempSync(path.join(os.tmpdir(), 'mirror-state-')), vision: { backend: 'onnx' } });

describe('degradation ladder: vision', () => {
  let started: StartedVision | undefined;
  afterEach(() => {
    started?.vision.dispose();
    started = undefined;
  });

  it('a committed mesh update that does not load: the bundled mesh serves and the ladder names the model', async () => {
    const ladder = new DegradationLadder();
    const broken = { version: 'facemesh-broken@9.9.9', dir: mkdtempSync(path.join(os.tmpdir(), 'mirror-mesh-')) };
    started = await startVision(config(), { 'face-mesh': broken }, ladder, quiet, async () => ({ gpu: null }));
    expect(started.servingMesh.dir).toBeNull();
    expect(started.servingMesh.version).toMatch(/^facemesh-468/);
    expect(ladder.list()).toEqual([
      { component: 'model:face-mesh', reason: expect.stringContaining('facemesh-broken@9.9.9 does not load'), since: expect.any(String) },
    ]);
  }, 120_000);

  it('a GPU host whose models run on the CPU is degraded; a CPU-only host is not', async () => {
    const onGpuHost = new DegradationLadder();
    started = await startVision(config(), {}, onGpuHost, quiet, async () => ({ gpu: 'NVIDIA Jetson Orin NX' }));
    expect(onGpuHost.list()).toEqual([
      { component: 'inference', reason: expect.stringMatching(/^GPU NVIDIA Jetson Orin NX present but detector runs on onnx-cpu/), since: expect.any(String) },
    ]);
    started.vision.dispose();
    const onCpuHost = new DegradationLadder();
    started = await startVision(config(), {}, onCpuHost, quiet, async () => ({ gpu: null }));
    expect(onCpuHost.list()).toEqual([]);
  }, 120_000);
});
