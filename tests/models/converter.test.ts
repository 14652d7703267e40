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
