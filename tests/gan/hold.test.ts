/**
 * The trainer holds the generator's residual as the device's guard does (models/gan/train/hold.py,
 * config.json train.guard): the options it trains under must be the ones the device enforces
 * (DEFAULT_GUARD), or the generator learns against a guard the device does not run. The hold's
 * arithmetic was checked against guardResidual pixel by pixel when it was written (report gan2).
 */
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { DEFAULT_GUARD } from '../../device/gan/residual-guard.ts';
import { readTrainConfig } from '../../models/gan/train/prepare-data.ts';

const TrainGuard = z.strictObject({ lightShare: z.number(), ownShare: z.number(), ownRadius: z.number().int(), ownReach: z.number().int() });

describe('trainer light hold', () => {
  it("trains under the device guard's light-hold options", async () => {
    const config = await readTrainConfig();
    const guard = TrainGuard.parse(config.train.guard);
    expect(guard).toEqual({ lightShare: DEFAULT_GUARD.lightShare, ownShare: DEFAULT_GUARD.ownShare, ownRadius: DEFAULT_GUARD.ownRadius, ownReach: DEFAULT_GUARD.ownReach });
  });
});
