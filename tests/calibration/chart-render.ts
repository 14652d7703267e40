/**
 * Renders a ColorChecker Classic photo as a mirror camera would take it, from the published
 * reference values (calibration/colour/reference.ts) under known distortions: the chart placed
 * in perspective on a real photo, the scene under another light (a Bradford cast between two
 * black-body whites), exposure, a tone curve that is not sRGB's, sensor noise and JPEG.
 */
import { converter } from 'culori';
import sharp from 'sharp';
import { fitHomography, invert, mapPoint, type Point } from '../../calibration/homography.ts';
import { decodeImage, type RgbImage } from '../../calibration/image.ts';
import { CHART_COLUMNS, CHART_ROWS, REFERENCE_LINEAR, type Rgb } from '../../calibration/colour/reference.ts';

export interface Distortion {
  /** The scene light's colour temperature and the one the camera is balanced for (K). */
  cast?: { scene: number; camera: number };
  /** Multiplies the light (1 = the reference exposure). */
  exposure?: number;
  /** Encoded value v → v^gamma after the sRGB encoding (a camera tone curve). */
  gamma?: number;
  /** Gaussian noise, standard deviation in 8-bit code values. */
  noise?: number;
  /** JPEG quality; unset = lossless PNG. */
  jpeg?: number;
  /** Where the chart's four outer corners land (top-left, top-right, bottom-right, bottom-left). */
  corners: [Point, Point, Point, Point];
  size: { width: number; height: number };
}

/** Black-body chromaticity (Kim et al. 2002 cubic fit of the Planckian locus, 1667-25000 K). */
function planckianXy(t: number): [number, number] {
  const x =
    t <= 4000
      ? -0.2661239e9 / t ** 3 - 0.2343589e6 / t ** 2 + 0.8776956e3 / t + 0.17991
      : -3.0258469e9 / t ** 3 + 2.1070379e6 / t ** 2 + 0.2226347e3 / t + 0.24039;
  const y =
    t <= 2222
      ? -1.1063814 * x ** 3 - 1.3481102 * x ** 2 + 2.18555832 * x - 0.20219683
      : t <= 4000
        ? -0.9549476 * x ** 3 - 1.37418593 * x ** 2 + 2.09137015 * x - 0.16748867
        : 3.081758 * x ** 3 - 5.8733867 * x ** 2 + 3.75112997 * x - 0.37001483;
  return [x, y];
}

const BRADFORD = [0.8951, 0.2664, -0.1614, -0.7502, 1.7135, 0.0367, 0.0389, -0.0685, 1.0296];
const mul3 = (m: readonly number[], v: Rgb): Rgb => [0, 1, 2].map((r) => m[r * 3] * v[0] + m[r * 3 + 1] * v[1] + m[r * 3 + 2] * v[2]) as Rgb;

/** XYZ → XYZ: what a surface looks like under `scene` light to a camera balanced for `camera`. */
function castMatrix(scene: number, camera: number): (xyz: Rgb) => Rgb {
  const white = (t: number): Rgb => {
    const [x, y] = planckianXy(t);
    return mul3(BRADFORD, [x / y, 1, (1 - x - y) / y]);
  };
  const ws = white(scene);
  const wc = white(camera);
  const inv = invert(BRADFORD);
  return (xyz) => {
    const cone = mul3(BRADFORD, xyz);
    return mul3(inv, [cone[0] * (ws[0] / wc[0]), cone[1] * (ws[1] / wc[1]), cone[2] * (ws[2] / wc[2])]);
  };
}

const toXyz = converter('xyz65');
const toLrgb = converter('lrgb');
const toRgb = converter('rgb');
const fromRgb = converter('lrgb');

