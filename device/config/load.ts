/** Reads the config file, applies environment overrides, validates once, before anything starts. */
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { MirrorError } from '../core/errors.ts';
import { MirrorConfig } from './schema.ts';

/** Environment variables that override a config key; values are parsed as the key's type. */
const ENV_OVERRIDES: Record<string, { key: string[]; type: 'string' | 'int' }> = {
  PORT: { key: ['port'], type: 'int' },
  HOST: { key: ['host'], type: 'string' },
  SOURCE: { key: ['source'], type: 'string' },
  MQTT_URL: { key: ['mqtt', 'url'], type: 'string' },
  MIRROR_DEVICE_ID: { key: ['mqtt', 'deviceId'], type: 'string' },
  MIRROR_STORE_ID: { key: ['mqtt', 'storeId'], type: 'string' },
  MIRROR_METRICS_INTERVAL_MS: { key: ['mqtt', 'metricsIntervalMs'], type: 'int' },
  MIRROR_STATE_DIR: { key: ['stateDir'], type: 'string' },
  LOG_LEVEL: { key: ['logLevel'], type: 'string' },
};

function configError(message: string): MirrorError {
  return new MirrorError('MIRROR_ERR_CONFIG', message);
}

function setPath(target: Record<string, unknown>, keys: string[], value: unknown): void {
  let node = target;
  for (const key of keys.slice(0, -1)) {
    const next = node[key];
    if (next === undefined) node[key] = {};
    else if (typeof next !== 'object' || next === null || Array.isArray(next)) throw configError(`config key "${key}" must be an object to take an environment override`);
    node = node[key] as Record<string, unknown>;
  }
  node[keys[keys.length - 1]] = value;
}

export function formatIssue(issue: z.core.$ZodIssue): string {
  const key = issue.path.length ? issue.path.join('.') : '(root)';
  if (issue.code === 'unrecognized_keys') {
    const where = issue.path.length ? `${key}.` : '';
    return `config key "${where}${issue.keys.join(`", "${where}`)}" is not known`;
  }
  return `config key "${key}": ${issue.message}`;
}

/** Validates an already-parsed object; throws MirrorError naming the first bad key. */
export function validateConfig(raw: unknown): MirrorConfig {
  const parsed = MirrorConfig.safeParse(raw);
  if (!parsed.success) throw configError(parsed.error.issues.map(formatIssue).join('; '));
  return parsed.data;
}

export function loadConfig(options: { file?: string; env?: NodeJS.ProcessEnv }): MirrorConfig {
  const env = options.env ?? process.env;
  let raw: Record<string, unknown> = {};
  if (options.file) {
    let text: string;
    try {
      text = readFileSync(options.file, 'utf8');
    } catch (err) {
      throw configError(`cannot read config file ${options.file}: ${(err as Error).message}`);
    }
    try {
      raw = JSON.parse(text);
    } catch (err) {
      throw configError(`config file ${options.file} is not valid JSON: ${(err as Error).message}`);
    }
    if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw configError(`config file ${options.file} must hold a JSON object`);
  }
  for (const [name, { key, type }] of Object.entries(ENV_OVERRIDES)) {
    const value = env[name];
    if (value === undefined || value === '') continue;
    if (type === 'int') {
      if (!/^-?\d+$/.test(value)) throw configError(`environment ${name} (config key "${key.join('.')}") must be an integer, got "${value}"`);
      setPath(raw, key, Number(value));
    } else {
      setPath(raw, key, value);
    }
  }
  return validateConfig(raw);
}
