/**
 * TF.js graph model (model.json + weights) → ONNX (opset 13).
 *
 * Layout: TF.js graphs are NHWC; ONNX's Conv/Pool/Resize are NCHW. Instead of a Transpose pair
 * around every conv, a layout pass keeps each rank-4 activation in NCHW from the first conv on
 * and converts constants instead (filters to OIHW, per-channel biases/slopes to [1,C,1,1]). A
 * value is transposed back to NHWC only where NHWC order matters (Reshape, Softmax, the graph
 * outputs), and a transpose that only moves size-1 axes is emitted as a Reshape.
 *
 * Static shapes: the batch is fixed at 1 and every intermediate shape is taken from one TF.js
 * execution of the source graph, so SAME padding becomes explicit pads and shape-only ops
 * (Reshape, Squeeze, ExpandDims) become Reshapes to the concrete shape.
 *
 * Constant folding: a node whose value does not depend on the input's pixels (constants, Shape of
 * a static shape, ZerosLike, and anything computed only from those: the attention mesh's index
 * grids built with Shape/StridedSlice/Pack/Range/Fill/Tile) is taken from that same TF.js execution
 * and written as an initializer, so shape arithmetic never reaches ONNX.
 *
 * Unsupported ops are collected over the whole graph first and reported together, each with the
 * node that uses it.
 */
import type * as TF from '@tensorflow/tfjs';
import { OnnxGraphBuilder, OPSET, type AttrValue, type ConstTensor } from './onnx-builder.ts';

interface TfAttr {
  i?: string;
  f?: number;
  b?: boolean;
  s?: string;
  type?: string;
  list?: { i?: string[]; s?: string[]; f?: number[] };
  shape?: unknown;
  tensor?: unknown;
}
export interface TfNode {
  name: string;
  op: string;
  input?: string[];
  attr?: Record<string, TfAttr>;
}
export interface TfjsGraphJson {
  format?: string;
  generatedBy?: string;
  convertedBy?: string;
  signature?: unknown;
  userDefinedMetadata?: unknown;
  modelTopology: { node: TfNode[]; library?: unknown; versions?: unknown };
  weightsManifest: Array<{ paths: string[]; weights: TF.io.WeightsManifestEntry[] }>;
}

export class UnsupportedOpsError extends Error {
  readonly ops: Array<{ op: string; node: string }>;
  constructor(model: string, ops: Array<{ op: string; node: string }>) {
    const list = ops.map((o) => `${o.op} (node "${o.node}")`).join(', ');
    super(`model ${model}: ${ops.length} unsupported op use(s): ${list}`);
    this.name = 'UnsupportedOpsError';
    this.ops = ops;
  }
}

export interface ConversionResult {
  onnx: Uint8Array;
  input: { name: string; shape: number[] };
  outputs: Array<{ name: string; shape: number[] }>;
  tfOps: Record<string, number>;
  onnxOps: Record<string, number>;
}

type Layout = 'nhwc' | 'nchw';
interface Val {
  shape: number[];
  nhwc?: string;
  nchw?: string;
}
interface Const {
  dtype: 'float32' | 'int32';
  shape: number[];
  data: Float32Array | Int32Array;
}

const NHWC_TO_NCHW = [0, 3, 1, 2];
const NCHW_TO_NHWC = [0, 2, 3, 1];
/** NHWC axis → NCHW axis. */
const AXIS_TO_NCHW = [0, 2, 3, 1];

const ELEMENTWISE: Record<string, string> = {
  Add: 'Add',
  AddV2: 'Add',
  BiasAdd: 'Add',
  Sub: 'Sub',
  Mul: 'Mul',
  RealDiv: 'Div',
  Maximum: 'Max',
  Minimum: 'Min',
  AddN: 'Sum',
  LessEqual: 'LessOrEqual',
  GreaterEqual: 'GreaterOrEqual',
  Less: 'Less',
  Greater: 'Greater',
  LogicalAnd: 'And',
};
const UNARY: Record<string, string> = {
  Relu: 'Relu',
  Sigmoid: 'Sigmoid',
  Tanh: 'Tanh',
  Neg: 'Neg',
  Exp: 'Exp',
  Sqrt: 'Sqrt',
  Abs: 'Abs',
  Elu: 'Elu',
  Identity: 'Identity',
  Floor: 'Floor',
  Sin: 'Sin',
  Cos: 'Cos',
};
const FUSED_ACTIVATIONS = new Set(['Relu', 'Relu6', 'Prelu', 'LeakyRelu', 'Elu', 'Sigmoid', 'Tanh']);
const SUPPORTED = new Set([
  'Const',
  'Placeholder',
  ...Object.keys(ELEMENTWISE),
  ...Object.keys(UNARY),
  'Relu6',
  'Rsqrt',
  'Square',
  'LeakyRelu',
  'Prelu',
  'Conv2D',
  '_FusedConv2D',
  'DepthwiseConv2dNative',
  'FusedDepthwiseConv2dNative',
  'Conv2DBackpropInput',
  'MaxPool',
  'AvgPool',
  'Pad',
  'PadV2',
  'MirrorPad',
  'Reshape',
  'Squeeze',
  'ExpandDims',
  'ConcatV2',
  'ResizeBilinear',
  'ResizeNearestNeighbor',
  'Mean',
  'Max',
  'Sum',
  'Softmax',
  'MatMul',
  '_FusedMatMul',
  'BatchMatMulV2',
  'StridedSlice',
  'GatherV2',
  'Atan2',
  'Pack',
  'Transpose',
  'Min',
  'Cast',
  'Tile',
  'Fill',
  // Only ever folded (their values follow from static shapes): see `isStatic`.
  'Shape',
  'ZerosLike',
  'Range',
]);
/** Ops whose value depends only on their input's shape, which is static here. */
const SHAPE_ONLY = new Set(['Shape', 'ZerosLike']);
/** TF dtypes → ONNX TensorProto data types (Cast's `to`). */
const ONNX_DTYPE: Record<string, number> = { DT_FLOAT: 1, DT_INT32: 6, DT_INT64: 7, DT_BOOL: 9 };
/** Past-the-start end index for a negative-stride ONNX Slice (clamped to -1 by ONNX). */
const SLICE_BEFORE_START = -2147483648;

