/**
 * Caches the mirror's mesh on every fairness photo (test-artifacts/fairness/landmarks.json) so tone
 * experiments (fairness-cv.ts) can re-read the pixels without re-running the CNNs.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { resolveModel } from '../../models/registry.ts';
import { FaceDetector } from '../vision/detector.ts';
import { FaceTracker } from '../vision/face-tracker.ts';
import { FaceMesh } from '../vision/mesh.ts';
import { createTfjsRuntime } from '../vision/runtime/tfjs-runtime.ts';
import { FIXTURES, frameOf, LabelsSchema } from './eval-fairness.ts';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const OUT = path.join(root, 'test-artifacts', 'fairness', 'landmarks.json');

const labels = LabelsSchema.parse(JSON.parse(readFileSync(path.join(FIXTURES, 'labels.json'), 'utf8')));
const quiet = { info: () => {}, warn: () => {}, error: () => {} };
const runtime = await createTfjsRuntime('auto', quiet);
const detector = new FaceDetector(await runtime.load(await resolveModel('face-detector')), { minScore: 0.5 });
const mesh = new FaceMesh(await runtime.load(await resolveModel('face-mesh')));
const out: Record<string, Array<[number, number, number]> | null> = {};
for (const l of labels) {
  const image = await frameOf(path.join(FIXTURES, l.file));
  const tracker = new FaceTracker(detector, mesh, { minMeshScore: 0.5 });
  out[l.file] = (await tracker.process(image)).faces[0]?.landmarks ?? null;
}
mkdirSync(path.dirname(OUT), { recursive: true });
writeFileSync(OUT, JSON.stringify(out));
console.log(`written ${OUT}`);
