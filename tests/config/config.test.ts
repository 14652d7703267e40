/** A wrong config value stops start-up with a message that names the key and what is allowed. */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig, validateConfig } from '../../device/config/load.ts';
import { repoRoot } from '../helpers/daemon.ts';

const malformed: Array<{ name: string; config: unknown; field: RegExp }> = [
  { name: 'port as a string', config: { port: '8080' }, field: /"port".*expected number/ },
  { name: 'misspelt key', config: { prot: 8080 }, field: /"prot" is not known/ },
  { name: 'zero fps', config: { capture: { fps: 0 } }, field: /"capture\.fps"/ },
  { name: 'the v1 pinned colour (tryon.lipstick), replaced by tryon.pin', config: { tryon: { lipstick: { colour: '#b0263c' } } }, field: /"tryon\.lipstick": was replaced by "tryon\.pin"/ },
  { name: 'unknown source scheme', config: { source: 'rtsp://camera/1' }, field: /"source".*clip:PATH/ },
  { name: 'http broker URL', config: { mqtt: { url: 'http://broker' } }, field: /"mqtt\.url".*mqtt:\/\// },
  { name: 'pin intensity above 1', config: { tryon: { pin: { productId: 'kora-glass-gloss', intensity: 1.5 } } }, field: /"tryon\.pin\.intensity"/ },
  { name: 'a misspelt nested key (updates.publickey)', config: { updates: { publickey: { rel1: 'x'.repeat(44) } } }, field: /"updates\.publickey" is not known/ },
];

/**
 * Every object section of the config, found from the defaults plus the optional sections that
 * have none. `updates.publicKeys` is a map (any key id is allowed), not a section.
 */
function sections(value: unknown, at: string[] = []): string[][] {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return [];
  const here = at.length ? [at] : [];
  return [...here, ...Object.entries(value).flatMap(([k, v]) => sections(v, [...at, k]))];
}
const MAPS = ['updates.publicKeys', 'commands.publicKeys'];
const OPTIONAL_SECTIONS = [['tryon', 'pin'], ['mqtt', 'tls'], ['mqtt', 'enrol']];

function withKey(path: string[], key: string): Record<string, unknown> {
  const root: Record<string, unknown> = {};
  let node = root;
  for (const k of path) node = node[k] = {};
  node[key] = 1;
  return root;
}

describe('config validation', () => {
  for (const { name, config, field } of malformed) {
    it(`rejects ${name}, naming the field`, () => {
      expect(() => validateConfig(config)).toThrow(field);
    });
  }

  it('refuses an unknown key in every nested section, naming it (a typo is never ignored)', () => {
    const all = [...sections(validateConfig({})), ...OPTIONAL_SECTIONS].filter((p) => !MAPS.includes(p.join('.')));
    expect(all.length).toBeGreaterThan(10);
    for (const p of all) {
      const name = [...p, 'unknownKey'].join('.');
      expect(() => validateConfig(withKey(p, 'unknownKey')), name).toThrow(`config key "${name}" is not known`);
    }
  });

  it('runs on embedded defaults with no file at all', () => {
    const config = loadConfig({ env: {} });
    expect(config.port).toBe(8080);
    expect(config.source).toBe('auto');
    expect(config.mqtt.url).toBeUndefined();
  });

  it('lets PORT, MQTT_URL and SOURCE override the file', () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'mirror-cfg-'));
    const file = path.join(dir, 'mirror.json');
    writeFileSync(file, JSON.stringify({ port: 9000, source: 'auto' }));
    const config = loadConfig({ file, env: { PORT: '9100', MQTT_URL: 'mqtt://127.0.0.1:1999', SOURCE: 'v4l2:/dev/video2' } });
    expect(config.port).toBe(9100);
    expect(config.mqtt.url).toBe('mqtt://127.0.0.1:1999');
    expect(config.source).toBe('v4l2:/dev/video2');
  });

  it('rejects a non-numeric PORT from the environment, naming the variable', () => {
    expect(() => loadConfig({ env: { PORT: 'eighty' } })).toThrow(/PORT.*"port".*integer/);
  });

  it('rejects a config file that is not JSON', () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'mirror-cfg-'));
    const file = path.join(dir, 'mirror.json');
    writeFileSync(file, '{ port: 8080 ');
    expect(() => loadConfig({ file, env: {} })).toThrow(/not valid JSON/);
  });

  it('the daemon refuses to start on a bad config file and exits with EX_CONFIG', () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'mirror-cfg-'));
    const file = path.join(dir, 'mirror.json');
    writeFileSync(file, JSON.stringify({ capture: { width: 10 } }));
    const result = spawnSync(process.execPath, [path.join(repoRoot, 'node_modules/tsx/dist/cli.mjs'), 'device/main.ts', '--config', file], {
      cwd: repoRoot,
      encoding: 'utf8',
      timeout: 30_000,
    });
    expect(result.status).toBe(78);
    expect(result.stderr).toMatch(/config key "capture\.width": Too small/);
  });
});