const text = (s: string | undefined): string => (s ? Buffer.from(s, 'base64').toString('utf8') : '');
const ints = (a: TfAttr | undefined): number[] => (a?.list?.i ?? []).map(Number);
const cleanRef = (ref: string): string => ref.replace(/:0$/, '');

function fusedOps(node: TfNode): string[] {
  return (node.attr?.fused_ops?.list?.s ?? []).map(text);
}

/** Ops whose support depends on attributes: returns a reason when this use is not supported. */
function unsupportedUse(node: TfNode): string | null {
  const fmt = text(node.attr?.data_format?.s);
  if (fmt && fmt !== 'NHWC') return `${node.op}[data_format=${fmt}]`;
  if (node.op === '_FusedConv2D' || node.op === 'FusedDepthwiseConv2dNative' || node.op === '_FusedMatMul') {
    const [first, ...rest] = fusedOps(node);
    if (first !== 'BiasAdd' || rest.length > 1 || (rest[0] && !FUSED_ACTIVATIONS.has(rest[0]))) return `${node.op}[${fusedOps(node).join(',')}]`;
  }
  if (node.op === 'MirrorPad' && !['REFLECT', 'SYMMETRIC'].includes(text(node.attr?.mode?.s))) return `MirrorPad[${text(node.attr?.mode?.s)}]`;
  if (node.op === 'GatherV2' && Number(node.attr?.batch_dims?.i ?? 0) !== 0) return `GatherV2[batch_dims=${node.attr?.batch_dims?.i}]`;
  if (node.op === 'Cast' && !(node.attr?.DstT?.type && node.attr.DstT.type in ONNX_DTYPE)) return `Cast[DstT=${node.attr?.DstT?.type}]`;
  return null;
}

/** Same-padding amounts (before, after) per spatial axis, as TensorFlow computes them. */
function samePads(inSize: number, kernel: number, stride: number, dilation: number): [number, number] {
  const effective = (kernel - 1) * dilation + 1;
  const out = Math.ceil(inSize / stride);
  const total = Math.max((out - 1) * stride + effective - inSize, 0);
  const before = Math.floor(total / 2);
  return [before, total - before];
}

function transposeData<T extends Float32Array | Int32Array>(data: T, shape: number[], perm: number[]): { data: T; shape: number[] } {
  const rank = shape.length;
  const outShape = perm.map((p) => shape[p]);
  const inStrides = new Array<number>(rank);
  let s = 1;
  for (let i = rank - 1; i >= 0; i--) {
    inStrides[i] = s;
    s *= shape[i];
  }
  const out = new (data.constructor as new (n: number) => T)(data.length);
  const idx = new Array<number>(rank).fill(0);
  for (let o = 0; o < data.length; o++) {
    let src = 0;
    for (let d = 0; d < rank; d++) src += idx[d] * inStrides[perm[d]];
    out[o] = data[src];
    for (let d = rank - 1; d >= 0; d--) {
      if (++idx[d] < outShape[d]) break;
      idx[d] = 0;
    }
  }
  return { data: out, shape: outShape };
}

/** True when permuting `shape` by `perm` keeps the order of every axis longer than 1 (a reshape suffices). */
function permIsReshape(shape: number[], perm: number[]): boolean {
  const moved = perm.filter((p) => shape[p] !== 1);
  return moved.every((p, i) => i === 0 || p > moved[i - 1]);
}

/**
 * The artifacts exactly as the daemon's TF.js runtime passes them: the output order TF.js
 * declares depends on them (BlazeFace keeps its signature in userDefinedMetadata).
 */
export function graphArtifacts(graph: TfjsGraphJson, weightData: ArrayBuffer): TF.io.ModelArtifacts {
  return {
    modelTopology: graph.modelTopology,
    weightSpecs: graph.weightsManifest.flatMap((g) => g.weights),
    weightData,
    format: graph.format,
    generatedBy: graph.generatedBy,
    convertedBy: graph.convertedBy,
    userDefinedMetadata: graph.userDefinedMetadata as Record<string, never>,
    signature: graph.signature as never,
  };
}

