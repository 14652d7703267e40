/**
 * `npm run fleet`: the fleet service. Config from `--config FILE` / `FLEET_CONFIG` and the
 * environment (see config.ts); exit code 78 on a bad config.
 */
import { createFleetService } from './app.ts';
import { FleetConfigError, loadFleetConfig } from './config.ts';

async function main(): Promise<void> {
  let config;
  try {
    config = loadFleetConfig();
  } catch (err) {
    if (err instanceof FleetConfigError) {
      console.error(err.message);
      process.exit(78);
    }
    throw err;
  }
  const svc = await createFleetService(config);
  svc.app.log.info({ url: svc.url }, 'fleet service listening');
  let stopping = false;
  const stop = (sig: string) => {
    if (stopping) return;
    stopping = true;
    svc.app.log.info({ signal: sig }, 'stopping');
    const force = setTimeout(() => process.exit(1), 5000);
    force.unref();
    svc.close().then(() => process.exit(0));
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}

main().catch((err) => {
  console.error(`fleet service failed to start: ${(err as Error).message}`);
  process.exit(1);
});
