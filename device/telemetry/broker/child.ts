/**
 * The embedded broker's process (forked by ../embedded-broker.ts). aedes runs here, not in the
 * daemon, because a broker fed by local clients can die (mqemitter recursion, memory): then this
 * process dies and the daemon restarts it, while the mirror keeps serving frames.
 *
 * Parent → child: one `start` message (port, users, limits). Child → parent: `listening` with the
 * port, `log` lines, or `failed`. The child exits when the parent disconnects.
 */
import { timingSafeEqual } from 'node:crypto';
import net from 'node:net';
import { Aedes, type Client } from 'aedes';
import { canPublish, canSubscribe, type BrokerUser } from './acl.ts';
import { StartMessageSchema, type ChildMessage, type StartMessage } from './ipc.ts';
import { GuardedConnection } from './packet-guard.ts';

function send(m: ChildMessage): void {
  process.send?.(m);
}

function sameSecret(a: string, b: Buffer | undefined): boolean {
  const x = Buffer.from(a);
  return b !== undefined && x.length === b.length && timingSafeEqual(x, b);
}

async function createBroker(users: BrokerUser[]): Promise<Aedes> {
  const who = new WeakMap<Client, BrokerUser>();
  return Aedes.createBroker({
    // concurrency 0: mqemitter never queues, so it never drains its queue by recursion (the stack
    // overflow seen under a burst to topics nobody subscribes to); the packet guard bounds the input.
    concurrency: 0,
    authenticate(client, username, password, done) {
      const user = users.find((u) => u.username === username && sameSecret(u.password, password));
      if (user === undefined) {
        const err = Object.assign(new Error('not authorized'), { returnCode: 5 });
        done(err as never, false);
        return;
      }
      who.set(client, user);
      done(null, true);
    },
    authorizePublish(client, packet, done) {
      const user = client ? who.get(client) : undefined;
      done(user !== undefined && canPublish(user, packet.topic) ? null : new Error(`publish to ${packet.topic} not allowed`));
    },
    authorizeSubscribe(client, sub, done) {
      const user = who.get(client);
      done(null, user !== undefined && canSubscribe(user, sub.topic) ? sub : null);
    },
  });
}

async function start(cfg: StartMessage): Promise<void> {
  const broker = await createBroker(cfg.users);
  let lastViolationLog = 0;
  const server = net.createServer((socket) => {
    const conn = new GuardedConnection(socket, cfg.limits, (reason) => {
      // A flood of bad clients must not flood the log: one line per second at most.
      if (Date.now() - lastViolationLog < 1000) return;
      lastViolationLog = Date.now();
      send({ type: 'log', level: 'warn', obj: { remote: socket.remotePort }, msg: `embedded MQTT broker dropped a client: ${reason}` });
    });
    broker.handle(conn);
  });
  server.maxConnections = cfg.limits.maxConnections;
  server.on('error', (err) => send({ type: 'log', level: 'error', obj: { error: err.message }, msg: 'embedded MQTT broker server error' }));
  server.once('error', (err: NodeJS.ErrnoException) => {
    send({ type: 'failed', code: err.code, message: err.message });
    process.exit(1);
  });
  server.listen({ port: cfg.port, host: cfg.host, exclusive: true }, () => {
    send({ type: 'listening', port: (server.address() as net.AddressInfo).port });
  });
}

process.on('disconnect', () => process.exit(0));
process.once('message', (raw: unknown) => {
  const parsed = StartMessageSchema.safeParse(raw);
  if (!parsed.success) {
    send({ type: 'failed', message: `bad start message: ${parsed.error.issues[0]?.path.join('.')}: ${parsed.error.issues[0]?.message}` });
    process.exit(1);
  }
  start(parsed.data).catch((err: unknown) => {
    send({ type: 'failed', message: err instanceof Error ? err.message : String(err) });
    process.exit(1);
  });
});
