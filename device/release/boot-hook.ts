/**
 * The release boot check as a command, for systemd's ExecStartPre (mirror-daemon.service) and
 * anything else that starts the daemon: run from the installed base (never from a release), before
 * every start. Always exits 0: a failing check must not keep the mirror from starting; it logs why.
 *
 *   node --import tsx device/release/boot-hook.ts --state-dir /var/lib/smart-mirror \
 *        --releases /var/lib/smart-mirror/releases [--max-starts 3] [--start-window-s 300]
 */
import { parseArgs } from 'node:util';
import { createRootLogger } from '../core/logger.ts';
import { DEFAULT_APP_BOOT_LIMITS, runAppBootCheck } from './boot-check.ts';

const { values } = parseArgs({
  options: {
    'state-dir': { type: 'string' },
    releases: { type: 'string' },
    'max-starts': { type: 'string' },
    'start-window-s': { type: 'string' },
  },
});
const logger = createRootLogger('info');
const stateDir = values['state-dir'] ?? process.env.MIRROR_STATE_DIR;
if (!stateDir || !values.releases) {
  logger.error({}, 'release boot: --state-dir (or MIRROR_STATE_DIR) and --releases are required; nothing checked');
  process.exit(0);
}
const maxStarts = Number(values['max-starts'] ?? DEFAULT_APP_BOOT_LIMITS.maxStarts);
const windowS = Number(values['start-window-s'] ?? DEFAULT_APP_BOOT_LIMITS.windowMs / 1000);
try {
  const result = await runAppBootCheck({
    stateDir,
    releasesDir: values.releases,
    limits: {
      maxStarts: Number.isInteger(maxStarts) && maxStarts > 0 ? maxStarts : DEFAULT_APP_BOOT_LIMITS.maxStarts,
      windowMs: Number.isFinite(windowS) && windowS > 0 ? windowS * 1000 : DEFAULT_APP_BOOT_LIMITS.windowMs,
    },
    logger,
  });
  logger.info({ action: result.decision.action, current: result.current, moved: result.moved }, 'release boot: checked');
} catch (err) {
  logger.error({ err: (err as Error).message }, 'release boot: check failed; starting whatever current names');
}
logger.flush();
