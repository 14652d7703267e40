/**
 * Key material the daemon reads before anything starts: the pinned update keys and the MQTT TLS
 * files. A bad key or an unreadable file is a config error naming its key (exit 78).
 */
import type { KeyObject } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import type { MirrorConfig } from '../config/schema.ts';
import { MirrorError } from '../../fleet/protocol/errors.ts';
import { parsePublicKey } from '../../fleet/protocol/signing.ts';

export interface StartupKeys {
  /** keyId → pinned Ed25519 public key. */
  publicKeys: Map<string, KeyObject>;
  /** keyId → the fleet's command keys (config `commands.publicKeys`). */
  commandKeys: Map<string, KeyObject>;
  mqttTls: { ca?: Buffer; cert?: Buffer; key?: Buffer };
}

export function readStartupKeys(config: MirrorConfig): StartupKeys {
  const publicKeys = pinnedKeys(config.updates.publicKeys, 'updates.publicKeys');
  const commandKeys = pinnedKeys(config.commands.publicKeys, 'commands.publicKeys');
  const mqttTls: StartupKeys['mqttTls'] = {};
  for (const [name, file] of Object.entries(config.mqtt.tls ?? {}) as Array<['ca' | 'cert' | 'key', string | undefined]>) {
    if (file === undefined) continue;
    // Not enrolled yet (device/enrol/first-start.ts logged why): the broker will refuse the
    // connection, the outbox keeps the telemetry, the mirror itself runs.
    if (config.mqtt.enrol !== undefined && !existsSync(file)) continue;
    try {
      mqttTls[name] = readFileSync(file);
    } catch (err) {
      throw new MirrorError('MIRROR_ERR_CONFIG', `config key "mqtt.tls.${name}": cannot read ${file}: ${(err as Error).message}`);
    }
  }
  return { publicKeys, commandKeys, mqttTls };
}

function pinnedKeys(texts: Record<string, string>, key: string): Map<string, KeyObject> {
  const keys = new Map<string, KeyObject>();
  for (const [keyId, text] of Object.entries(texts)) {
    try {
      keys.set(keyId, parsePublicKey(text));
    } catch (err) {
      throw new MirrorError('MIRROR_ERR_CONFIG', `config key "${key}.${keyId}": ${(err as Error).message}`);
    }
  }
  return keys;
}
