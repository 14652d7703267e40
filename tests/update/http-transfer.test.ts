/**
 * The HTTP transfer beside the agent's queue (issue 13, item 8), against a real local HTTP server
 * that trickles one byte a second: the download never holds the agent, so a newer offer and a
 * cancel are answered while it runs; a server that stops sending is aborted as transfer-stalled;
 * an HTTP offer with a bad signature is refused before any GET.
 */
import http from 'node:http';
import type { Socket } from 'node:net';
import { rm } from 'node:fs/promises';
import { afterEach, describe, expect, it } from 'vitest';
import type { UpdateOffer } from '../../fleet/protocol/update.ts';
import { generateSigningKey, makeArtifact } from './fleet-double.ts';
import { boot, endOf, rig, until, type Rig } from './agent-rig.ts';

interface Trickler {
  url: string;
  /** Bytes written to clients so far, and GET requests received. */
  sent: number;
  gets: number;
  close(): Promise<void>;
}

/** Answers every GET with the full length declared, then `first` bytes, then one byte per `everyMs` (0: none). */
async function trickler(body: Buffer, first: number, everyMs: number): Promise<Trickler> {
  const sockets = new Set<Socket>();
  const timers = new Set<NodeJS.Timeout>();
  const t: Trickler = { url: '', sent: 0, gets: 0, close: async () => {} };
  const server = http.createServer((_req, res) => {
    t.gets += 1;
    res.writeHead(200, { 'content-length': body.byteLength });
    res.write(body.subarray(0, first));
    t.sent += first;
    let at = first;
    if (everyMs === 0) return;
    const timer = setInterval(() => {
      if (at >= body.byteLength || res.destroyed) return clearInterval(timer);
      res.write(body.subarray(at, at + 1));
      at += 1;
      t.sent += 1;
    }, everyMs);
    timers.add(timer);
  });
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  t.url = `http://127.0.0.1:${(server.address() as { port: number }).port}/bundle`;
  t.close = async () => {
    for (const timer of timers) clearInterval(timer);
    for (const s of sockets) s.destroy();
    await new Promise((ok) => server.close(ok));
  };
  return t;
}

const rigs: Rig[] = [];
const servers: Trickler[] = [];
afterEach(async () => {
  for (const r of rigs.splice(0)) {
    await r.agent?.stop();
    await rm(r.dir, { recursive: true, force: true });
  }
  for (const s of servers.splice(0)) await s.close();
});

async function setup(first: number, everyMs: number, stallTimeoutMs = 60_000): Promise<{ r: Rig; server: Trickler; offer: UpdateOffer }> {
  const r = await rig();
  rigs.push(r);
  const server = await trickler(r.bytes, first, everyMs);
  servers.push(server);
  await boot(r, { stallTimeoutMs });
  return { r, server, offer: { ...r.offer, transfer: { type: 'http', url: server.url } } };
}

const send = (r: Rig, subtopic: string, msg: object) => r.agent!.handleMessage(subtopic, Buffer.from(JSON.stringify(msg)));

describe('HTTP transfer that trickles (stand-in host, real HTTP server)', { timeout: 30_000 }, () => {
  it('a newer offer is answered (busy) and a cancel ends the job while the download trickles, long before it could finish', async () => {
    const { r, server, offer } = await setup(10, 1000);
    send(r, 'offer', offer);
    await until(() => r.states.some((s) => s.state === 'downloading') && server.sent >= 10, 'the download under way');
    send(r, 'offer', { ...offer, jobId: 'job-2' });
    const busy = await endOf(r, 'job-2');
    expect(busy).toMatchObject({ state: 'rejected', reason: 'busy' });
    send(r, 'cancel', { v: 1, jobId: 'job-1', action: 'abort', ts: Date.now() });
    expect(await endOf(r, 'job-1')).toMatchObject({ state: 'failed', reason: 'cancelled' });
    // Answered while the server had sent a handful of its bytes (a byte a second): not at the end of the transfer.
    expect(server.sent).toBeLessThan(20);
    expect(r.bytes.byteLength).toBeGreaterThan(1000);
    expect(r.host.servingNow.artifactId).toBe('mesh-old');
  });

  it('a server that stops sending: the download is aborted as transfer-stalled, the old model serving', async () => {
    const { r, server, offer } = await setup(100, 0, 300);
    send(r, 'offer', offer);
    const end = await endOf(r, 'job-1');
    expect(end).toMatchObject({ state: 'failed', reason: 'transfer-stalled' });
    expect(end.detail).toContain('100 of');
    expect(server.sent).toBe(100);
    expect(r.host.servingNow.artifactId).toBe('mesh-old');
  });

  it('an HTTP offer whose signature does not verify: rejected before any GET', async () => {
    const { r, server, offer } = await setup(0, 0);
    const forged = makeArtifact(r.bytes, { id: 'mesh-forged', version: '2.0.0', key: generateSigningKey('k1') });
    send(r, 'offer', { ...offer, jobId: 'job-forged', artifact: forged });
    expect(await endOf(r, 'job-forged')).toMatchObject({ state: 'rejected', reason: 'bad-signature' });
    await r.agent!.idle();
    expect(server.gets).toBe(0);
  });
});
