/** A loopback TCP proxy for network-failure tests (broker, database): cut, down, up. */
import net from 'node:net';

/** A loopback TCP proxy whose connections can be cut at once, as a network failure would. */
export interface TcpProxy {
  port: number;
  url: string;
  /** Destroys both sides of every open connection (no MQTT DISCONNECT reaches the broker). */
  cutAll(): number;
  /** A dead network while `true`: every open connection is cut and new ones are closed at once. */
  setDown(down: boolean): void;
  close(): Promise<void>;
}

export async function startTcpProxy(targetPort: number): Promise<TcpProxy> {
  const pairs = new Set<[net.Socket, net.Socket]>();
  let isDown = false;
  const server = net.createServer((down) => {
    if (isDown) {
      down.destroy();
      return;
    }
    const up = net.connect({ port: targetPort, host: '127.0.0.1' });
    const pair: [net.Socket, net.Socket] = [down, up];
    pairs.add(pair);
    const drop = (): void => {
      pairs.delete(pair);
      down.destroy();
      up.destroy();
    };
    down.on('error', drop).on('close', drop);
    up.on('error', drop).on('close', drop);
    down.pipe(up);
    up.pipe(down);
  });
  await new Promise<void>((resolve) => server.listen({ port: 0, host: '127.0.0.1' }, resolve));
  const { port } = server.address() as net.AddressInfo;
  const proxy: TcpProxy = {
    port,
    url: `mqtt://127.0.0.1:${port}`,
    cutAll() {
      const n = pairs.size;
      for (const [down, up] of [...pairs]) {
        up.destroy();
        down.destroy();
      }
      pairs.clear();
      return n;
    },
    setDown(v) {
      isDown = v;
      if (v) proxy.cutAll();
    },
    async close() {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      for (const [down, up] of [...pairs]) {
        up.destroy();
        down.destroy();
      }
      await closed;
    },
  };
  return proxy;
}
