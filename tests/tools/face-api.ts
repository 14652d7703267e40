/**
 * The independent reference detector for the fixture tools: face-api (MIT) on its WASM build,
 * models and .wasm binaries read from node_modules, nothing from the network.
 */
import { createRequire } from 'node:module';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

const require = createRequire(import.meta.url);
// face-api's node-wasm bundle is CommonJS and pulls in @tensorflow/tfjs + tfjs-backend-wasm itself.
export const faceapi = require('@vladmandic/face-api/dist/face-api.node-wasm.js') as typeof import('@vladmandic/face-api/dist/face-api.node-wasm.js');
// Same CommonJS instances the bundle required (face-api's typings for `faceapi.tf` are a narrow subset).
export const tf = require('@tensorflow/tfjs') as typeof import('@tensorflow/tfjs');
const wasm = require('@tensorflow/tfjs-backend-wasm') as typeof import('@tensorflow/tfjs-backend-wasm');

export const faceApiDir = dirname(dirname(require.resolve('@vladmandic/face-api/dist/face-api.node-wasm.js')));
export const faceApiVersion = (JSON.parse(readFileSync(join(faceApiDir, 'package.json'), 'utf8')) as { version: string }).version;
const wasmDir = dirname(require.resolve('@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm'));

/** The WASM backend and face-api's SSD MobileNet v1, plus its 68-point landmark net if asked. */
export async function loadFaceApi(options: { landmarks68?: boolean } = {}): Promise<void> {
  wasm.setWasmPaths(wasmDir + '/');
  await tf.setBackend('wasm');
  await tf.ready();
  await faceapi.nets.ssdMobilenetv1.loadFromDisk(join(faceApiDir, 'model'));
  if (options.landmarks68) await faceapi.nets.faceLandmark68Net.loadFromDisk(join(faceApiDir, 'model'));
}
