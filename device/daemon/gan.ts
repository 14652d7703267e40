/**
 * The GAN stage as the daemon starts it: nothing unless config `gan.model` names a model; the model
 * verified against its manifest and opened on the vision providers; its time measured here. A model
 * that does not load, or a stage that turns itself off, is on the degradation ladder (component
 * `gan`) with the reason, and the mirror runs on the classical render alone.
 */
import path from 'node:path';
import type { MirrorConfig } from '../config/schema.ts';
import type { DegradationLadder } from '../core/degraded.ts';
import type { Logger } from '../core/logger.ts';
import { openGanModel } from '../gan/gan-model.ts';
import { GanStage } from '../gan/gan-stage.ts';
import type { StopSteps } from './stop-steps.ts';

export async function startGan(config: MirrorConfig, ladder: DegradationLadder, stops: StopSteps, logger: Logger): Promise<GanStage | null> {
  const { model, budgetMs, maxEvery } = config.gan;
  if (!model) return null;
  try {
    const opened = await openGanModel(path.resolve(model), { providers: config.vision.providers, stateDir: path.resolve(config.stateDir), logger });
    const stage = await GanStage.start(opened, {
      budgetMs,
      maxEvery,
      logger,
      onModeChange: (mode, reason) => (mode === 'off' ? ladder.set('gan', reason.slice(0, 200)) : ladder.clear('gan')),
    });
    if (stage.mode === 'off') ladder.set('gan', stage.health().reason.slice(0, 200));
    stops.add('gan', () => stage.dispose());
    return stage;
  } catch (err) {
    const reason = (err as Error).message;
    logger.error({ model, reason }, 'GAN model refused; the mirror runs on the classical render alone');
    ladder.set('gan', reason.slice(0, 200));
    return null;
  }
}
