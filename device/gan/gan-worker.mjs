// The GAN model's ONNX session, on its own thread (device/gan/gan-model.ts starts it).
//
// onnxruntime-node runs a session synchronously on the calling thread (its `run` only defers the
// native call to setImmediate), so a model on the main thread would stall every frame behind it.
// Here it runs beside the frame loop: the stage's background runs really are in the background,
// and the time each run reports is the model's own, not the frame loop's.
//
// Plain JavaScript: a worker thread gets no TypeScript loader (the daemon's tsx hooks, vitest's
// transform do not reach it); the device's guard on each refinement (residual-guard.ts, TypeScript)
// is loaded through tsx's API, so it runs here too, off the frame loop's thread.
// Messages (types in gan-model.ts):
//   in workerData  { bytes, chain: [{ provider, executionProviders }], options, tensors, size, range }
//   out            { type: 'ready', provider, inputs, outputs, failures } | { type: 'failed', failures }
//   in             { id, bare, render, coverage, guard?: { weight, light } }
//   out            { id, residual, ms, guardMs } | { id, error }
//                  (residual: the model's refined − render, guarded when `guard` was sent)
import { parentPort, workerData } from 'node:worker_threads';
import * as ort from 'onnxruntime-node';
import { tsImport } from 'tsx/esm/api';

const { DEFAULT_GUARD, guardResidual, newGuardScratch } = await tsImport('./residual-guard.ts', import.meta.url);

const { bytes, chain, options, tensors, size, range } = workerData;

/** Shape of an input or output as plain data, for the manifest check on the main thread. */
const shapeOf = (meta) => (meta && meta.isTensor ? meta.shape : []);

async function open() {
  const failures = [];
  for (const { provider, executionProviders } of chain) {
    try {
      const session = await ort.InferenceSession.create(bytes, { ...options, executionProviders });
      return { session, provider, failures };
    } catch (err) {
      failures.push({ provider, reason: String(err?.message).split('\n')[0] });
    }
  }
  return { session: null, provider: null, failures };
}

const { session, provider, failures } = await open();
if (!session) {
  parentPort.postMessage({ type: 'failed', failures });
} else {
  parentPort.postMessage({
    type: 'ready',
    provider,
    failures,
    inputs: session.inputNames.map((name, i) => ({ name, shape: shapeOf(session.inputMetadata[i]) })),
    outputs: session.outputNames.map((name, i) => ({ name, shape: shapeOf(session.outputMetadata[i]) })),
  });
  const [lo, hi] = range;
  const scale = (hi - lo) / 255;
  const n = size * size;
  const image = new Float32Array(3 * n);
  const render = new Float32Array(3 * n);
  const mask = new Float32Array(n);
  const guardScratch = newGuardScratch();
  const handle = async ({ id, bare, render: rendered, coverage, guard }) => {
    const t0 = performance.now();
    try {
      // HWC bytes → NCHW in the model's range.
      for (let i = 0; i < n; i++) {
        for (let c = 0; c < 3; c++) {
          image[c * n + i] = bare[i * 3 + c] * scale + lo;
          render[c * n + i] = rendered[i * 3 + c] * scale + lo;
        }
        mask[i] = coverage[i];
      }
      const out = await session.run({
        [tensors.image]: new ort.Tensor('float32', image, [1, 3, size, size]),
        [tensors.render]: new ort.Tensor('float32', render, [1, 3, size, size]),
        [tensors.mask]: new ort.Tensor('float32', mask, [1, 1, size, size]),
      });
      const refined = out[tensors.refined].data;
      let residual = new Float32Array(3 * n);
      for (let i = 0; i < n; i++) for (let c = 0; c < 3; c++) residual[i * 3 + c] = (refined[c * n + i] - render[c * n + i]) / scale;
      const g0 = performance.now();
      if (guard) residual = guardResidual(residual, rendered, coverage, guard.weight, size, guard.light, DEFAULT_GUARD, guardScratch).residual;
      const t1 = performance.now();
      parentPort.postMessage({ id, residual, ms: t1 - t0, guardMs: guard ? t1 - g0 : 0 }, [residual.buffer]);
    } catch (err) {
      parentPort.postMessage({ id, error: String(err?.message).split('\n')[0] });
    }
  };
  // One run at a time: the input buffers above are reused.
  let queue = Promise.resolve();
  parentPort.on('message', (msg) => {
    queue = queue.then(() => handle(msg));
  });
}
