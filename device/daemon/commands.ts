/**
 * Fleet commands as the daemon starts them (device/commands): the agent is made before telemetry
 * so that a command arriving on the first connection already has somewhere to go; results go out
 * over the telemetry agent, acknowledged, or through the durable outbox when the broker is away.
 */
import path from 'node:path';
import { resultTopic } from '../../fleet/protocol/topics.ts';
import type { MirrorConfig } from '../config/schema.ts';
import type { ReloadAnswer } from '../control/protocol.ts';
import type { PipelineStats } from '../core/pipeline-stats.ts';
import { nowMs } from '../core/frame.ts';
import type { Logger, LogLevel } from '../core/logger.ts';
import { createCommandAgent, EXIT_RESTART, type CommandAgent } from '../commands/agent.ts';
import { TemporaryLogLevel } from '../commands/log-level.ts';
import type { LogRing } from '../commands/log-ring.ts';
import { runSelfTest } from '../commands/self-test.ts';
import type { TelemetryAgent } from '../telemetry/mqtt-agent.ts';
import type { FaceStage } from '../vision/face-stage.ts';
import { GOLDEN_FRAMES, loadGoldenFrames } from '../vision/update-port.ts';
import type { RgbImage } from '../vision/image-ops.ts';
import type { StartupKeys } from './secrets.ts';
import type { StopSteps } from './stop-steps.ts';

/** What main.ts lends the commands: the process-level parts the daemon does not own. */
export interface DaemonHooks {
  /** The root logger's last lines (main.ts taps the logger into it); without it `logs` returns none. */
  logRing?: LogRing;
  /** Begins a clean stop that exits with `code` (main.ts's shutdown). */
  exit?: (code: number) => void;
  /** Re-reads and applies the config file as `mirrorctl reload` does (main.ts's control channel). */
  reload?: () => ReloadAnswer;
}

export interface CommandParts {
  keys: StartupKeys;
  vision: FaceStage;
  stats: PipelineStats;
  /** The telemetry agent, once started (results wait for it). */
  telemetry: () => TelemetryAgent | undefined;
  /** The pino logger whose level `log-level` changes. */
  levelled: { level: string };
  hooks: DaemonHooks;
}

/** How long a result may wait for the broker's acknowledgement before it goes to the outbox instead. */
const RESULT_ACK_MS = 3000;

export function startCommands(config: MirrorConfig, parts: CommandParts, stops: StopSteps, logger: Logger): CommandAgent {
  const addr = { storeId: config.mqtt.storeId, deviceId: config.mqtt.deviceId };
  const stateDir = path.resolve(config.stateDir);
  const level = new TemporaryLogLevel(parts.levelled, logger);
  stops.add('command log level', () => level.dispose());
  let golden: Promise<RgbImage> | undefined;
  const topic = resultTopic(addr);
  const agent = createCommandAgent({
    addr,
    keys: parts.keys.commandKeys,
    stateDir,
    logger,
    publish: async (result) => {
      const agent = parts.telemetry();
      if (!agent) return false;
      const payload = Buffer.from(JSON.stringify(result));
      return (await agent.publishAcked(topic, payload, RESULT_ACK_MS)) || agent.enqueue('event', topic, payload);
    },
    host: {
      restart: () => (parts.hooks.exit ? parts.hooks.exit(EXIT_RESTART) : logger.error({}, 'commands: restart asked but nothing can stop this daemon')),
      reload: () => parts.hooks.reload?.() ?? { ok: false, error: 'config reload is not available in this daemon' },
      logs: (n, maxBytes) => parts.hooks.logRing?.tail(n, maxBytes) ?? { lines: [], truncated: false },
      selfTest: () =>
        runSelfTest({
          detect: (image) => parts.vision.detector.detect(image),
          detectorBackend: () => parts.vision.backends['face-detector'],
          goldenFrame: () => {
            golden ??= loadGoldenFrames([GOLDEN_FRAMES[0]]).then((f) => f[0]);
            return golden.catch((err: unknown) => {
              golden = undefined;
              throw err;
            });
          },
          processedFrames: () => parts.stats.snapshot(nowMs()).processedFrames,
          stateDir,
          brokerConnected: () => parts.telemetry()?.connected ?? false,
        }),
      setLogLevel: (l: LogLevel, ms: number) => level.set(l, ms),
    },
  });
  return agent;
}
