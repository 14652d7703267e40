/**
 * An in-process MQTT broker (aedes) so that `npm start` on one machine is self-contained when no
 * `MQTT_URL` is configured. Loopback only and anonymous: it is a development and demo broker, not
 * something a store network may reach. At scale the daemon talks to Mosquitto/EMQX over TLS.
 *
 * Retained messages and last wills live in aedes's in-memory persistence, which is all a
 * single-machine set-up needs (they go when the daemon goes, together with the subscribers).
 */
import net from 'node:net';
import { Aedes } from 'aedes';
import { errorFields, type TelemetryLogger } from './logger.ts';

export const DEFAULT_EMBEDDED_BROKER_PORT = 1884;
export const EMBEDDED_BROKER_HOST = '127.0.0.1';

export interface EmbeddedBrokerOptions {
  /** TCP port on 127.0.0.1; default 1884. 0 asks for an ephemeral port. */
  port?: number;
  logger?: TelemetryLogger;
}

export interface EmbeddedBroker {
  /** `mqtt://127.0.0.1:<port>` */
  url: string;
  port: number;
  /** Disconnects every client and stops listening. Idempotent. */
  close(): Promise<void>;
}

function listen(server: net.Server, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const onError = (err: Error): void => {
      server.off('listening', onListening);
      reject(err);
    };
    const onListening = (): void => {
      server.off('error', onError);
      resolve((server.address() as net.AddressInfo).port);
    };
    server.once('error', onError);
    server.once('listening', onListening);
    server.listen({ port, host: EMBEDDED_BROKER_HOST, exclusive: true });
  });
}

export async function startEmbeddedBroker(opts: EmbeddedBrokerOptions = {}): Promise<EmbeddedBroker> {
  const requested = opts.port ?? DEFAULT_EMBEDDED_BROKER_PORT;
  if (!Number.isInteger(requested) || requested < 0 || requested > 65535) {
    throw new RangeError(`embedded MQTT broker port must be an integer 0..65535, got ${String(requested)}`);
  }
  const log = opts.logger;
  const broker = await Aedes.createBroker();
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
    // aedes handles the socket's errors itself; a bad client cannot take the broker down.
    broker.handle(socket);
  });

  let port: number;
  try {
    port = await listen(server, requested);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EADDRINUSE' && requested !== 0) {
      port = await listen(server, 0).catch((err2: unknown) => {
        broker.close();
        throw err2;
      });
      log?.warn(
        { requestedPort: requested, port },
        `MQTT port ${requested} is in use; the embedded broker listens on ephemeral port ${port} instead`,
      );
    } else {
      broker.close();
      throw err;
    }
  }
  server.on('error', (err) => log?.error(errorFields(err), 'embedded MQTT broker server error'));
  const url = `mqtt://${EMBEDDED_BROKER_HOST}:${port}`;
  log?.info({ url }, 'embedded MQTT broker (aedes) listening');

  let closing: Promise<void> | undefined;
  const close = (): Promise<void> => {
    closing ??= (async () => {
      const serverClosed = new Promise<void>((resolve) => server.close(() => resolve()));
      await new Promise<void>((resolve) => broker.close(() => resolve()));
      // Half-open sockets that aedes has not taken over yet (CONNECT not received).
      for (const s of sockets) s.destroy();
      await serverClosed;
      log?.info({ url }, 'embedded MQTT broker closed');
    })();
    return closing;
  };

  return { url, port, close };
}
