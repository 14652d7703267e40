/**
 * The config's `tryon.pin` at the real daemon's start: a pin naming a product or shade the serving
 * catalog does not have stops start-up as a config error (exit 78) naming the key, before any
 * model loads; the v1 `tryon.lipstick` is refused naming what replaces it.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { repoRoot } from '../helpers/daemon.ts';

function start(tryon: unknown): { status: number | null; output: string } {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'mirror-pin-'));
  const config = path.join(dir, 'mirror.json');
  writeFileSync(config, JSON.stringify({ port: 0, mqtt: { embeddedPort: 0 }, stateDir: path.join(dir, 'state'), tryon }));
  const r = spawnSync(process.execPath, ['--import', 'tsx', path.join(repoRoot, 'device', 'main.ts'), '--config', config], { cwd: repoRoot, encoding: 'utf8', timeout: 60_000 });
  return { status: r.status, output: `${r.stdout}${r.stderr}` };
}

describe('tryon.pin at start-up', () => {
  it('a pinned shade the catalog does not have: start-up fails as a config error naming tryon.pin.shadeId', () => {
    const r = start({ pin: { productId: 'kora-glass-gloss', shadeId: 'no-such-shade' } });
    expect(r.status).toBe(78);
    expect(r.output).toContain('config key \\"tryon.pin.shadeId\\": \\"no-such-shade\\" is not a shade of \\"kora-glass-gloss\\"');
  });

  it('an old config with tryon.lipstick: refused naming the key and tryon.pin', () => {
    const r = start({ lipstick: { productId: 'demo-lipstick-ruby', colour: '#a4213f', opacity: 0.6 } });
    expect(r.status).toBe(78);
    expect(r.output).toContain('config key "tryon.lipstick": was replaced by "tryon.pin"');
  });
});
