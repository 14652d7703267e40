/**
 * How a revocation reaches Mosquitto 2.0 (Debian's 2.0.11, measured: see fleet/broker/mosquitto.conf):
 *  1. the CRL: written atomically to the broker's `crlfile`, then `reloadCommand` (SIGHUP; Mosquitto
 *     rereads the CRL on SIGHUP) makes the broker refuse the certificate on every new connection;
 *  2. the live connection: a CRL is checked only during a TLS handshake, so an open connection
 *     survives it. The dynamic-security plugin's `disableClient` disconnects every client with that
 *     username (the CN, with use_identity_as_username), whatever client id it chose. It does not
 *     stop a certificate-authenticated client from reconnecting (the plugin checks passwords only),
 *     which is why the CRL comes first.
 */
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { chmodSync, mkdirSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import mqtt from 'mqtt';
import { z } from 'zod';
import type { FleetConfig } from '../config.ts';
import { serviceClientOptions } from '../mqtt-options.ts';

const run = promisify(execFile);

/** Writes the CRL where the broker reads it (rename: the broker never sees half a file) and has it reread. */
export async function installCrl(file: string, pem: string, reloadCommand: string[] | undefined): Promise<void> {
  mkdirSync(path.dirname(file), { recursive: true });
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, pem, { mode: 0o644 });
  chmodSync(tmp, 0o644); // the broker runs as its own user and must read it; a CRL is public
  renameSync(tmp, file);
  if (reloadCommand) await run(reloadCommand[0], reloadCommand.slice(1), { timeout: 10_000 });
}

const DynsecAnswer = z.object({
  responses: z.array(z.object({ command: z.string(), error: z.string().optional(), correlationData: z.string().optional() })),
});

const CONTROL = '$CONTROL/dynamic-security/v1';

/**
 * Disables `username` in the dynamic-security plugin, which disconnects its live connections.
 * Creates the plugin's client entry first (devices are not listed there; "already exists" is
 * fine). Its own short connection: the ingest's session must not subscribe to control answers.
 */
export async function kickByUsername(cfg: FleetConfig['mqtt'], username: string, timeoutMs = 10_000): Promise<void> {
  const client = await mqtt.connectAsync(
    cfg.url,
    serviceClientOptions(cfg, {
      clientId: `${cfg.clientId.slice(0, 40)}-revoke-${randomUUID().slice(0, 8)}`,
      clean: true,
      reconnectPeriod: 0,
      connectTimeout: timeoutMs,
    }),
  );
  try {
    const id = randomUUID();
    const answer = new Promise<z.infer<typeof DynsecAnswer>>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no answer from the broker's dynamic-security plugin within ${timeoutMs} ms (is it loaded?)`)), timeoutMs);
      client.on('message', (_topic, payload) => {
        const r = DynsecAnswer.safeParse(JSON.parse(payload.toString('utf8')));
        if (!r.success || !r.data.responses.some((x) => x.correlationData === id)) return;
        clearTimeout(timer);
        resolve(r.data);
      });
    });
    await client.subscribeAsync(`${CONTROL}/response`, { qos: 1 });
    const commands = [
      { command: 'createClient', username, correlationData: `${id}-create` },
      { command: 'disableClient', username, correlationData: id },
    ];
    await client.publishAsync(CONTROL, Buffer.from(JSON.stringify({ commands })), { qos: 1 });
    const got = await answer;
    const disable = got.responses.find((x) => x.correlationData === id);
    if (disable?.error) throw new Error(`broker refused disableClient ${username}: ${disable.error}`);
  } finally {
    await client.endAsync(true).catch(() => undefined);
  }
}
