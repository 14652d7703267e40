/**
 * Capture-to-paint latency as the daemon's own timestamps tell it: a socket.io client that takes
 * the kiosk's place, decodes each frame (the work a kiosk does before it paints), acknowledges it
 * and answers `painted`, as the kiosk does. Each frame carries its capture and emit times (same
 * clock: one machine), so every stage of the trip is measured; the daemon's own paint p95 from
 * those acknowledgements is read back from /healthz. What this cannot see (camera exposure and
 * readout, the display's scan-out and pixel response) needs the glass-to-glass procedure in README.md.
 */
import sharp from 'sharp';
import { io, type Socket } from 'socket.io-client';
import type { ClientToServerEvents, FrameMessage, ServerToClientEvents } from '../device/transport/events.ts';
import { CalibrationError } from './errors.ts';

export interface LatencyStats {
  p50: number;
  p95: number;
  max: number;
}

export interface LatencyReport {
  frames: number;
  /** In the daemon: capture → emitted (vision, try-on, encode). */
  captureToEmit: LatencyStats;
  /** Capture → received by this client. */
  captureToReceive: LatencyStats;
  /** Capture → decoded and acknowledged as painted by this client. */
  captureToPaint: LatencyStats;
  /** The daemon's own capture-to-paint p95 over every kiosk's acknowledgements (/healthz). */
  daemonPaintP95Ms: number | null;
}

export function stats(values: readonly number[]): LatencyStats {
  const sorted = [...values].sort((a, b) => a - b);
  const at = (q: number): number => sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)];
  const r = (v: number): number => Math.round(v * 10) / 10;
  return { p50: r(at(0.5)), p95: r(at(0.95)), max: r(sorted[sorted.length - 1]) };
}

export interface LatencyOptions {
  url: string;
  frames: number;
  timeoutMs: number;
}

function collect(options: LatencyOptions): Promise<Array<{ emit: number; receive: number; paint: number }>> {
  const socket: Socket<ServerToClientEvents, ClientToServerEvents> = io(options.url, { transports: ['websocket'], reconnection: false });
  const samples: Array<{ emit: number; receive: number; paint: number }> = [];
  return new Promise((resolve, reject) => {
    const fail = (message: string): void => {
      clearTimeout(timer);
      socket.close();
      reject(new CalibrationError('no-frames', message));
    };
    const timer = setTimeout(() => fail(`only ${samples.length} of ${options.frames} frames from ${options.url} in ${options.timeoutMs / 1000} s`), options.timeoutMs);
    socket.on('connect_error', (err) => fail(`cannot reach the daemon's kiosk socket at ${options.url}: ${err.message}`));
    // Frames still arriving (or decoding) once enough were painted are not counted.
    let done = false;
    socket.on('frame', (frame: FrameMessage, received) => {
      const receivedAt = performance.timeOrigin + performance.now();
      // As the kiosk does: acknowledge on receipt, before decoding, so the daemon paces this client like a kiosk.
      received();
      if (done) return;
      void sharp(Buffer.from(frame.image))
        .raw()
        .toBuffer()
        .then(() => {
          if (done) return;
          const paintedAt = performance.timeOrigin + performance.now();
          socket.emit('painted', { id: frame.id, paintedAt });
          samples.push({ emit: frame.emittedAt - frame.capturedAt, receive: receivedAt - frame.capturedAt, paint: paintedAt - frame.capturedAt });
          if (samples.length === options.frames) {
            done = true;
            clearTimeout(timer);
            // Let the last `painted` leave before the socket closes.
            setTimeout(() => {
              socket.close();
              resolve(samples);
            }, 50);
          }
        }, (err: unknown) => fail(`frame ${frame.id} does not decode: ${(err as Error).message}`));
    });
  });
}

export async function measureLatency(options: LatencyOptions): Promise<LatencyReport> {
  const samples = await collect(options);
  let daemonPaintP95Ms: number | null = null;
  try {
    const health = (await (await fetch(new URL('/healthz', options.url))).json()) as { paintLatencyP95Ms?: unknown };
    daemonPaintP95Ms = typeof health.paintLatencyP95Ms === 'number' ? health.paintLatencyP95Ms : null;
  } catch {
    // /healthz is a cross-check; the client's own numbers stand without it.
  }
  return {
    frames: samples.length,
    captureToEmit: stats(samples.map((s) => s.emit)),
    captureToReceive: stats(samples.map((s) => s.receive)),
    captureToPaint: stats(samples.map((s) => s.paint)),
    daemonPaintP95Ms,
  };
}
