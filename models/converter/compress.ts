/**
 * Compressed variants of a converted ONNX model (ONNX graph in, ONNX graph out):
 *
 * - FP16: every float tensor in half precision: weights stored as float16, the input cast to
 *   float16 on entry and each output cast back to float32 on exit (the I/O contract stays
 *   float32). What a GPU/TensorRT runs natively; ONNX Runtime's CPU provider has few float16
 *   kernels and wraps the rest in Casts, so on a CPU it is expected to be slower, not faster.
 * - INT8 (QDQ): Conv weights quantised per output channel (symmetric int8, 7-bit range), biases to int32 at
 *   input scale x weight scale, and every Conv's input and output activation quantised per tensor
 *   (asymmetric uint8) with ranges calibrated on real inputs (`calibration`: min/max per tensor).
 *   QuantizeLinear/DequantizeLinear pairs mark them, so ONNX Runtime fuses each Conv into an
 *   integer QLinearConv, and TensorRT reads the same scales.
 *
 * Everything not a Conv (Add, PRelu, pooling) and the output heads' Convs stay float32 in the INT8 variant.
 */
import onnxProto from 'onnx-proto';

const { onnx } = onnxProto;
type Model = onnxProto.onnx.ModelProto;
type Tensor = onnxProto.onnx.ITensorProto;
type Node = onnxProto.onnx.INodeProto;

const FLOAT = 1;
const UINT8 = 2;
const INT8 = 3;
const INT32 = 6;
const FLOAT16 = 10;
const WEIGHT_MAX = 63;

function floatsOf(t: Tensor): Float32Array {
  if (t.rawData && t.rawData.length) {
    const raw = t.rawData;
    return new Float32Array(raw.buffer.slice(raw.byteOffset, raw.byteOffset + raw.byteLength));
  }
  return Float32Array.from(t.floatData ?? []);
}

const bytesOf = (a: Float32Array | Int32Array | Int8Array | Uint8Array | Uint16Array): Uint8Array => new Uint8Array(a.buffer.slice(a.byteOffset, a.byteOffset + a.byteLength));

/** IEEE 754 binary32 → binary16 bits, round to nearest even (subnormals kept, overflow to infinity). */
export function toHalf(value: number): number {
  const f = new Float32Array([value]);
  const x = new Uint32Array(f.buffer)[0];
  const sign = (x >>> 16) & 0x8000;
  const exp = (x >>> 23) & 0xff;
  let mant = x & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant ? 0x200 : 0);
  let e = exp - 127 + 15;
  if (e >= 0x1f) return sign | 0x7c00;
  if (e <= 0) {
    if (e < -10) return sign;
    mant |= 0x800000;
    const shift = 14 - e;
    let half = mant >>> shift;
    const rem = mant & ((1 << shift) - 1);
    const mid = 1 << (shift - 1);
    if (rem > mid || (rem === mid && half & 1)) half++;
    return sign | half;
  }
  let half = (e << 10) | (mant >>> 13);
  const rem = mant & 0x1fff;
  if (rem > 0x1000 || (rem === 0x1000 && half & 1)) half++;
  if ((half & 0x7c00) === 0x7c00) e = 0x1f; // rounding carried into infinity
  return sign | (e === 0x1f ? 0x7c00 : half);
}

function clone(model: Model): Model {
  return onnx.ModelProto.decode(onnx.ModelProto.encode(model).finish());
}

/** Inputs of these ops that must stay float32 whatever the graph's precision (ONNX spec: Resize scales/roi). */
const FLOAT32_INPUTS: Record<string, number[]> = { Resize: [1, 2] };

/** The FP16 variant (see the file comment). */
export function toFp16(source: Model): Model {
  const model = clone(source);
  const g = model.graph!;
  const keepFloat = new Set<string>();
  for (const n of g.node ?? []) for (const i of FLOAT32_INPUTS[n.opType!] ?? []) if (n.input?.[i]) keepFloat.add(n.input[i]);
  for (const t of g.initializer ?? []) {
    if (t.dataType !== FLOAT || keepFloat.has(t.name!)) continue;
    const f = floatsOf(t);
    t.rawData = bytesOf(Uint16Array.from(f, toHalf));
    t.floatData = [];
    t.dataType = FLOAT16;
  }
  for (const n of g.node ?? []) {
    for (const a of n.attribute ?? []) if (n.opType === 'Cast' && a.name === 'to' && Number(a.i) === FLOAT) a.i = FLOAT16;
  }
  const nodes: Node[] = [];
  // Input: float32 in, float16 from here on.
  for (const input of g.input ?? []) {
    const half = `${input.name}__fp16`;
    nodes.push({ opType: 'Cast', name: half, input: [input.name!], output: [half], attribute: [{ name: 'to', type: onnx.AttributeProto.AttributeType.INT, i: FLOAT16 }] });
    for (const n of g.node ?? []) n.input = (n.input ?? []).map((x) => (x === input.name ? half : x));
  }
  nodes.push(...(g.node ?? []));
  // Outputs: the producing node writes a float16 value; a Cast back to float32 takes the output's name.
  for (const output of g.output ?? []) {
    const half = `${output.name}__fp16`;
    for (const n of nodes) n.output = (n.output ?? []).map((x) => (x === output.name ? half : x));
    for (const n of nodes) n.input = (n.input ?? []).map((x) => (x === output.name ? half : x));
    nodes.push({ opType: 'Cast', name: `${output.name}__to_fp32`, input: [half], output: [output.name!], attribute: [{ name: 'to', type: onnx.AttributeProto.AttributeType.INT, i: FLOAT }] });
  }
  g.node = nodes;
  g.valueInfo = [];
  return model;
}

