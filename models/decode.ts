/**
 * The decoding half of a model manifest: which graph outputs a model's decoder reads and the
 * parameters it needs (the detector's anchor layers, the number of landmarks, how a mask is
 * activated), one shape per task. A manifest is checked as a whole here, so a model whose input
 * size cannot hold its anchors, or whose decoder names an output the manifest does not list, is
 * refused before it loads, with the field named.
 */
import { z } from 'zod';

export const MODEL_TASKS = ['face-detection', 'face-landmarks', 'iris-landmarks', 'segmentation'] as const;
export type ModelTask = (typeof MODEL_TASKS)[number];
/** Numeric precision of a model's weights: the original, or a compressed variant (models/converter/compress.ts). */
export const MODEL_VARIANTS = ['fp32', 'fp16', 'int8'] as const;
export type ModelVariant = (typeof MODEL_VARIANTS)[number];

const outputName = z.string().min(1);

/** BlazeFace-style SSD: per anchor layer a score output and a regressor output (box, then keypoints). */
export const BlazeFaceDecode = z.strictObject({
  kind: z.literal('blazeface'),
  layers: z
    .array(
      z.strictObject({
        /** Anchor spacing in input pixels; the layer has (input / stride)^2 cells. */
        stride: z.number().int().min(1),
        anchorsPerCell: z.number().int().min(1),
        scores: outputName,
        boxes: outputName,
      }),
    )
    .min(1),
  /** Anchor centre inside its cell (0.5 = the middle). */
  anchorOffset: z.number().min(0).max(1),
  /** Values per anchor in the regressor: cx, cy, w, h, then x, y per keypoint. */
  valuesPerAnchor: z.number().int().min(4),
  keypoints: z.number().int().min(0),
  /** Weighted NMS: candidates overlapping the best one by at least this IoU are the same face. */
  nmsIou: z.number().gt(0).max(1),
});

/** A face mesh: x, y, z per landmark in input pixels, and a face-presence score. */
export const MeshDecode = z.strictObject({
  kind: z.literal('face-mesh'),
  points: z.number().int().min(1),
  landmarks: outputName,
  score: outputName,
  /** `sigmoid` when the score output is a logit. */
  scoreActivation: z.enum(['none', 'sigmoid']),
});

/**
 * The attention mesh: the 468-point mesh plus refined lips (80), eyes (71 each) and irises (5
 * each), each an output of x, y per point in input pixels, merged into 478 points (468 + irises).
 */
export const AttentionMeshDecode = z.strictObject({
  kind: z.literal('attention-mesh'),
  points: z.literal(478),
  landmarks: outputName,
  score: outputName,
  scoreActivation: z.enum(['none', 'sigmoid']),
  lips: outputName,
  leftEye: outputName,
  rightEye: outputName,
  leftIris: outputName,
  rightIris: outputName,
  /**
   * Which of the 468 mesh points each refined point replaces (MediaPipe's landmarks refinement
   * config, Apache-2.0): lips 80, each eye 71. Iris points are appended (left then right) with the
   * mean depth of their eye's points. "Left" is MediaPipe's: the image's left on an unmirrored
   * frame, the subject's right eye (mesh 33-133), so irises land at 468-472 (subject's right) and
   * 473-477 (subject's left) as in MediaPipe's 478-point mesh.
   */
  refine: z.strictObject({
    lips: z.array(z.number().int().min(0).max(467)).length(80),
    leftEye: z.array(z.number().int().min(0).max(467)).length(71),
    rightEye: z.array(z.number().int().min(0).max(467)).length(71),
  }),
});

/** MediaPipe iris model on an eye crop: eye-contour points, then iris points (centre first), x y z each. */
export const IrisDecode = z.strictObject({
  kind: z.literal('iris'),
  output: outputName,
  contourPoints: z.number().int().min(0),
  irisPoints: z.number().int().min(2),
  /** Eye crop side relative to the eye-corner distance. */
  cropScale: z.number().gt(0),
});

/** A person mask at the input's resolution: one channel (probability or logit) or two (background, person logits). */
export const SegmentationDecode = z.strictObject({
  kind: z.literal('segmentation'),
  output: outputName,
  channels: z.union([z.literal(1), z.literal(2)]),
  /** One channel: `none` = already a probability, `sigmoid` = a logit. Two channels: softmax. */
  activation: z.enum(['none', 'sigmoid', 'softmax']),
});

