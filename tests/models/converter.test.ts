/**
 * The converter on small hand-built TF.js graphs that exercise the ops and attribute variants the
 * bundled models do not (odd sizes with SAME padding, strided transposed conv with an output
 * padding, depthwise multipliers, explicit padding, Mean/Softmax/MatMul heads, nearest and
 * align-corners resizes), each checked against TF.js itself; and the report of unsupported ops.
 */
import * as tf from '@tensorflow/tfjs';
import * as ort from 'onnxruntime-node';
import { beforeAll, describe, expect, it } from 'vitest';
import { convertTfjsGraph, UnsupportedOpsError, graphArtifacts, type TfNode, type TfjsGraphJson } from '../../models/converter/tfjs-to-onnx.ts';
import { fixedInput } from '../../models/fixed-input.ts';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

const b64 = (s: string): string => Buffer.from(s).toString('base64');
const ints = (...v: number[]) => ({ list: { i: v.map(String) } });

/** A tiny graph builder: constants become weights, like the TF.js converter writes them. */
class G {
  nodes: TfNode[] = [];
  weights: Array<{ name: string; shape: number[]; dtype: 'float32' | 'int32'; data: number[] }> = [];
  seed = 7;
  input(name: string, shape: number[]): string {
    this.nodes.push({ name, op: 'Placeholder', attr: { dtype: { type: 'DT_FLOAT' }, shape: { shape: { dim: shape.map((d) => ({ size: String(d) })) } } as never } });
    return name;
  }
  const(name: string, shape: number[], data?: number[], dtype: 'float32' | 'int32' = 'float32'): string {
    const n = shape.reduce((a, b) => a * b, 1);
    const values = data ?? Array.from(fixedInput([n], [-0.5, 0.5], this.seed++));
    this.weights.push({ name, shape, dtype, data: values });
    this.nodes.push({ name, op: 'Const', attr: { dtype: { type: dtype === 'int32' ? 'DT_INT32' : 'DT_FLOAT' } } });
    return name;
  }
  op(name: string, op: string, input: string[], attr: TfNode['attr'] = {}): string {
    this.nodes.push({ name, op, input, attr: { T: { type: 'DT_FLOAT' }, ...attr } });
    return name;
  }
  build(): { graph: TfjsGraphJson; weights: ArrayBuffer } {
    const parts = this.weights.map((w) => (w.dtype === 'int32' ? new Int32Array(w.data) : new Float32Array(w.data)));
    const bytes = new Uint8Array(parts.reduce((a, p) => a + p.byteLength, 0));
    let o = 0;
    for (const p of parts) {
      bytes.set(new Uint8Array(p.buffer), o);
      o += p.byteLength;
    }
    return {
      graph: {
        format: 'graph-model',
        modelTopology: { node: this.nodes, library: {}, versions: { producer: 1982 } },
        weightsManifest: [{ paths: ['w.bin'], weights: this.weights.map(({ name, shape, dtype }) => ({ name, shape, dtype })) }],
      },
      weights: bytes.buffer,
    };
  }
}

async function parity(g: G, inputShape: number[]): Promise<number> {
  const { graph, weights } = g.build();
  const converted = await convertTfjsGraph(tf, 'test', graph, weights);
  const input = fixedInput(inputShape, [0, 1], 3);
  const model = await tf.loadGraphModel(tf.io.fromMemory(graphArtifacts(graph, weights)));
  const x = tf.tensor(input, inputShape);
  const expected = model.execute(x, model.outputs.map((o) => o.name)) as tf.Tensor | tf.Tensor[];
  const list = Array.isArray(expected) ? expected : [expected];
  const session = await ort.InferenceSession.create(converted.onnx);
  const out = await session.run({ [converted.input.name]: new ort.Tensor('float32', input, inputShape) });
  let max = 0;
  converted.outputs.forEach((o, i) => {
    const want = list[i].dataSync();
    const got = out[o.name].data as Float32Array;
    expect([...out[o.name].dims]).toEqual(list[i].shape);
    for (let k = 0; k < want.length; k++) max = Math.max(max, Math.abs(want[k] - got[k]));
  });
  if (process.env.CONVERTER_DEBUG) console.log(converted.outputs.map((o) => `${o.name}[${o.shape}]`).join(' '), converted.onnxOps, max);
  await session.release();
  tf.dispose([x, ...list]);
  model.dispose();
  return max;
}