export interface TensorRange {
  min: number;
  max: number;
}

/** Ops that only move or squash a head's values on their way to a graph output. */
const PASS_THROUGH = new Set(['Reshape', 'Transpose', 'Identity', 'Sigmoid', 'Flatten', 'Squeeze', 'Unsqueeze']);

/**
 * The Convs whose output reaches a graph output through pass-through ops only (the heads: box
 * regressors, scores, landmark coordinates). They stay float32: 8 bits over a regressor's range
 * (hundreds of pixels) would cost whole pixels.
 */
function headConvs(model: Model): Set<Node> {
  const g = model.graph!;
  const producer = new Map<string, Node>();
  for (const n of g.node ?? []) for (const o of n.output ?? []) producer.set(o, n);
  const heads = new Set<Node>();
  for (const o of g.output ?? []) {
    let n = producer.get(o.name!);
    while (n && PASS_THROUGH.has(n.opType!)) n = producer.get(n.input![0]);
    if (n?.opType === 'Conv') heads.add(n);
  }
  return heads;
}

/** The activations the INT8 variant quantises: each quantised Conv's input 0 and output 0. */
export function calibrationTensors(model: Model): string[] {
  const names = new Set<string>();
  const heads = headConvs(model);
  for (const n of model.graph!.node ?? []) {
    if (n.opType !== 'Conv' || heads.has(n)) continue;
    names.add(n.input![0]);
    names.add(n.output![0]);
  }
  return [...names];
}

/** A copy of `model` that also outputs `tensors` (for calibration runs). */
export function withOutputs(model: Model, tensors: string[]): Uint8Array {
  const m = clone(model);
  const existing = new Set((m.graph!.output ?? []).map((o) => o.name));
  for (const t of tensors) if (!existing.has(t)) m.graph!.output!.push({ name: t, type: { tensorType: { elemType: FLOAT } } });
  return onnx.ModelProto.encode(m).finish();
}

/** uint8 asymmetric scale and zero point covering [min, max] (and 0, so padding stays exact). */
function activationParams({ min, max }: TensorRange): { scale: number; zero: number } {
  const lo = Math.min(0, min);
  const hi = Math.max(0, max);
  const scale = hi > lo ? (hi - lo) / 255 : 1;
  return { scale, zero: Math.min(255, Math.max(0, Math.round(-lo / scale))) };
}

