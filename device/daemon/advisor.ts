/**
 * The beauty advisor as the daemon starts it: fed every frame by the pipeline's vision stage with
 * the camera's colour-corrected pixels BEFORE the try-on paints them (frame-path.ts), it sends the
 * `advisor` event to every kiosk (and the current reading to a kiosk that connects later), and is
 * wiped when the shopper's session ends. With advisor.shareToneWithEvents (the retailer's choice,
 * off by default) it lends the shopper's tone band and undertone to product.tried and look.saved.
 * A failing analysis costs that frame's reading, never the frame.
 */
import type { MirrorConfig } from '../config/schema.ts';
import type { Frame } from '../core/frame.ts';
import type { Logger } from '../core/logger.ts';
import type { FaceShape } from '../advisor/face-shape.ts';
import { AdvisorSession } from '../advisor/session.ts';
import type { TrendsSlot } from '../advisor/trends-host.ts';
import { toneBandOf } from '../advisor/trends.ts';
import type { SessionTracker } from '../telemetry/events.ts';
import type { KioskServer, KioskSocket } from '../transport/kiosk-server.ts';
import type { CatalogSlot } from '../tryon/catalog.ts';
import type { Face } from '../vision/face.ts';

export interface RunningAdvisor {
  /** One frame after vision, before try-on. */
  observe(frame: Frame, faces: readonly Face[]): void;
  /** The face shape on the kiosk's reading (null: none yet): the try-on places blush and contour by it. */
  faceShape(): FaceShape | null;
  /** What product events may carry: null unless the retailer enabled it and a reading is on screen. */
  toneTags(): { toneBand: string; undertone: string } | null;
  summary(): Record<string, unknown>;
}

export function startAdvisor(
  config: MirrorConfig,
  /** trends: the installed recommendation artifact (device/advisor/trends-host.ts), swapped by the update agent. */
  parts: { kiosk: KioskServer; sessions: SessionTracker; catalogSlot: CatalogSlot; trends: TrendsSlot },
  logger: Logger,
): RunningAdvisor | null {
  const settings = config.advisor;
  if (!settings.enabled) return null;
  const sockets = new Set<KioskSocket>();
  const session = new AdvisorSession({
    everyFrames: settings.everyFrames,
    settleMs: settings.settleMs,
    leaveMs: settings.leaveMs,
    catalog: () => parts.catalogSlot.current.catalog,
    trends: () => ({ artifact: parts.trends.current(), storeId: config.mqtt.storeId, minSessions: settings.minSessions }),
    emit: (message) => {
      for (const socket of sockets) socket.emit('advisor', message);
    },
  });
  parts.kiosk.onClient((socket) => {
    sockets.add(socket);
    socket.on('disconnect', () => sockets.delete(socket));
    if (session.current) socket.emit('advisor', session.current);
  });
  // Privacy: nothing of the reading outlives the shopper's session.
  parts.sessions.onEnd(() => session.wipe());
  let analysed = 0;
  let analysisMs = 0;
  let lastErrorAt = 0;
  logger.info({ everyFrames: settings.everyFrames, trends: parts.trends.current()?.version ?? null, shareToneWithEvents: settings.shareToneWithEvents }, 'beauty advisor on');
  return {
    observe(frame, faces) {
      const t0 = performance.now();
      try {
        if (session.observe(frame, faces, frame.capturedAt)) {
          analysed++;
          analysisMs += performance.now() - t0;
        }
      } catch (err) {
        if (Date.now() - lastErrorAt > 5000) {
          lastErrorAt = Date.now();
          logger.error({ err: (err as Error).stack ?? String(err) }, 'skin analysis failed; reading skipped on this frame');
        }
      }
    },
    faceShape: () => session.current?.faceShape ?? null,
    toneTags() {
      const current = session.current;
      if (!settings.shareToneWithEvents || !current) return null;
      return { toneBand: toneBandOf(current.monk), undertone: current.undertone };
    },
    summary: () => ({
      reading: session.current !== null,
      heldFrames: session.heldFrames,
      analysedFrames: analysed,
      meanAnalysisMs: analysed ? Number((analysisMs / analysed).toFixed(2)) : null,
      trends: parts.trends.current()?.version ?? null,
      shareToneWithEvents: settings.shareToneWithEvents,
    }),
  };
}
