/**
 * Writes the advisor's tone model (device/advisor/tone-model.json): fairness-fit.ts's model built on
 * every labelled face of tests/fixtures/fairness outside the check sets still held out (eval-fairness.ts
 * HELD_OUT_SETS: faces kept apart to check the model, never fitted; none since round 9), each face read by the mirror's own code (sampleSkin,
 * whose tone features are tone-estimate.ts's) on the mirror's mesh cached by fairness-landmarks.ts.
 * `npm run eval:fairness` checks, on its own fresh tracker run, that the committed model is this fit.
 * The form (which TONE_INPUTS set, cut points or rounding) is the one fairness-cv.ts chose:
 *   npx tsx device/tools/fairness-landmarks.ts && npx tsx device/tools/fairness-write-model.ts --inputs whiteBalancedL --cuts
 */
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { sampleSkin } from '../advisor/skin-sample.ts';
import { FIXTURES, frameOf, heldOutSet, LabelsSchema } from './eval-fairness.ts';
import { z } from 'zod';
import { TONE_INPUTS } from '../advisor/tone-estimate.ts';
import { fitToneModel } from './fairness-fit.ts';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const labels = LabelsSchema.parse(JSON.parse(readFileSync(path.join(FIXTURES, 'labels.json'), 'utf8')));
const marks = JSON.parse(readFileSync(path.join(root, 'test-artifacts', 'fairness', 'landmarks.json'), 'utf8')) as Record<string, Array<[number, number, number]> | null>;
const faces = [];
for (const l of labels.filter((x) => heldOutSet(x) === undefined)) {
  const lm = marks[l.file];
  if (!lm) throw new Error(`${l.file}: no cached mesh (run fairness-landmarks.ts)`);
  const s = sampleSkin(await frameOf(path.join(FIXTURES, l.file)), { box: { x: 0, y: 0, width: 0, height: 0 }, score: 1, landmarks: lm });
  faces.push({ features: s?.tone ?? null, label: l.monk });
}
const at = process.argv.indexOf('--inputs');
const form = z
  .object({ inputs: z.enum(Object.keys(TONE_INPUTS) as [keyof typeof TONE_INPUTS]), cuts: z.boolean() })
  .parse({ inputs: at >= 0 ? process.argv[at + 1] : 'lit', cuts: process.argv.includes('--cuts') });
const model = fitToneModel(faces, form);
const out = path.join(root, 'device', 'advisor', 'tone-model.json');
writeFileSync(out, JSON.stringify(model) + '\n');
console.log(`written ${path.relative(root, out)}: ${JSON.stringify(model)} (${faces.length} faces)`);
