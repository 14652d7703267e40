/**
 * Entry point: validate config before anything starts, run the daemon, tell systemd, and shut
 * down cleanly on SIGTERM/SIGINT within the stop budget.
 */
import { parseArgs } from 'node:util';
import { loadConfig } from './config/load.ts';
import { MirrorError } from '../fleet/protocol/errors.ts';
import { createRootLogger } from './core/logger.ts';
import { redactSecrets } from './core/redact.ts';
import { startDaemon } from './daemon.ts';
import { welcomeLine } from './daemon/welcome.ts';
import { startControl } from './control/index.ts';
import { createSystemdNotifier } from './systemd/notify.ts';
import { LogRing } from './commands/log-ring.ts';
import type { ReloadAnswer } from './control/protocol.ts';

/** systemd's TimeoutStopSec is 5 s; the tests hold the daemon to 3 s. */
const STOP_BUDGET_MS = 2800;
const EX_CONFIG = 78;

const { values: args } = parseArgs({
  options: {
    config: { type: 'string', short: 'c' },
    'check-config': { type: 'boolean', default: false },
  },
});

const configFile = args.config ?? process.env.MIRROR_CONFIG;
let config;
try {
  config = loadConfig({ file: configFile });
} catch (err) {
  const message = err instanceof MirrorError ? err.message : String(err);
  process.stderr.write(`mirror: ${message}\n`);
  process.exit(EX_CONFIG);
}
if (args['check-config']) {
  // The check is pasted into tickets and chats: no password or URL credentials in it.
  process.stdout.write(`${JSON.stringify(redactSecrets(config), null, 2)}\nconfig OK\n`);
  process.exit(0);
}

// The last lines in memory for the fleet's `logs` command (redacted when read, never on disk).
const logRing = new LogRing();
const logger = createRootLogger(config.logLevel, process.env, (line) => logRing.push(line));
const systemd = createSystemdNotifier(logger);

process.on('unhandledRejection', (reason) => logger.error({ err: String(reason) }, 'unhandled rejection'));

let daemon: Awaited<ReturnType<typeof startDaemon>>;
// Set once the control channel is up; a reload command before that is answered as unavailable.
let reloadNow: (() => ReloadAnswer) | undefined;
// A `restart` taken while starting (its result already sent) stops the daemon once start-up is done.
let running = false;
let exitWhenStarted: number | undefined;
try {
  daemon = await startDaemon(config, logger, {
    logRing,
    exit: (code) => (running ? void shutdown('restart-command', code) : (exitWhenStarted = code)),
    reload: () => reloadNow?.() ?? { ok: false, error: 'the daemon is still starting; try again' },
  });
} catch (err) {
  logger.fatal({ code: (err as MirrorError).code, err: (err as Error).message }, 'start-up failed');
  // A config problem found while starting (a pinned key, a TLS file) exits like one found earlier.
  process.exit((err as MirrorError).code === 'MIRROR_ERR_CONFIG' ? EX_CONFIG : 1);
}
// mirrorctl's socket; SIGHUP (systemctl reload) re-reads the config file like `mirrorctl reload`.
const control = await startControl({ target: daemon.control, running: config, load: () => loadConfig({ file: configFile }), logger });
process.on('SIGHUP', () => control.reload());
reloadNow = () => control.reload();
systemd.ready(`serving kiosk on port ${daemon.kioskPort}`);
// A person at a terminal gets one line saying where to look; journald and pipes keep pure JSON.
if (process.stdout.isTTY) {
  const line = welcomeLine({ host: config.host, port: daemon.kioskPort, sourceSpec: daemon.sourceSpec, sourceDescription: daemon.sourceDescription });
  process.stdout.write(`\n${line}\n\n`);
}

// The watchdog is fed only while frames flow, so a wedged pipeline gets the daemon restarted.
const watchdogMs = systemd.watchdogIntervalMs;
const watchdogTimer = watchdogMs
  ? setInterval(() => {
      const age = daemon.lastFrameAgeMs();
      if (age !== null && age < 5000) systemd.watchdog();
    }, watchdogMs)
  : null;

let stopping = false;
/** `code` 0 for a signal; EXIT_RESTART (75) for a fleet `restart`, which systemd restarts (RestartForceExitStatus). */
async function shutdown(signal: string, code = 0): Promise<void> {
  if (stopping) return;
  stopping = true;
  logger.info({ signal }, 'stopping');
  systemd.stopping();
  if (watchdogTimer) clearInterval(watchdogTimer);
  const deadline = setTimeout(() => {
    logger.error({ budgetMs: STOP_BUDGET_MS }, 'stop took too long, exiting anyway');
    process.exit(1);
  }, STOP_BUDGET_MS);
  await control.close();
  await daemon.stop();
  clearTimeout(deadline);
  logger.info({ exitCode: code }, 'stopped');
  logger.flush();
  process.exit(code);
}
process.on('SIGTERM', () => void shutdown('SIGTERM'));
process.on('SIGINT', () => void shutdown('SIGINT'));
running = true;
if (exitWhenStarted !== undefined) void shutdown('restart-command', exitWhenStarted);
