/** A real socket.io client reading the daemon's `frame` events as the kiosk does (acknowledging each). */
import { io, type Socket } from 'socket.io-client';
import type { ClientToServerEvents, FrameMessage, ServerToClientEvents } from '../../device/transport/events.ts';

/** The next `count` frames that pass `where` (every frame by default). */
export function collectFrames(
  url: string,
  count: number,
  options: { timeoutMs?: number; where?: (frame: FrameMessage) => boolean } = {},
): Promise<FrameMessage[]> {
  const { timeoutMs = 30_000, where = () => true } = options;
  const socket: Socket<ServerToClientEvents, ClientToServerEvents> = io(url, { transports: ['websocket'] });
  const frames: FrameMessage[] = [];
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      socket.close();
      reject(new Error(`only ${frames.length} matching frames in ${timeoutMs} ms`));
    }, timeoutMs);
    socket.on('frame', (frame, received) => {
      received();
      if (!where(frame)) return;
      frames.push(frame);
      if (frames.length === count) {
        clearTimeout(timer);
        socket.close();
        resolve(frames);
      }
    });
  });
}

/** The `applied` product ids of the next `count` frames that had a face. */
export async function appliedInFrames(url: string, count = 5, timeoutMs = 20_000): Promise<string[][]> {
  const frames = await collectFrames(url, count, { timeoutMs, where: (f) => f.faces.length > 0 });
  return frames.map((f) => f.applied);
}