/** The INT8 QDQ variant (see the file comment); `ranges` holds every tensor of calibrationTensors(). */
export function toInt8(source: Model, ranges: ReadonlyMap<string, TensorRange>): Model {
  const model = clone(source);
  const g = model.graph!;
  const inits = new Map((g.initializer ?? []).map((t) => [t.name!, t]));
  const added: Tensor[] = [];
  const nodes: Node[] = [];
  const scalar = (name: string, dataType: number, value: number): string => {
    const data = dataType === FLOAT ? new Float32Array([value]) : new Uint8Array([value]);
    added.push({ name, dims: [], dataType, rawData: bytesOf(data) });
    return name;
  };
  /** Q→DQ of activation `tensor` (calibrated as `key`: its name in the float graph), made once; the dequantised name and its scale. */
  const qdq = new Map<string, { name: string; scale: number }>();
  const quantised = (key: string, tensor: string): { name: string; scale: number } => {
    const known = qdq.get(key);
    if (known) return known;
    const range = ranges.get(key);
    if (!range) throw new Error(`int8: no calibration range for tensor ${key}`);
    const { scale, zero } = activationParams(range);
    const s = scalar(`${tensor}__scale`, FLOAT, scale);
    const z = scalar(`${tensor}__zero`, UINT8, zero);
    const q = `${tensor}__q`;
    const dq = `${tensor}__dq`;
    nodes.push({ opType: 'QuantizeLinear', name: q, input: [tensor, s, z], output: [q] });
    nodes.push({ opType: 'DequantizeLinear', name: dq, input: [q, s, z], output: [dq] });
    const out = { name: dq, scale };
    qdq.set(key, out);
    return out;
  };
  /** Conv outputs are renamed so their Q/DQ pair can take the consumers; graph outputs keep their name via the DQ. */
  const renamed = new Map<string, string>();
  const heads = headConvs(model);
  const convs = (g.node ?? []).filter((n) => n.opType === 'Conv' && !heads.has(n));
  for (const n of g.node ?? []) {
    if (n.opType !== 'Conv' || heads.has(n)) {
      n.input = (n.input ?? []).map((x) => renamed.get(x) ?? x);
      nodes.push(n);
      continue;
    }
    const [x, w, b] = n.input!;
    const wt = inits.get(w);
    if (!wt || wt.dataType !== FLOAT) {
      nodes.push(n);
      continue;
    }
    const xq = quantised(x, x);
    // Weights: symmetric per output channel (axis 0 of OIHW), 7 bits (±63): x86 CPUs without VNNI
    // multiply uint8 x int8 pairs into saturating int16 sums, which full-range weights overflow.
    const wf = floatsOf(wt);
    const channels = Number(wt.dims![0]);
    const per = wf.length / channels;
    const wScale = new Float32Array(channels);
    const wq = new Int8Array(wf.length);
    for (let c = 0; c < channels; c++) {
      let m = 0;
      for (let k = 0; k < per; k++) m = Math.max(m, Math.abs(wf[c * per + k]));
      const s = m > 0 ? m / WEIGHT_MAX : 1;
      wScale[c] = s;
      for (let k = 0; k < per; k++) wq[c * per + k] = Math.max(-WEIGHT_MAX, Math.min(WEIGHT_MAX, Math.round(wf[c * per + k] / s)));
    }
    added.push({ name: `${w}__q`, dims: wt.dims, dataType: INT8, rawData: bytesOf(wq) });
    added.push({ name: `${w}__scale`, dims: [channels], dataType: FLOAT, rawData: bytesOf(wScale) });
    added.push({ name: `${w}__zero`, dims: [channels], dataType: INT8, rawData: bytesOf(new Int8Array(channels)) });
    const axis = { name: 'axis', type: onnx.AttributeProto.AttributeType.INT, i: 0 };
    nodes.push({ opType: 'DequantizeLinear', name: `${w}__dq`, input: [`${w}__q`, `${w}__scale`, `${w}__zero`], output: [`${w}__dq`], attribute: [axis] });
    const inputs = [xq.name, `${w}__dq`];
    const bt = b ? inits.get(b) : undefined;
    if (bt && bt.dataType === FLOAT) {
      // Bias: int32 at scale input x weight (per channel), as QLinearConv adds it.
      const bf = floatsOf(bt);
      const bScale = Float32Array.from(wScale, (s) => s * xq.scale);
      const bq = Int32Array.from(bf, (v, c) => Math.round(v / bScale[c]));
      added.push({ name: `${b}__q`, dims: bt.dims, dataType: INT32, rawData: bytesOf(bq) });
      added.push({ name: `${b}__scale`, dims: [channels], dataType: FLOAT, rawData: bytesOf(bScale) });
      added.push({ name: `${b}__zero`, dims: [channels], dataType: INT32, rawData: bytesOf(new Int32Array(channels)) });
      nodes.push({ opType: 'DequantizeLinear', name: `${b}__dq`, input: [`${b}__q`, `${b}__scale`, `${b}__zero`], output: [`${b}__dq`], attribute: [axis] });
      inputs.push(`${b}__dq`);
    } else if (b) inputs.push(b);
    const y = n.output![0];
    const raw = `${y}__f`;
    nodes.push({ ...n, input: inputs, output: [raw] });
    renamed.set(y, quantised(y, raw).name);
  }
  if (!convs.length) throw new Error('int8: the model has no Conv to quantise');
  // Graph outputs written by a Conv: an Identity gives the dequantised value the output's name.
  for (const o of g.output ?? []) {
    const r = renamed.get(o.name!);
    if (r) nodes.push({ opType: 'Identity', name: `${o.name}__out`, input: [r], output: [o.name!] });
  }
  const usedWeights = new Set(nodes.flatMap((n) => n.input ?? []));
  g.initializer = [...(g.initializer ?? []).filter((t) => usedWeights.has(t.name!)), ...added];
  g.node = nodes;
  g.valueInfo = [];
  return model;
}

export function decodeModel(bytes: Uint8Array): Model {
  return onnx.ModelProto.decode(bytes);
}

export function encodeModel(model: Model): Uint8Array {
  return onnx.ModelProto.encode(model).finish();
}