/** Linear RGB of the chart at chart-plane point (u, v): a patch, or the chart's black body. */
function chartColour(u: number, v: number): Rgb | null {
  if (u < -0.3 || v < -0.3 || u > CHART_COLUMNS + 0.3 || v > CHART_ROWS + 0.3) return null;
  const c = Math.floor(u);
  const r = Math.floor(v);
  const inPatch = c >= 0 && r >= 0 && c < CHART_COLUMNS && r < CHART_ROWS && u - c > 0.1 && u - c < 0.9 && v - r > 0.1 && v - r < 0.9;
  if (!inPatch) return [0.012, 0.012, 0.012];
  return REFERENCE_LINEAR[r * CHART_COLUMNS + c].map((x) => Math.max(0, x)) as Rgb;
}

/** Gaussian noise from a seeded generator, so every run renders the same photo. */
function gaussian(seed: number): () => number {
  let s = seed >>> 0;
  const uniform = (): number => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return (s + 0.5) / 4294967296;
  };
  return () => Math.sqrt(-2 * Math.log(uniform())) * Math.cos(2 * Math.PI * uniform());
}

/** The scene in linear light: the background photo with the chart drawn in perspective (2x2 supersampled). */
async function scene(d: Distortion, background: string): Promise<Float32Array> {
  const { width, height } = d.size;
  const bg = await decodeImage(await sharp(background).resize(width, height, { fit: 'cover' }).png().toBuffer(), background);
  const chartCorners: Point[] = [
    [-0.3, -0.3],
    [CHART_COLUMNS + 0.3, -0.3],
    [CHART_COLUMNS + 0.3, CHART_ROWS + 0.3],
    [-0.3, CHART_ROWS + 0.3],
  ];
  const imageToChart = invert(fitHomography(chartCorners, d.corners)!);
  const lin = new Float32Array(width * height * 3);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const o = (y * width + x) * 3;
      const bgl = fromRgb({ mode: 'rgb', r: bg.data[o] / 255, g: bg.data[o + 1] / 255, b: bg.data[o + 2] / 255 });
      for (let s = 0; s < 4; s++) {
        const [u, v] = mapPoint(imageToChart, [x - 0.25 + (s % 2) * 0.5, y - 0.25 + (s >> 1) * 0.5]);
        const c = chartColour(u, v) ?? [bgl.r, bgl.g, bgl.b];
        for (let k = 0; k < 3; k++) lin[o + k] += c[k] / 4;
      }
    }
  }
  return lin;
}

/** The encoded photo (JPEG or PNG bytes) and its decoded pixels. */
export async function renderChartPhoto(d: Distortion, background: string, seed = 1): Promise<{ bytes: Buffer; image: RgbImage }> {
  const { width, height } = d.size;
  const lin = await scene(d, background);
  const cast = d.cast ? castMatrix(d.cast.scene, d.cast.camera) : null;
  const noise = gaussian(seed);
  const out = Buffer.alloc(width * height * 3);
  for (let p = 0; p < width * height; p++) {
    let c: Rgb = [lin[p * 3], lin[p * 3 + 1], lin[p * 3 + 2]];
    if (cast) {
      const xyz = cast(((v) => [v.x, v.y, v.z] as Rgb)(toXyz({ mode: 'lrgb', r: c[0], g: c[1], b: c[2] })));
      const l = toLrgb({ mode: 'xyz65', x: xyz[0], y: xyz[1], z: xyz[2] });
      c = [l.r, l.g, l.b];
    }
    const e = d.exposure ?? 1;
    const enc = toRgb({ mode: 'lrgb', r: Math.min(1, Math.max(0, c[0] * e)), g: Math.min(1, Math.max(0, c[1] * e)), b: Math.min(1, Math.max(0, c[2] * e)) });
    [enc.r, enc.g, enc.b].forEach((v, k) => {
      const toned = Math.max(0, v) ** (d.gamma ?? 1) * 255 + (d.noise ?? 0) * noise();
      out[p * 3 + k] = Math.min(255, Math.max(0, Math.round(toned)));
    });
  }
  const raw = sharp(out, { raw: { width, height, channels: 3 } });
  const bytes = d.jpeg ? await raw.jpeg({ quality: d.jpeg }).toBuffer() : await raw.png().toBuffer();
  return { bytes, image: await decodeImage(bytes, 'rendered chart') };
}