export const DecodeSpec = z.discriminatedUnion('kind', [BlazeFaceDecode, MeshDecode, AttentionMeshDecode, IrisDecode, SegmentationDecode]);
export type DecodeSpec = z.infer<typeof DecodeSpec>;
export type BlazeFaceDecode = z.infer<typeof BlazeFaceDecode>;
export type MeshDecode = z.infer<typeof MeshDecode>;
export type AttentionMeshDecode = z.infer<typeof AttentionMeshDecode>;
export type IrisDecode = z.infer<typeof IrisDecode>;
export type SegmentationDecode = z.infer<typeof SegmentationDecode>;

const DECODERS_OF: Record<ModelTask, ReadonlyArray<DecodeSpec['kind']>> = {
  'face-detection': ['blazeface'],
  'face-landmarks': ['face-mesh', 'attention-mesh'],
  'iris-landmarks': ['iris'],
  segmentation: ['segmentation'],
};

export interface ManifestProblem {
  path: Array<string | number>;
  message: string;
}

interface Checked {
  task: ModelTask;
  input: { shape: number[] };
  outputs: Record<string, number>;
  decode: DecodeSpec;
}

/** Cross-field problems of an otherwise well-formed manifest (empty when it is consistent). */
export function manifestProblems(m: Checked): ManifestProblem[] {
  const problems: ManifestProblem[] = [];
  const shape = m.input.shape;
  if (shape.length !== 4 || shape[0] !== 1 || shape[3] !== 3 || shape[1] < 8 || shape[2] < 8) {
    problems.push({ path: ['input', 'shape'], message: `[${shape}] is not a batch-1 NHWC RGB image of at least 8x8 ([1, height, width, 3])` });
    return problems;
  }
  const [, height, width] = shape;
  if (!DECODERS_OF[m.task].includes(m.decode.kind)) {
    problems.push({ path: ['decode', 'kind'], message: `"${m.decode.kind}" does not decode a ${m.task} model (expected ${DECODERS_OF[m.task].join(' or ')})` });
    return problems;
  }
  /** `name` must be a listed output with exactly `values` values (or at least, when `atLeast`). */
  const output = (path: Array<string | number>, name: string, values: number, atLeast = false): void => {
    const listed = m.outputs[name];
    if (listed === undefined) problems.push({ path, message: `names output "${name}", which "outputs" does not list (it lists ${Object.keys(m.outputs).join(', ') || 'none'})` });
    else if (atLeast ? listed < values : listed !== values) {
      problems.push({ path: ['outputs', name], message: `${listed} values, but ${path.join('.')} needs ${atLeast ? 'at least ' : ''}${values}` });
    }
  };
  const d = m.decode;
  switch (d.kind) {
    case 'blazeface':
      if (width !== height) problems.push({ path: ['input', 'shape'], message: `the detector letterboxes into a square input; ${width}x${height} is not square` });
      if (d.valuesPerAnchor < 4 + 2 * d.keypoints) problems.push({ path: ['decode', 'valuesPerAnchor'], message: `${d.valuesPerAnchor} cannot hold a box and ${d.keypoints} keypoints` });
      d.layers.forEach((l, i) => {
        if (width % l.stride !== 0) {
          problems.push({ path: ['input', 'shape'], message: `input size ${width} is not a multiple of the anchor stride ${l.stride} (decode.layers.${i})` });
          return;
        }
        const anchors = (width / l.stride) ** 2 * l.anchorsPerCell;
        output(['decode', 'layers', i, 'scores'], l.scores, anchors);
        output(['decode', 'layers', i, 'boxes'], l.boxes, anchors * d.valuesPerAnchor);
      });
      break;
    case 'face-mesh':
      output(['decode', 'landmarks'], d.landmarks, d.points * 3);
      output(['decode', 'score'], d.score, 1);
      break;
    case 'attention-mesh':
      output(['decode', 'landmarks'], d.landmarks, 468 * 3);
      output(['decode', 'score'], d.score, 1);
      output(['decode', 'lips'], d.lips, 80 * 2);
      output(['decode', 'leftEye'], d.leftEye, 71 * 2);
      output(['decode', 'rightEye'], d.rightEye, 71 * 2);
      output(['decode', 'leftIris'], d.leftIris, 5 * 2);
      output(['decode', 'rightIris'], d.rightIris, 5 * 2);
      break;
    case 'iris':
      output(['decode', 'output'], d.output, (d.contourPoints + d.irisPoints) * 3, true);
      break;
    case 'segmentation':
      if ((d.channels === 2) !== (d.activation === 'softmax')) {
        problems.push({ path: ['decode', 'activation'], message: `"${d.activation}" does not fit ${d.channels} channel(s) (softmax is for two)` });
      }
      output(['decode', 'output'], d.output, width * height * d.channels);
      break;
  }
  return problems;
}