/**
 * TF's StridedSlice (begin/end/strides with begin, end, new-axis and shrink-axis masks) on a static
 * shape as one ONNX Slice over the axes it really cuts, and whether a Reshape must follow (a
 * shrunk or new axis changes the rank).
 */
export function stridedSlice(
  shape: number[],
  begin: number[],
  end: number[],
  strides: number[],
  node: TfNode,
): { starts: number[]; ends: number[]; axes: number[]; steps: number[]; reshape: boolean } {
  const mask = (name: string): number => Number(node.attr?.[name]?.i ?? 0);
  const [beginMask, endMask, ellipsisMask, newAxisMask, shrinkMask] = ['begin_mask', 'end_mask', 'ellipsis_mask', 'new_axis_mask', 'shrink_axis_mask'].map(mask);
  const bits = (m: number): number => begin.reduce((n, _, i) => n + ((m >> i) & 1), 0);
  if (bits(ellipsisMask) > 1) throw new Error(`node ${node.name}: StridedSlice with more than one ellipsis`);
  const out = { starts: [] as number[], ends: [] as number[], axes: [] as number[], steps: [] as number[], reshape: newAxisMask !== 0 || shrinkMask !== 0 };
  let axis = 0;
  for (let i = 0; i < begin.length; i++) {
    const bit = 1 << i;
    if (ellipsisMask & bit) {
      // The ellipsis stands for every axis the other (non-new) entries do not name.
      axis += shape.length - (begin.length - 1 - bits(newAxisMask & ~ellipsisMask));
      continue;
    }
    if (newAxisMask & bit) continue;
    const dim = shape[axis];
    const step = strides[i];
    if (step === 0) throw new Error(`node ${node.name}: StridedSlice with a zero stride`);
    const norm = (v: number): number => (v < 0 ? v + dim : v);
    let start = beginMask & bit ? (step > 0 ? 0 : dim - 1) : norm(begin[i]);
    let stop = endMask & bit ? (step > 0 ? dim : SLICE_BEFORE_START) : norm(end[i]);
    if (shrinkMask & bit) {
      start = norm(begin[i]);
      stop = start + 1;
    }
    const effStep = shrinkMask & bit ? 1 : step;
    const whole = effStep === 1 && start <= 0 && stop >= dim;
    if (!whole) {
      out.starts.push(start);
      out.ends.push(stop);
      out.axes.push(axis);
      out.steps.push(effStep);
    }
    axis++;
  }
  return out;
}

