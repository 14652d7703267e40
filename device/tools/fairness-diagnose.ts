/**
 * Why the tone reading misses, face by face: every labelled photo read by the shipped features and by
 * the fit on all the other faces (leave-one-out, the continuous score before rounding), with what the
 * skin sampler kept and dropped. Prints per-tone means (how far the ends are pulled to the middle) and
 * the worst faces; writes a contact sheet of them (test-artifacts/fairness/worst.png) to look at.
 *   npx tsx device/tools/fairness-landmarks.ts && npx tsx device/tools/fairness-diagnose.ts
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';
import { sampleSkin } from '../advisor/skin-sample.ts';
import { toneInputs, toneScore } from '../advisor/tone-estimate.ts';
import { FIXTURES, frameOf, LabelsSchema } from './eval-fairness.ts';
import { fitToneModel, type LabelledFeatures } from './fairness-fit.ts';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const labels = LabelsSchema.parse(JSON.parse(readFileSync(path.join(FIXTURES, 'labels.json'), 'utf8')));
const marks = JSON.parse(readFileSync(path.join(root, 'test-artifacts', 'fairness', 'landmarks.json'), 'utf8')) as Record<string, Array<[number, number, number]> | null>;

const rows = [];
for (const l of labels) {
  const lm = marks[l.file];
  const s = lm ? sampleSkin(await frameOf(path.join(FIXTURES, l.file)), { box: { x: 0, y: 0, width: 0, height: 0 }, score: 1, landmarks: lm }) : null;
  // Face size in the 640x480 frame: the distance between the eye centres (mesh 33/133 and 362/263).
  const eye = (a: number, b: number) => (lm ? [(lm[a][0] + lm[b][0]) / 2, (lm[a][1] + lm[b][1]) / 2] : [0, 0]);
  const iod = lm ? Math.hypot(eye(33, 133)[0] - eye(362, 263)[0], eye(33, 133)[1] - eye(362, 263)[1]) : 0;
  rows.push({ file: l.file, label: l.monk, s, iod, added: l.source.startsWith('civicsense') });
}
const lf: LabelledFeatures[] = rows.map((r) => ({ features: r.s?.tone ?? null, label: r.label }));
const out = rows.map((r, i) => {
  const model = fitToneModel(lf.filter((_, j) => j !== i));
  const score = r.s?.tone ? toneScore(r.s.tone, model) : NaN;
  return { ...r, score, err: score - r.label, x: r.s?.tone ? toneInputs(r.s.tone) : null };
});
const mean = (v: number[]) => v.reduce((a, b) => a + b, 0) / v.length;
const sd = (v: number[]) => Math.sqrt(mean(v.map((x) => (x - mean(v)) ** 2)));
console.log('label n | LOO score mean (sd) | lit.logY | whitesLogY | lit.relBG | lit.relRG | ITA | no whites');
for (let m = 1; m <= 10; m++) {
  const g = out.filter((r) => r.label === m);
  if (!g.length) continue;
  const col = (k: number) => {
    const v = g.flatMap((r) => (r.x ? [r.x[k]] : []));
    return v.length ? `${mean(v).toFixed(2)} (${sd(v).toFixed(2)})` : '-';
  };
  const sc = g.map((r) => r.score).filter(Number.isFinite);
  console.log(`${m} ${g.length} | ${mean(sc).toFixed(2)} (${sd(sc).toFixed(2)}) | ${col(0)} | ${col(1)} | ${col(2)} | ${col(3)} | ${mean(g.map((r) => r.s?.tone?.ita ?? NaN)).toFixed(1)} | ${g.filter((r) => !r.x).length}`);
}
const bySize = [...out].filter((r) => Number.isFinite(r.score)).sort((a, b) => a.iod - b.iod);
const third = Math.ceil(bySize.length / 3);
for (const [name, g] of [['smallest third', bySize.slice(0, third)], ['middle third', bySize.slice(third, 2 * third)], ['largest third', bySize.slice(2 * third)]] as const)
  console.log(`${name} (eye distance ${g[0].iod.toFixed(0)}-${g[g.length - 1].iod.toFixed(0)} px): LOO |score - label| mean ${mean(g.map((r) => Math.abs(r.err))).toFixed(2)}, within ±1 after rounding ${g.filter((r) => Math.abs(Math.min(10, Math.max(1, Math.round(r.score))) - r.label) <= 1).length}/${g.length}`);
const worst = [...out].filter((r) => Number.isFinite(r.score)).sort((a, b) => Math.abs(b.err) - Math.abs(a.err));
console.log('\nworst (|LOO score - label| >= 1.5):');
for (const r of worst.filter((r) => Math.abs(r.err) >= 1.5))
  console.log(
    `${r.file} iod ${r.iod.toFixed(0)} label ${r.label} score ${r.score.toFixed(2)} x ${r.x?.map((v) => v.toFixed(2)).join(',')} ita ${r.s?.tone?.ita.toFixed(1)} dropped ${r.s?.patches.filter((p) => p.dropped).map((p) => `${p.region}:${p.dropped}`).join(' ') || '-'} spread ${r.s?.spread.toFixed(1)}`,
  );
if (process.argv.includes('--sheet')) {
  const pick = worst.filter((r) => Math.abs(r.err) >= 1.5).slice(0, 40);
  const tiles = await Promise.all(
    pick.map(async (r) => ({
      input: await sharp(path.join(FIXTURES, r.file)).resize(140, 176, { fit: 'cover' }).toBuffer(),
    })),
  );
  const cols = 8;
  const W = 140;
  const H = 176 + 20;
  const svg = (r: (typeof pick)[number]) => Buffer.from(`<svg width="${W}" height="20"><rect width="${W}" height="20" fill="white"/><text x="3" y="15" font-size="13" font-family="sans-serif">${r.label} read ${r.score.toFixed(1)} ${r.file.slice(0, 7)}</text></svg>`);
  await sharp({ create: { width: cols * W, height: Math.ceil(pick.length / cols) * H, channels: 3, background: '#ffffff' } })
    .composite(pick.flatMap((r, i) => [
      { ...tiles[i], left: (i % cols) * W, top: Math.floor(i / cols) * H },
      { input: svg(r), left: (i % cols) * W, top: Math.floor(i / cols) * H + 176 },
    ]))
    .png()
    .toFile(path.join(root, 'test-artifacts', 'fairness', 'worst.png'));
}
