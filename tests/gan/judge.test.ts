/**
 * The independent judge is the yardstick every refiner is scored by (tests/gan/quality.test.ts), so
 * it must not move when the renderer does: its photo-vs-render pairs are rendered by the renderer of
 * a pinned commit (config.json judge.renderCommit; models/gan/train/judge.sh), judge.py refuses any
 * other data than the committed list (judge-data.json), and `npm run train:gan` leaves it alone.
 * Here: the committed judge is the one trained on that list at that pin.
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { REFERENCE_GAN_DIR } from '../../models/gan/manifest.ts';
import { readTrainConfig } from '../../models/gan/train/prepare-data.ts';
import { repoRoot } from '../helpers/daemon.ts';

const JudgeSummary = z.object({ sha256: z.string(), renderCommit: z.string(), dataListSha256: z.string(), samples: z.number() });
const DataList = z.strictObject({ renderCommit: z.string(), pairs: z.record(z.string(), z.string().regex(/^[0-9a-f]{64}$/)) });

/** judge.py hashes the list as Python's json.dumps(pairs, sort_keys=True) writes it. */
const pythonJson = (pairs: Record<string, string>) => `{${Object.keys(pairs).sort().map((k) => `${JSON.stringify(k)}: ${JSON.stringify(pairs[k])}`).join(', ')}}`;

describe('the judge does not move with the renderer', () => {
  it('judge.onnx is the one trained on the committed data list, rendered at the pinned commit', async () => {
    const config = await readTrainConfig();
    const pin = z.object({ renderCommit: z.string().regex(/^[0-9a-f]{40}$/) }).parse(config.judge).renderCommit;
    const summary = JudgeSummary.parse(JSON.parse(await readFile(path.join(REFERENCE_GAN_DIR, 'judge.json'), 'utf8')));
    const list = DataList.parse(JSON.parse(await readFile(path.join(repoRoot, 'models/gan/train/judge-data.json'), 'utf8')));
    expect(summary.renderCommit).toBe(pin);
    expect(list.renderCommit).toBe(pin);
    expect(Object.keys(list.pairs)).toHaveLength(summary.samples);
    expect(createHash('sha256').update(pythonJson(list.pairs)).digest('hex')).toBe(summary.dataListSha256);
    expect(createHash('sha256').update(await readFile(path.join(REFERENCE_GAN_DIR, 'judge.onnx'))).digest('hex')).toBe(summary.sha256);
  });
});