describe('TF.js → ONNX converter on ops the bundled models do not use', () => {
  it('odd-sized SAME conv/pool, explicit padding, depthwise x2, AvgPool SAME, nearest and align-corners resizes', async () => {
    const g = new G();
    const x = g.input('x', [1, 13, 11, 3]);
    const c1 = g.op('c1', 'Conv2D', [x, g.const('w1', [3, 3, 3, 8])], { strides: ints(1, 2, 2, 1), padding: { s: b64('SAME') }, data_format: { s: b64('NHWC') }, dilations: ints(1, 1, 1, 1) });
    const c2 = g.op('c2', 'Conv2D', [c1, g.const('w2', [3, 3, 8, 8])], { strides: ints(1, 1, 1, 1), padding: { s: b64('EXPLICIT') }, explicit_paddings: ints(0, 0, 2, 0, 1, 1, 0, 0), dilations: ints(1, 1, 1, 1) });
    const d = g.op('d', 'DepthwiseConv2dNative', [c2, g.const('dw', [3, 3, 8, 2])], { strides: ints(1, 2, 2, 1), padding: { s: b64('SAME') }, dilations: ints(1, 1, 1, 1) });
    const ap = g.op('ap', 'AvgPool', [d], { ksize: ints(1, 3, 3, 1), strides: ints(1, 2, 2, 1), padding: { s: b64('SAME') } });
    const mp = g.op('mp', 'MaxPool', [c2], { ksize: ints(1, 3, 3, 1), strides: ints(1, 2, 2, 1), padding: { s: b64('SAME') } });
    g.op('nn', 'ResizeNearestNeighbor', [ap, g.const('nn/size', [2], [7, 5], 'int32')], { half_pixel_centers: { b: true }, align_corners: { b: false } });
    g.op('bl', 'ResizeBilinear', [mp, g.const('bl/size', [2], [9, 9], 'int32')], { half_pixel_centers: { b: false }, align_corners: { b: true } });
    expect(await parity(g, [1, 13, 11, 3])).toBeLessThan(1e-4);
  });

  it('strided transposed conv with an output padding, Relu6 and LeakyRelu fused', async () => {
    const g = new G();
    const x = g.input('x', [1, 5, 5, 4]);
    const up = g.op('up', 'Conv2DBackpropInput', [g.const('up/sizes', [4], [1, 10, 10, 6], 'int32'), g.const('up/w', [3, 3, 6, 4]), x], { strides: ints(1, 2, 2, 1), padding: { s: b64('SAME') } });
    const f = g.op('f', '_FusedConv2D', [up, g.const('f/w', [1, 1, 6, 6]), g.const('f/b', [6])], {
      strides: ints(1, 1, 1, 1),
      padding: { s: b64('VALID') },
      dilations: ints(1, 1, 1, 1),
      fused_ops: { list: { s: [b64('BiasAdd'), b64('LeakyRelu')] } },
      leakyrelu_alpha: { f: 0.1 },
      num_args: { i: '1' },
    });
    g.op('r6', 'Relu6', [g.op('scaled', 'Mul', [f, g.const('k', [], [20])])]);
    expect(await parity(g, [1, 5, 5, 4])).toBeLessThan(1e-4);
  });

  it('Mean, Reshape, MatMul (transposed weights), BiasAdd, Softmax and ConcatV2 heads', async () => {
    const g = new G();
    const x = g.input('x', [1, 6, 6, 5]);
    const m = g.op('m', 'Mean', [x, g.const('m/axes', [2], [1, 2], 'int32')], { keep_dims: { b: false } });
    const mm = g.op('mm', 'MatMul', [m, g.const('mm/w', [7, 5])], { transpose_a: { b: false }, transpose_b: { b: true } });
    const logits = g.op('logits', 'BiasAdd', [mm, g.const('mm/b', [7])]);
    g.op('sm', 'Softmax', [logits]);
    const kept = g.op('kept', 'Mean', [x, g.const('k/axes', [1], [3], 'int32')], { keep_dims: { b: true } });
    const cat = g.op('cat', 'ConcatV2', [x, kept, g.const('cat/axis', [], [-1], 'int32')], { N: { i: '2' } });
    g.op('flat', 'Reshape', [g.op('cr', 'Relu', [cat]), g.const('flat/shape', [2], [1, -1], 'int32')]);
    expect(await parity(g, [1, 6, 6, 5])).toBeLessThan(1e-4);
  });

  it('attention-mesh ops: StridedSlice (masks, ellipsis, negative stride), Pack, Transpose, BatchMatMulV2 (adjoint), Min', async () => {
    const g = new G();
    const x = g.input('x', [1, 6, 5, 4]);
    const i32 = (name: string, v: number[]) => g.const(name, [v.length], v, 'int32');
    const ss = (name: string, input: string, begin: number[], end: number[], strides: number[], masks: Record<string, number>) =>
      g.op(name, 'StridedSlice', [input, i32(`${name}/b`, begin), i32(`${name}/e`, end), i32(`${name}/s`, strides)], {
        Index: { type: 'DT_INT32' },
        ...Object.fromEntries(['begin_mask', 'end_mask', 'ellipsis_mask', 'new_axis_mask', 'shrink_axis_mask'].map((k) => [k, { i: String(masks[k] ?? 0) }])),
      });
    // Channel split of a conv output (stays NCHW), a shrunk row, an ellipsis with a new axis, a reversed axis.
    const conv = g.op('conv', 'Conv2D', [x, g.const('w', [1, 1, 4, 6])], { strides: ints(1, 1, 1, 1), padding: { s: b64('VALID') }, dilations: ints(1, 1, 1, 1) });
    g.op('chan', 'Relu', [ss('chan/ss', conv, [0, 0, 0, 2], [0, 0, 0, 5], [1, 1, 1, 1], { begin_mask: 7, end_mask: 7 })]);
    const row = ss('row', x, [0, -2], [0, -1], [1, 1], { begin_mask: 1, end_mask: 1, shrink_axis_mask: 2 });
    const ell = ss('ell', x, [0, 1], [0, 3], [1, 1], { ellipsis_mask: 1, new_axis_mask: 0 });
    const rev = ss('rev', x, [0, 0, -1], [0, 0, 0], [1, 1, -2], { begin_mask: 3, end_mask: 7, new_axis_mask: 0 });
    const na = ss('na', row, [0, 0, 1], [0, 0, 3], [1, 1, 1], { begin_mask: 1, end_mask: 1, new_axis_mask: 2 });
    g.op('packed', 'Pack', [g.op('r1', 'Relu', [row]), g.op('r2', 'Neg', [row])], { axis: { i: '-1' }, N: { i: '2' } });
    g.op('out_ell', 'Relu', [ell]);
    g.op('out_rev', 'Relu', [rev]);
    g.op('out_na', 'Relu', [na]);
    const t = g.op('t', 'Transpose', [x, i32('t/perm', [0, 3, 1, 2])]);
    const flat = g.op('flat', 'Reshape', [t, i32('flat/shape', [1, 4, 30])]);
    g.op('bmm', 'BatchMatMulV2', [flat, flat], { adj_x: { b: false }, adj_y: { b: true } });
    g.op('bmm2', 'BatchMatMulV2', [flat, g.const('bmm2/w', [1, 4, 3])], { adj_x: { b: true }, adj_y: { b: false } });
    g.op('min', 'Min', [x, i32('min/axes', [1, 2])], { keep_dims: { b: false } });
    expect(await parity(g, [1, 6, 5, 4])).toBeLessThan(1e-4);
  });

  it('attention-mesh ops: a bilinear sampler (Floor, Cast, comparisons, LogicalAnd, GatherV2), Atan2 in every quadrant and at 0, Sin/Cos; shape arithmetic folded', async () => {
    const g = new G();
    const x = g.input('x', [1, 4, 4, 3]);
    const i32 = (name: string, v: number[], shape = [v.length]) => g.const(name, shape, v, 'int32');
    // Shape-only arithmetic (Shape, StridedSlice, Pack, Range, Fill, Tile, ZerosLike) becomes constants.
    const shape = g.op('shape', 'Shape', [x], { out_type: { type: 'DT_INT32' } });
    const h = g.op('h', 'StridedSlice', [shape, i32('h/b', [1]), i32('h/e', [2]), i32('h/s', [1])], { shrink_axis_mask: { i: '1' }, Index: { type: 'DT_INT32' }, T: { type: 'DT_INT32' } });
    const range = g.op('range', 'Range', [i32('r0', [0], []), h, i32('r1', [1], [])], { Tidx: { type: 'DT_INT32' } });
    const tiled = g.op('tiled', 'Tile', [g.op('rf', 'Cast', [range], { DstT: { type: 'DT_FLOAT' }, SrcT: { type: 'DT_INT32' } }), i32('tiles', [3])]);
    const filled = g.op('filled', 'Fill', [g.op('fs', 'Pack', [h], { axis: { i: '0' }, N: { i: '1' }, T: { type: 'DT_INT32' } }), g.const('fv', [], [0.25])]);
    // Sample coordinates from the pixels: 12 (u, v) pairs in [-0.5, 3.5], floored, clipped and gathered as TF's SpatialTransformer does.
    const flat = g.op('flat', 'Reshape', [x, i32('flat/shape', [16, 3])]);
    const coords = g.op('coords', 'Reshape', [g.op('scaled', 'Sub', [g.op('sc', 'Mul', [x, g.const('four', [], [4])]), g.const('half', [], [0.5])]), i32('coords/shape', [24, 2])]);
    const u = g.op('u', 'StridedSlice', [coords, i32('u/b', [0, 0]), i32('u/e', [0, 1]), i32('u/s', [1, 1])], { begin_mask: { i: '1' }, end_mask: { i: '1' }, shrink_axis_mask: { i: '2' }, Index: { type: 'DT_INT32' } });
    const v = g.op('v', 'StridedSlice', [coords, i32('v/b', [0, 1]), i32('v/e', [0, 2]), i32('v/s', [1, 1])], { begin_mask: { i: '1' }, end_mask: { i: '1' }, shrink_axis_mask: { i: '2' }, Index: { type: 'DT_INT32' } });
    const u0 = g.op('u0', 'Floor', [u]);
    const v0 = g.op('v0', 'Floor', [v]);
    const inside = g.op('inside', 'LogicalAnd', [g.op('ge', 'GreaterEqual', [u0, g.const('zero', [], [0])]), g.op('le', 'LessEqual', [v0, g.const('three', [], [3])])]);
    const clip = (n: string, t: string) => g.op(n, 'Maximum', [g.op(`${n}/min`, 'Minimum', [t, g.const(`${n}/hi`, [], [3])]), g.const(`${n}/lo`, [], [0])]);
    const idx = g.op('idx', 'Cast', [g.op('lin', 'AddV2', [g.op('row', 'Mul', [clip('cv', v0), g.const('w4', [], [4])]), clip('cu', u0)])], { DstT: { type: 'DT_INT32' }, SrcT: { type: 'DT_FLOAT' } });
    const picked = g.op('picked', 'GatherV2', [flat, idx, i32('axis', [0], [])], { batch_dims: { i: '0' }, Tindices: { type: 'DT_INT32' }, Taxis: { type: 'DT_INT32' } });
    const w = g.op('w', 'Mul', [g.op('fu', 'Sub', [u, u0]), g.op('inf', 'Cast', [inside], { DstT: { type: 'DT_FLOAT' }, SrcT: { type: 'DT_BOOL' } })]);
    g.op('sampled', 'Mul', [picked, g.op('we', 'ExpandDims', [w, i32('we/axis', [1], [])])]);
    const angle = g.op('angle', 'Atan2', [g.op('ay', 'Sub', [v, g.const('c', [], [1.5])]), g.op('ax', 'Sub', [u, g.const('c2', [], [1.5])])]);
    const origin = g.op('origin', 'Atan2', [g.op('z1', 'ZerosLike', [u]), g.op('z2', 'Mul', [u, g.const('nil', [], [0])])]);
    g.op('rot', 'AddV2', [g.op('sin', 'Sin', [angle]), g.op('cos', 'Cos', [g.op('a2', 'AddV2', [angle, origin])])]);
    g.op('grid', 'AddV2', [g.op('gm', 'Mul', [tiled, g.const('gk', [], [2])]), g.op('zl', 'ZerosLike', [tiled])]);
    g.op('fill_out', 'Neg', [filled]);
    // The sampler's bound as the attention mesh computes it: Cast(Shape[1] - 1) to float, folded
    // (TF.js's CPU Cast hands back the int32 array behind a float32 tensor here), then compared.
    const last = g.op('last', 'Cast', [g.op('hm1', 'Sub', [h, i32('one', [1], [])], { T: { type: 'DT_INT32' } })], { DstT: { type: 'DT_FLOAT' }, SrcT: { type: 'DT_INT32' } });
    g.op('below', 'Cast', [g.op('le_last', 'LessEqual', [u, last])], { DstT: { type: 'DT_FLOAT' }, SrcT: { type: 'DT_BOOL' } });
    const { graph, weights } = g.build();
    const converted = await convertTfjsGraph(tf, 'sampler', graph, weights);
    for (const folded of ['Shape', 'Range', 'Fill', 'Tile', 'ZerosLike', 'Pack']) expect(converted.onnxOps[folded], folded).toBeUndefined();
    expect(converted.onnxOps.Gather).toBe(1);
    expect(converted.onnxOps.Atan).toBe(2);
    expect(await parity(g, [1, 4, 4, 3])).toBeLessThan(1e-5);
  });

  it('reports every unsupported op by name with its node, and converts nothing', async () => {
    const g = new G();
    const x = g.input('x', [1, 4, 4, 3]);
    const a = g.op('head/atan', 'Atan', [x]);
    const c = g.op('head/conv', '_FusedConv2D', [a, g.const('w', [1, 1, 3, 3]), g.const('b', [3])], {
      strides: ints(1, 1, 1, 1),
      padding: { s: b64('SAME') },
      fused_ops: { list: { s: [b64('FusedBatchNorm')] } },
    });
    g.op('out', 'Erf', [c]);
    const { graph, weights } = g.build();
    const err = await convertTfjsGraph(tf, 'tiny', graph, weights).then(
      () => null,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(UnsupportedOpsError);
    expect((err as UnsupportedOpsError).ops).toEqual([
      { op: 'Atan', node: 'head/atan' },
      { op: '_FusedConv2D[FusedBatchNorm]', node: 'head/conv' },
      { op: 'Erf', node: 'out' },
    ]);
    expect((err as Error).message).toBe('model tiny: 3 unsupported op use(s): Atan (node "head/atan"), _FusedConv2D[FusedBatchNorm] (node "head/conv"), Erf (node "out")');
  });
});