export async function convertTfjsGraph(
  tf: typeof TF,
  modelName: string,
  graph: TfjsGraphJson,
  weights: ArrayBuffer,
  options: { probes?: string[] } = {},
): Promise<ConversionResult> {
  const nodes = graph.modelTopology.node;
  const byName = new Map(nodes.map((n) => [n.name, n]));

  // 1. The source model as TF.js sees it: input, outputs in declared order, every shape.
  const specs = graph.weightsManifest.flatMap((g) => g.weights);
  const model = await tf.loadGraphModel(tf.io.fromMemory(graphArtifacts(graph, weights)));
  const inputName = cleanRef(model.inputs[0].name);
  const inputShape = (model.inputs[0].shape ?? []).map((d) => (d === -1 || d === null ? 1 : d));
  const outputNames = model.outputs.map((o) => cleanRef(o.name));

  // 2. Reachable nodes in topological order (DFS from the outputs; control inputs ignored).
  const order: TfNode[] = [];
  const state = new Map<string, 'visiting' | 'done'>();
  const visit = (name: string): void => {
    if (state.get(name) === 'done') return;
    if (state.get(name) === 'visiting') throw new Error(`model ${modelName}: cycle at node ${name}`);
    const node = byName.get(name);
    if (!node) throw new Error(`model ${modelName}: reference to unknown node ${name}`);
    state.set(name, 'visiting');
    for (const ref of node.input ?? []) if (!ref.startsWith('^')) visit(ref.split(':')[0]);
    state.set(name, 'done');
    order.push(node);
  };
  for (const o of outputNames) visit(o);

  const unsupported: Array<{ op: string; node: string }> = [];
  for (const n of order) {
    if (!SUPPORTED.has(n.op)) unsupported.push({ op: n.op, node: n.name });
    else {
      const why = unsupportedUse(n);
      if (why) unsupported.push({ op: why, node: n.name });
    }
  }
  if (unsupported.length) {
    model.dispose();
    throw new UnsupportedOpsError(modelName, unsupported);
  }

  const tfOps: Record<string, number> = {};
  for (const n of order) tfOps[n.op] = (tfOps[n.op] ?? 0) + 1;

  // 3. Constants (dequantized exactly as TF.js does) and static shapes from one execution.
  const consts = new Map<string, Const>();
  const decoded = tf.io.decodeWeights(weights, specs);
  for (const [name, t] of Object.entries(decoded)) {
    consts.set(name, { dtype: t.dtype === 'int32' ? 'int32' : 'float32', shape: t.shape, data: t.dataSync() as Float32Array | Int32Array });
    t.dispose();
  }
  const computed = order.filter((n) => n.op !== 'Const' && n.op !== 'Placeholder').map((n) => n.name);
  const isStatic = new Map<string, boolean>([[inputName, false]]);
  for (const n of order) {
    if (n.op === 'Placeholder') isStatic.set(n.name, false);
    else if (n.op === 'Const' || SHAPE_ONLY.has(n.op)) isStatic.set(n.name, true);
    else isStatic.set(n.name, (n.input ?? []).filter((r) => !r.startsWith('^')).every((r) => isStatic.get(r.split(':')[0]) === true));
  }
  const folded = new Set<string>();
  const shapes = new Map<string, number[]>([[inputName, inputShape]]);
  const x = tf.zeros(inputShape);
  const results = model.execute(x, computed) as TF.Tensor[];
  computed.forEach((name, i) => {
    const t = results[i];
    shapes.set(name, t.shape);
    if (!isStatic.get(name) || outputNames.includes(name)) return;
    if (t.dtype !== 'float32' && t.dtype !== 'int32') throw new Error(`model ${modelName}: node ${name}: cannot fold a ${t.dtype} constant`);
    // TF.js's CPU Cast can keep the source's typed array (int32 values behind a float32 tensor): copy into the declared type.
    const data = t.dtype === 'float32' ? Float32Array.from(t.dataSync()) : Int32Array.from(t.dataSync());
    consts.set(name, { dtype: t.dtype, shape: t.shape, data });
    folded.add(name);
  });
  tf.dispose([x, ...results]);
  model.dispose();

  // 4. Emit.
  const b = new OnnxGraphBuilder();
  outputNames.forEach((o) => b.reserve(o));
  const vals = new Map<string, Val>();
  vals.set(inputName, { shape: inputShape, nhwc: b.input(inputName, inputShape) });
  const constCache = new Map<string, string>();

  const isConst = (ref: string): boolean => consts.has(cleanRef(ref)) && (byName.get(cleanRef(ref))?.op === 'Const' || folded.has(cleanRef(ref)));
  /** A value or a constant (as is), in NHWC order. */
  const operand = (ref: string): string => get(ref, 'nhwc');
  const constOf = (ref: string): Const => {
    const c = consts.get(cleanRef(ref));
    if (!c) throw new Error(`model ${modelName}: constant ${ref} has no weights`);
    return c;
  };
  const constValues = (ref: string): number[] => Array.from(constOf(ref).data);

  /** A constant as an initializer, either as is or broadcast-ready against an NCHW rank-4 value. */
  const constInit = (ref: string, layout: Layout): string => {
    const key = `${ref}|${layout}`;
    const cached = constCache.get(key);
    if (cached) return cached;
    const c = constOf(ref);
    let tensor: ConstTensor = { dtype: c.dtype, shape: c.shape, data: c.data };
    if (layout === 'nchw' && c.shape.length > 0) {
      if (c.shape.length > 4) throw new Error(`model ${modelName}: constant ${ref} of rank ${c.shape.length} against a rank-4 value`);
      const shape4 = [...new Array<number>(4 - c.shape.length).fill(1), ...c.shape];
      const t = transposeData(c.data, shape4, NHWC_TO_NCHW);
      tensor = { dtype: c.dtype, shape: t.shape, data: t.data };
    }
    const name = b.initializer(cleanRef(ref), tensor);
    constCache.set(key, name);
    return name;
  };

  const valOf = (ref: string): Val => {
    const v = vals.get(cleanRef(ref));
    if (!v) throw new Error(`model ${modelName}: value ${ref} used before it is produced`);
    return v;
  };
  const shapeOf = (ref: string): number[] => (isConst(ref) ? constOf(ref).shape : valOf(ref).shape);

  /** The value `ref` in the requested layout, converting (and remembering the conversion) if needed. */
  const get = (ref: string, layout: Layout): string => {
    // A folded value (or a constant) feeding an op of any kind: as an initializer in the layout asked for.
    if (isConst(ref)) return constInit(ref, constOf(ref).shape.length === 4 ? layout : 'nhwc');
    const v = valOf(ref);
    if (v.shape.length !== 4) layout = 'nhwc';
    const have = v[layout];
    if (have) return have;
    const from = layout === 'nchw' ? v.nhwc! : v.nchw!;
    const perm = layout === 'nchw' ? NHWC_TO_NCHW : NCHW_TO_NHWC;
    const fromShape = layout === 'nchw' ? v.shape : NHWC_TO_NCHW.map((p) => v.shape[p]);
    const base = `${cleanRef(ref)}__${layout}`;
    const out = permIsReshape(fromShape, perm)
      ? b.node('Reshape', [from, b.int64s(`${base}_shape`, perm.map((p) => fromShape[p]))], base)
      : b.node('Transpose', [from], base, { perm });
    v[layout] = out;
    return out;
  };
  /** The layout a value already has (NCHW preferred for rank-4 values). */
  const layoutOf = (ref: string): Layout => (!isConst(ref) && valOf(ref).shape.length === 4 && valOf(ref).nchw ? 'nchw' : 'nhwc');
  const set = (node: TfNode, layout: Layout, name: string): void => {
    const shape = shapes.get(node.name)!;
    vals.set(node.name, shape.length === 4 ? { shape, [layout]: name } : { shape, nhwc: name });
  };

  const activation = (kind: string, x: string, layout: Layout, node: TfNode, alphaRef?: string): string => {
    const base = `${node.name}/${kind}`;
    switch (kind) {
      case 'Relu':
      case 'Sigmoid':
      case 'Tanh':
        return b.node(kind, [x], base);
      case 'Elu':
        return b.node('Elu', [x], base, { alpha: { float: 1 } });
      case 'Relu6':
        return b.node('Clip', [x, b.floats(`${base}_min`, [0], []), b.floats(`${base}_max`, [6], [])], base);
      case 'LeakyRelu':
        return b.node('LeakyRelu', [x], base, { alpha: { float: node.attr?.leakyrelu_alpha?.f ?? node.attr?.alpha?.f ?? 0.2 } });
      case 'Prelu':
        if (!alphaRef || !isConst(alphaRef)) throw new Error(`model ${modelName}: node ${node.name}: Prelu alpha must be a constant`);
        return b.node('PRelu', [x, constInit(alphaRef, layout)], base);
      default:
        throw new Error(`model ${modelName}: node ${node.name}: activation ${kind} not supported`);
    }
  };

  const convPads = (node: TfNode, inH: number, inW: number, kh: number, kw: number, sh: number, sw: number, dh: number, dw: number): number[] => {
    const padding = text(node.attr?.padding?.s);
    if (padding === 'VALID') return [0, 0, 0, 0];
    if (padding === 'EXPLICIT') {
      const e = ints(node.attr?.explicit_paddings);
      return [e[2], e[4], e[3], e[5]];
    }
    const [t, bo] = samePads(inH, kh, sh, dh);
    const [l, r] = samePads(inW, kw, sw, dw);
    return [t, l, bo, r];
  };

  for (const node of order) {
    const inputs = (node.input ?? []).filter((r) => !r.startsWith('^'));
    const outShape = shapes.get(node.name)!;
    if (folded.has(node.name)) continue;
    switch (node.op) {
      case 'Const':
      case 'Placeholder':
        break;

      case 'Conv2D':
      case '_FusedConv2D':
      case 'DepthwiseConv2dNative':
      case 'FusedDepthwiseConv2dNative': {
        const depthwise = node.op.includes('Depthwise');
        const x = get(inputs[0], 'nchw');
        const f = constOf(inputs[1]);
        const [kh, kw, ci, co] = f.shape;
        const [, sh, sw] = ints(node.attr?.strides);
        const dil = ints(node.attr?.dilations);
        const [dh, dw] = dil.length ? [dil[1], dil[2]] : [1, 1];
        const inShape = shapeOf(inputs[0]);
        const pads = convPads(node, inShape[1], inShape[2], kh, kw, sh, sw, dh, dw);
        let weight: ConstTensor;
        if (depthwise) {
          // [kh, kw, C, mult] → [C*mult, 1, kh, kw]; output channel c*mult+m, as TF orders them.
          const t = transposeData(f.data as Float32Array, f.shape, [2, 3, 0, 1]);
          weight = { dtype: 'float32', shape: [ci * co, 1, kh, kw], data: t.data };
        } else {
          const t = transposeData(f.data as Float32Array, f.shape, [3, 2, 0, 1]);
          weight = { dtype: 'float32', shape: t.shape, data: t.data };
        }
        const convInputs = [x, b.initializer(`${cleanRef(inputs[1])}__oihw`, weight)];
        const fused = fusedOps(node);
        if (fused[0] === 'BiasAdd') convInputs.push(constInit(inputs[2], 'nhwc'));
        const attrs: Record<string, AttrValue> = { kernel_shape: [kh, kw], strides: [sh, sw], dilations: [dh, dw], pads };
        if (depthwise) attrs.group = ci;
        let y = b.node('Conv', convInputs, node.name, attrs);
        if (fused[1]) y = activation(fused[1], y, 'nchw', node, inputs[3]);
        set(node, 'nchw', y);
        break;
      }

      case 'Conv2DBackpropInput': {
        // inputs: output sizes, filter [kh, kw, outC, inC], the value being "back-propagated".
        const x = get(inputs[2], 'nchw');
        const f = constOf(inputs[1]);
        const [kh, kw] = f.shape;
        const [, sh, sw] = ints(node.attr?.strides);
        const inShape = shapeOf(inputs[2]);
        const padding = text(node.attr?.padding?.s);
        const pads: number[] = [];
        const outputPadding: number[] = [];
        const ends: number[] = [];
        for (const [axis, k, s] of [[1, kh, sh], [2, kw, sw]] as const) {
          const full = (inShape[axis] - 1) * s + k;
          const total = padding === 'VALID' ? 0 : Math.max(full - outShape[axis], 0);
          pads.push(Math.floor(total / 2));
          ends.push(total - Math.floor(total / 2));
          outputPadding.push(outShape[axis] - (full - total));
        }
        const t = transposeData(f.data as Float32Array, f.shape, [3, 2, 0, 1]);
        const w = b.initializer(`${cleanRef(inputs[1])}__iohw`, { dtype: 'float32', shape: t.shape, data: t.data });
        const attrs: Record<string, AttrValue> = { kernel_shape: [kh, kw], strides: [sh, sw], pads: [...pads, ...ends] };
        if (outputPadding.some((p) => p !== 0)) attrs.output_padding = outputPadding;
        set(node, 'nchw', b.node('ConvTranspose', [x, w], node.name, attrs));
        break;
      }

      case 'MaxPool':
      case 'AvgPool': {
        const x = get(inputs[0], 'nchw');
        const [, kh, kw] = ints(node.attr?.ksize);
        const [, sh, sw] = ints(node.attr?.strides);
        const inShape = shapeOf(inputs[0]);
        const pads = convPads(node, inShape[1], inShape[2], kh, kw, sh, sw, 1, 1);
        const attrs: Record<string, AttrValue> = { kernel_shape: [kh, kw], strides: [sh, sw], pads };
        // TF's SAME average pooling divides by the number of real (unpadded) cells.
        if (node.op === 'AvgPool') attrs.count_include_pad = 0;
        set(node, 'nchw', b.node(node.op === 'MaxPool' ? 'MaxPool' : 'AveragePool', [x], node.name, attrs));
        break;
      }

      case 'Relu6':
      case 'LeakyRelu':
      case 'Prelu': {
        const layout = layoutOf(inputs[0]);
        set(node, layout, activation(node.op, get(inputs[0], layout), layout, node, inputs[1]));
        break;
      }

      case 'Rsqrt':
      case 'Square': {
        const layout = layoutOf(inputs[0]);
        const x = get(inputs[0], layout);
        const y = node.op === 'Square' ? b.node('Mul', [x, x], node.name) : b.node('Reciprocal', [b.node('Sqrt', [x], `${node.name}/sqrt`)], node.name);
        set(node, layout, y);
        break;
      }

      case 'Pad':
      case 'PadV2':
      case 'MirrorPad': {
        const rank = shapeOf(inputs[0]).length;
        const layout: Layout = rank === 4 ? 'nchw' : 'nhwc';
        const p = constValues(inputs[1]);
        const axes = layout === 'nchw' ? NHWC_TO_NCHW : [...Array(rank).keys()];
        const pads = [...axes.map((a) => p[2 * a]), ...axes.map((a) => p[2 * a + 1])];
        const padInputs = [get(inputs[0], layout), b.int64s(`${node.name}/pads`, pads)];
        const attrs: Record<string, AttrValue> = {};
        if (node.op === 'PadV2') padInputs.push(b.floats(`${node.name}/value`, [constValues(inputs[2])[0]], []));
        if (node.op === 'MirrorPad') {
          if (text(node.attr?.mode?.s) === 'SYMMETRIC') throw new Error(`model ${modelName}: node ${node.name}: MirrorPad SYMMETRIC has no ONNX equivalent`);
          attrs.mode = 'reflect';
        }
        set(node, layout, b.node('Pad', padInputs, node.name, attrs));
        break;
      }

      case 'Reshape':
      case 'Squeeze':
      case 'ExpandDims': {
        // Element order is NHWC's: convert back first, then reshape to the concrete shape.
        const x = get(inputs[0], 'nhwc');
        set(node, 'nhwc', b.node('Reshape', [x, b.int64s(`${node.name}/shape`, outShape)], node.name));
        break;
      }

      case 'ConcatV2': {
        const parts = inputs.slice(0, -1);
        let axis = constValues(inputs[inputs.length - 1])[0];
        if (axis < 0) axis += outShape.length;
        const layout: Layout = outShape.length === 4 && parts.every((r) => isConst(r) || shapeOf(r).length === 4) ? 'nchw' : 'nhwc';
        const names = parts.map((r) => (isConst(r) ? constInit(r, layout) : get(r, layout)));
        set(node, layout, b.node('Concat', names, node.name, { axis: layout === 'nchw' ? AXIS_TO_NCHW[axis] : axis }));
        break;
      }

      case 'ResizeBilinear':
      case 'ResizeNearestNeighbor': {
        const x = get(inputs[0], 'nchw');
        const halfPixel = node.attr?.half_pixel_centers?.b === true;
        const alignCorners = node.attr?.align_corners?.b === true;
        const attrs: Record<string, AttrValue> = {};
        if (node.op === 'ResizeBilinear') {
          attrs.mode = 'linear';
          attrs.coordinate_transformation_mode = alignCorners ? 'align_corners' : halfPixel ? 'half_pixel' : 'asymmetric';
        } else {
          attrs.mode = 'nearest';
          attrs.coordinate_transformation_mode = alignCorners ? 'align_corners' : halfPixel ? 'tf_half_pixel_for_nn' : 'asymmetric';
          attrs.nearest_mode = alignCorners ? 'round_prefer_ceil' : 'floor';
        }
        const sizes = b.int64s(`${node.name}/sizes`, NHWC_TO_NCHW.map((p) => outShape[p]));
        set(node, 'nchw', b.node('Resize', [x, '', '', sizes], node.name, attrs));
        break;
      }

      case 'Mean':
      case 'Max':
      case 'Min':
      case 'Sum': {
        const inShape = shapeOf(inputs[0]);
        const keep = node.attr?.keep_dims?.b === true;
        const layout: Layout = inShape.length === 4 && keep ? 'nchw' : 'nhwc';
        const axes = constValues(inputs[1]).map((a) => (a < 0 ? a + inShape.length : a)).map((a) => (layout === 'nchw' ? AXIS_TO_NCHW[a] : a));
        const x = get(inputs[0], layout);
        const y =
          node.op === 'Sum'
            ? b.node('ReduceSum', [x, b.int64s(`${node.name}/axes`, axes)], node.name, { keepdims: keep ? 1 : 0 })
            : b.node(`Reduce${node.op}`, [x], node.name, { axes, keepdims: keep ? 1 : 0 });
        set(node, layout, y);
        break;
      }

      case 'Softmax':
        set(node, 'nhwc', b.node('Softmax', [get(inputs[0], 'nhwc')], node.name, { axis: -1 }));
        break;

      case 'MatMul':
      case '_FusedMatMul':
      case 'BatchMatMulV2': {
        const ta = (node.attr?.transpose_a?.b ?? node.attr?.adj_x?.b) === true;
        const tb = (node.attr?.transpose_b?.b ?? node.attr?.adj_y?.b) === true;
        const a = isConst(inputs[0]) ? constInit(inputs[0], 'nhwc') : get(inputs[0], 'nhwc');
        const bb = isConst(inputs[1]) ? constInit(inputs[1], 'nhwc') : get(inputs[1], 'nhwc');
        const fused = fusedOps(node);
        const rank2 = shapeOf(inputs[0]).length === 2 && shapeOf(inputs[1]).length === 2;
        let y: string;
        if (rank2) {
          const gemmInputs = [a, bb];
          if (fused[0] === 'BiasAdd') gemmInputs.push(constInit(inputs[2], 'nhwc'));
          y = b.node('Gemm', gemmInputs, node.name, { transA: ta ? 1 : 0, transB: tb ? 1 : 0 });
        } else {
          const perm = (r: number): number[] => [...Array(r - 2).keys(), r - 1, r - 2];
          const aa = ta ? b.node('Transpose', [a], `${node.name}/ta`, { perm: perm(shapeOf(inputs[0]).length) }) : a;
          const bt = tb ? b.node('Transpose', [bb], `${node.name}/tb`, { perm: perm(shapeOf(inputs[1]).length) }) : bb;
          y = b.node('MatMul', [aa, bt], node.name);
          if (fused[0] === 'BiasAdd') y = b.node('Add', [y, constInit(inputs[2], 'nhwc')], `${node.name}/bias`);
        }
        if (fused[1]) y = activation(fused[1], y, 'nhwc', node, inputs[3]);
        set(node, 'nhwc', y);
        break;
      }

      case 'StridedSlice': {
        const inShape = shapeOf(inputs[0]);
        const spec = stridedSlice(inShape, constValues(inputs[1]), constValues(inputs[2]), constValues(inputs[3]), node);
        // A slice that keeps the rank of a rank-4 activation stays in its layout (channel splits).
        const keepLayout = inShape.length === 4 && outShape.length === 4 && spec.reshape === false;
        const layout: Layout = keepLayout ? layoutOf(inputs[0]) : 'nhwc';
        let y = isConst(inputs[0]) ? constInit(inputs[0], 'nhwc') : get(inputs[0], layout);
        if (spec.axes.length) {
          const axes = layout === 'nchw' ? spec.axes.map((a) => AXIS_TO_NCHW[a]) : spec.axes;
          y = b.node(
            'Slice',
            [y, b.int64s(`${node.name}/starts`, spec.starts), b.int64s(`${node.name}/ends`, spec.ends), b.int64s(`${node.name}/axes`, axes), b.int64s(`${node.name}/steps`, spec.steps)],
            node.name,
          );
        }
        if (spec.reshape || !spec.axes.length) y = b.node('Reshape', [y, b.int64s(`${node.name}/shape`, outShape)], node.name);
        set(node, layout, y);
        break;
      }

      case 'GatherV2': {
        let axis = constValues(inputs[2])[0];
        if (axis < 0) axis += shapeOf(inputs[0]).length;
        set(node, 'nhwc', b.node('Gather', [operand(inputs[0]), operand(inputs[1])], node.name, { axis }));
        break;
      }

      case 'Atan2': {
        // ONNX has no atan2: atan(y / x), turned by ±π (to y's side) where x is negative. Signed zeros
        // count as TF counts them (1/x < 0 for x = -0), and the origin gives ±0 or ±π like TF.
        const [y, xx] = [operand(inputs[0]), operand(inputs[1])];
        const zero = b.floats(`${node.name}/zero`, [0], []);
        const base = b.node('Atan', [b.node('Div', [y, xx], `${node.name}/ratio`)], `${node.name}/atan`);
        const upper = b.node('Greater', [b.node('Reciprocal', [y], `${node.name}/inv_y`), zero], `${node.name}/upper`);
        const turn = b.node('Where', [upper, b.floats(`${node.name}/pi`, [Math.PI], []), b.floats(`${node.name}/minus_pi`, [-Math.PI], [])], `${node.name}/turn`);
        const left = b.node('Less', [b.node('Reciprocal', [xx], `${node.name}/inv_x`), zero], `${node.name}/left`);
        const moved = b.node('Add', [base, b.node('Where', [left, turn, zero], `${node.name}/shift`)], `${node.name}/moved`);
        const origin = b.node('And', [b.node('Equal', [xx, zero], `${node.name}/x0`), b.node('Equal', [y, zero], `${node.name}/y0`)], `${node.name}/origin`);
        set(node, 'nhwc', b.node('Where', [origin, b.node('Where', [left, turn, y], `${node.name}/at_origin`), moved], node.name));
        break;
      }

      case 'Pack': {
        let axis = Number(node.attr?.axis?.i ?? 0);
        if (axis < 0) axis += outShape.length;
        const parts = inputs.map((r) => {
          const s = [...shapeOf(r)];
          s.splice(axis, 0, 1);
          return b.node('Reshape', [operand(r), b.int64s(`${node.name}/part_shape`, s)], `${node.name}/part`);
        });
        set(node, 'nhwc', parts.length === 1 ? parts[0] : b.node('Concat', parts, node.name, { axis }));
        break;
      }

      case 'Transpose':
        set(node, 'nhwc', b.node('Transpose', [operand(inputs[0])], node.name, { perm: constValues(inputs[1]) }));
        break;

      case 'Cast': {
        const layout = isConst(inputs[0]) ? 'nhwc' : layoutOf(inputs[0]);
        const x = isConst(inputs[0]) ? constInit(inputs[0], 'nhwc') : get(inputs[0], layout);
        set(node, layout, b.node('Cast', [x], node.name, { to: ONNX_DTYPE[node.attr!.DstT!.type!] }));
        break;
      }

      case 'Tile':
        set(node, 'nhwc', b.node('Tile', [operand(inputs[0]), b.int64s(`${node.name}/repeats`, constValues(inputs[1]))], node.name));
        break;

      case 'Fill':
        set(node, 'nhwc', b.node('Expand', [operand(inputs[1]), b.int64s(`${node.name}/shape`, outShape)], node.name));
        break;

      default: {
        if (node.op in ELEMENTWISE) {
          const live = inputs.filter((r) => !isConst(r));
          const layout: Layout = outShape.length === 4 && live.every((r) => shapeOf(r).length === 4) && live.some((r) => layoutOf(r) === 'nchw') ? 'nchw' : 'nhwc';
          const names = inputs.map((r) => (isConst(r) ? constInit(r, layout) : get(r, layout)));
          set(node, layout, b.node(ELEMENTWISE[node.op], names, node.name));
        } else if (node.op in UNARY) {
          if (node.op === 'Identity' && !isConst(inputs[0])) {
            vals.set(node.name, valOf(inputs[0]));
            break;
          }
          const layout = layoutOf(inputs[0]);
          set(node, layout, b.node(UNARY[node.op], [get(inputs[0], layout)], node.name));
        } else {
          throw new Error(`model ${modelName}: node ${node.name}: op ${node.op} has no converter${SUPPORTED.has(node.op) ? ' unless its inputs are constant (folded)' : ''}`);
        }
      }
    }
  }

  const outputs = outputNames.map((name) => {
    const v = valOf(name);
    b.nodeNamed('Identity', [get(name, 'nhwc')], name);
    b.output(name, v.shape);
    return { name, shape: v.shape };
  });
  // Probes: intermediate values as extra float outputs (`probe:<node>`, NHWC), to find where a conversion drifts.
  for (const name of options.probes ?? []) {
    if (folded.has(name) || !vals.has(name)) continue;
    b.nodeNamed('Cast', [get(name, 'nhwc')], `probe:${name}`, { to: 1 });
    b.output(`probe:${name}`, valOf(name).shape);
  }

  const bytes = b.encode({
    graphName: modelName,
    producerVersion: '1',
    doc: `${modelName}: converted from a TF.js graph model (${graph.generatedBy ?? 'unknown origin'}); NHWC input, outputs in TF.js order`,
    props: { source_format: 'tfjs-graph', opset: String(OPSET), layout: 'input NHWC, outputs as in the TF.js graph' },
  });
  return { onnx: bytes, input: { name: inputName, shape: inputShape }, outputs, tfOps, onnxOps: b.opCounts() };
}
