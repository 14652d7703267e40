/**
 * A small ONNX graph builder over the protobufjs-generated schema in `onnx-proto` (a dev
 * dependency: only the converter encodes ONNX; the daemon only reads the committed files).
 */
import onnxProto from 'onnx-proto';

const { onnx } = onnxProto;

export const OPSET = 13;
/** IR version 7 is the one that goes with opset 13 (ONNX 1.8). */
const IR_VERSION = 7;

export type AttrValue = number | string | number[] | { floats: number[] } | { float: number };

export interface ConstTensor {
  dtype: 'float32' | 'int32' | 'int64';
  shape: number[];
  data: Float32Array | Int32Array | BigInt64Array;
}

const DATA_TYPE = { float32: 1, int32: 6, int64: 7 } as const;

function attribute(name: string, value: AttrValue): onnxProto.onnx.IAttributeProto {
  const T = onnx.AttributeProto.AttributeType;
  if (typeof value === 'string') return { name, type: T.STRING, s: new TextEncoder().encode(value) };
  if (typeof value === 'number') {
    if (!Number.isInteger(value)) throw new Error(`attribute ${name}: non-integer ${value}; pass { float } for floats`);
    return { name, type: T.INT, i: value };
  }
  if (Array.isArray(value)) return { name, type: T.INTS, ints: value };
  if ('floats' in value) return { name, type: T.FLOATS, floats: value.floats };
  return { name, type: T.FLOAT, f: value.float };
}

function valueInfo(name: string, shape: number[]): onnxProto.onnx.IValueInfoProto {
  return {
    name,
    type: { tensorType: { elemType: DATA_TYPE.float32, shape: { dim: shape.map((d) => ({ dimValue: d })) } } },
  };
}

export class OnnxGraphBuilder {
  readonly #nodes: onnxProto.onnx.INodeProto[] = [];
  readonly #initializers: onnxProto.onnx.ITensorProto[] = [];
  readonly #inputs: onnxProto.onnx.IValueInfoProto[] = [];
  readonly #outputs: onnxProto.onnx.IValueInfoProto[] = [];
  readonly #names = new Set<string>();
  readonly #reserved = new Set<string>();
  #counter = 0;

  /** Keeps `name` for a later `nodeNamed` (graph outputs), so no derived value takes it. */
  reserve(name: string): void {
    this.#reserved.add(name);
  }

  /** A value name not used yet, derived from `base`. */
  fresh(base: string): string {
    let name = base;
    while (this.#names.has(name) || this.#reserved.has(name)) name = `${base}__${++this.#counter}`;
    this.#names.add(name);
    return name;
  }

  input(name: string, shape: number[]): string {
    this.#names.add(name);
    this.#inputs.push(valueInfo(name, shape));
    return name;
  }

  output(name: string, shape: number[]): void {
    this.#outputs.push(valueInfo(name, shape));
  }

  initializer(base: string, tensor: ConstTensor): string {
    const name = this.fresh(base);
    const bytes = new Uint8Array(tensor.data.buffer, tensor.data.byteOffset, tensor.data.byteLength);
    this.#initializers.push({ name, dims: tensor.shape, dataType: DATA_TYPE[tensor.dtype], rawData: bytes.slice() });
    return name;
  }

  floats(base: string, values: number[] | Float32Array, shape: number[] = [values.length]): string {
    return this.initializer(base, { dtype: 'float32', shape, data: Float32Array.from(values) });
  }

  int64s(base: string, values: number[], shape: number[] = [values.length]): string {
    return this.initializer(base, { dtype: 'int64', shape, data: BigInt64Array.from(values.map((v) => BigInt(v))) });
  }

  /** Adds a node with one output; returns the output's name (fresh, derived from `outBase`). */
  node(op: string, inputs: string[], outBase: string, attrs: Record<string, AttrValue> = {}): string {
    const out = this.fresh(outBase);
    this.#nodes.push({
      opType: op,
      name: out,
      input: inputs,
      output: [out],
      attribute: Object.entries(attrs).map(([k, v]) => attribute(k, v)),
    });
    return out;
  }

  /** Adds a node whose output takes exactly the name `out` (graph outputs). */
  nodeNamed(op: string, inputs: string[], out: string, attrs: Record<string, AttrValue> = {}): void {
    if (this.#names.has(out)) throw new Error(`value name ${out} already used`);
    this.#names.add(out);
    this.#nodes.push({ opType: op, name: out, input: inputs, output: [out], attribute: Object.entries(attrs).map(([k, v]) => attribute(k, v)) });
  }

  get nodeCount(): number {
    return this.#nodes.length;
  }

  opCounts(): Record<string, number> {
    const counts: Record<string, number> = {};
    for (const n of this.#nodes) counts[n.opType!] = (counts[n.opType!] ?? 0) + 1;
    return counts;
  }

  encode(meta: { graphName: string; producerVersion: string; doc: string; props: Record<string, string> }): Uint8Array {
    const model = onnx.ModelProto.create({
      irVersion: IR_VERSION,
      opsetImport: [{ domain: '', version: OPSET }],
      producerName: 'smart-mirror models/converter (tfjs-graph → onnx)',
      producerVersion: meta.producerVersion,
      docString: meta.doc,
      metadataProps: Object.entries(meta.props).map(([key, value]) => ({ key, value })),
      graph: {
        name: meta.graphName,
        node: this.#nodes,
        initializer: this.#initializers,
        input: this.#inputs,
        output: this.#outputs,
      },
    });
    return onnx.ModelProto.encode(model).finish();
  }
}
