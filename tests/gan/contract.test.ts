/**
 * The GAN model contract (models/gan/manifest.ts) as the device applies it (device/gan/gan-model.ts
 * openGanModel, what the daemon calls): the committed reference model verifies and opens with the
 * tensors its manifest declares; a model with a wrong sha256, a truncated file, a manifest whose
 * input size disagrees with the graph, a TF.js format, a bad field are each refused naming the field.
 */
import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { onnx } from 'onnx-proto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openGanModel } from '../../device/gan/gan-model.ts';
import { REFERENCE_GAN_DIR, verifyGanModel, type GanManifest } from '../../models/gan/manifest.ts';

const quiet = { info: () => {}, warn: () => {}, error: () => {} };
const open = (dir: string) => openGanModel(dir, { providers: ['tensorrt', 'cuda', 'cpu'], stateDir: tmp, logger: quiet });

let tmp: string;
let reference: GanManifest;
beforeAll(async () => {
  tmp = await mkdtemp(path.join(tmpdir(), 'gan-contract-'));
  reference = JSON.parse(await readFile(path.join(REFERENCE_GAN_DIR, 'manifest.json'), 'utf8'));
});
afterAll(() => rm(tmp, { recursive: true, force: true }));

/** A copy of the reference model with its manifest changed by `edit` (and its files by `files`). */
async function variant(name: string, edit: (m: GanManifest) => unknown, files?: (dir: string) => Promise<void>): Promise<string> {
  const dir = path.join(tmp, name);
  await cp(REFERENCE_GAN_DIR, dir, { recursive: true });
  await writeFile(path.join(dir, 'manifest.json'), JSON.stringify(edit(structuredClone(reference))));
  await files?.(dir);
  return dir;
}

describe('GAN model contract', () => {
  it('the committed reference weights match their manifest and open with its tensors', async () => {
    const verified = await verifyGanModel(REFERENCE_GAN_DIR);
    expect(verified.manifest.format).toBe('onnx');
    const model = await open(REFERENCE_GAN_DIR);
    try {
      expect(model.backend).toBe('onnx-cpu'); // no GPU on this machine: the CPU provider serves
      expect(model.size).toBe(verified.manifest.input.size);
      // The parameter count the manifest states is the graph's (sum of its initialisers), within the 1 M.
      const graph = onnx.ModelProto.decode(verified.files.get('makeup-refiner.onnx')!).graph!;
      const params = graph.initializer!.reduce((n, t) => n + (t.dims as number[]).reduce((a, d) => a * Number(d), 1), 0);
      expect(params).toBe(verified.manifest.parameters);
      expect(params).toBeLessThanOrEqual(1_000_000);
      // A real run: grey crop, no makeup → residual of the right length.
      const n = model.size * model.size;
      const residual = await model.refine(new Uint8Array(n * 3).fill(120), new Uint8Array(n * 3).fill(120), new Float32Array(n));
      expect(residual.length).toBe(n * 3);
    } finally {
      model.dispose();
    }
  });

  it('a model whose file does not match the manifest sha256 is refused naming files[0].sha256', async () => {
    const dir = await variant('bad-sha', (m) => ({ ...m, files: [{ ...m.files[0], sha256: 'a'.repeat(64) }] }));
    await expect(open(dir)).rejects.toThrow(/field "files\[0\]\.sha256"/);
  });

  it('a swapped model file (same size, one byte changed) is refused naming files[0].sha256', async () => {
    const dir = await variant(
      'swapped',
      (m) => m,
      async (d) => {
        const f = path.join(d, reference.files[0].path);
        const bytes = await readFile(f);
        bytes[bytes.length - 10] ^= 0xff;
        await writeFile(f, bytes);
      },
    );
    await expect(open(dir)).rejects.toThrow(/field "files\[0\]\.sha256"/);
  });

  it('a truncated model file is refused naming files[0].size', async () => {
    const dir = await variant(
      'truncated',
      (m) => m,
      async (d) => {
        const f = path.join(d, reference.files[0].path);
        await writeFile(f, (await readFile(f)).subarray(0, 1000));
      },
    );
    await expect(open(dir)).rejects.toThrow(/field "files\[0\]\.size"/);
  });

  it('a manifest declaring another input size than the graph takes is refused naming input.size', async () => {
    const dir = await variant('wrong-shape', (m) => ({ ...m, input: { ...m.input, size: 256 } }));
    await expect(open(dir)).rejects.toThrow(/field "input\.size".*\[1,3,128,128\]/);
  });

  it('a manifest naming a tensor the graph lacks is refused naming it', async () => {
    const dir = await variant('wrong-tensor', (m) => ({ ...m, tensors: { ...m.tensors, mask: 'regions' } }));
    await expect(open(dir)).rejects.toThrow(/field "tensors\.mask"/);
  });

  it('a TF.js model is refused naming format (the device runs GAN models in ONNX)', async () => {
    const dir = await variant('tfjs', (m) => ({ ...m, format: 'tfjs-graph' }));
    await expect(open(dir)).rejects.toThrow(/field "format"/);
  });

  it('schema errors name the field: latency class, alignment, missing version', async () => {
    await expect(open(await variant('latency', (m) => ({ ...m, latencyClass: 'fast' })))).rejects.toThrow(/field "latencyClass"/);
    await expect(open(await variant('align', (m) => ({ ...m, input: { ...m.input, alignment: 'five-points' } })))).rejects.toThrow(/field "input\.alignment"/);
    await expect(
      open(
        await variant('noversion', (m) => {
          const { version: _v, ...rest } = m;
          return rest;
        }),
      ),
    ).rejects.toThrow(/field "version"/);
  });
});
