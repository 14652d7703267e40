/**
 * The kiosk transport as the daemon starts it, before the source so the kiosk can connect while
 * the source spins up: the UI, /healthz (secrets redacted, also what mirrorctl reads), /metrics,
 * frames and the once-a-second stats message.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { MirrorConfig } from '../config/schema.ts';
import type { Logger } from '../core/logger.ts';
import { redactSecrets } from '../core/redact.ts';
import { startKioskServer, type KioskServer } from '../transport/kiosk-server.ts';
import { healthReport, statsMessage, type DaemonParts } from './health.ts';
import type { DaemonMetrics } from './metrics.ts';
import type { StopSteps } from './stop-steps.ts';

const uiDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'ui', 'dist');

export async function startTransport(config: MirrorConfig, parts: DaemonParts, metrics: DaemonMetrics, stops: StopSteps, logger: Logger): Promise<KioskServer> {
  const kiosk = await startKioskServer({
    host: config.host,
    port: config.port,
    uiDir,
    allowedOrigins: config.kiosk.allowedOrigins,
    welcome: { idleTimeoutMs: config.kiosk.idleTimeoutMs },
    // Secrets never reach /healthz, whatever field holds them.
    health: () => redactSecrets(healthReport(parts)),
    metrics: metrics.registry,
    onPainted: (capturedAt, paintedAt) => parts.stats.recordPaint(capturedAt, paintedAt),
    // With framing on, the crop is sized for this box from the next frame on (device/framing/stage.ts glassFor).
    onDisplay: (glass) => {
      const matches = glass.width === config.display.width && glass.height === config.display.height;
      if (matches || !config.framing.enabled) logger.info({ glass, display: config.display }, 'kiosk mirror box');
      else logger.info({ glass, display: config.display }, 'kiosk mirror box differs from the display config: frames are cut and sized for the box');
    },
    logger,
  });
  stops.add('kiosk server', () => kiosk.close());
  logger.info({ host: config.host, port: kiosk.port, url: `http://${config.host}:${kiosk.port}/` }, 'kiosk listening');
  const statsTimer = setInterval(() => kiosk.emitStats(statsMessage(parts)), 1000);
  stops.add('stats timer', () => clearInterval(statsTimer));
  return kiosk;
}
