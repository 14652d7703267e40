/**
 * Builds a model update artifact (models/bundle.ts) or a catalog artifact and, with a key, its
 * signed metadata.
 *
 *   tsx device/tools/make-bundle.ts --model face-mesh --version 3.0.5 --out face-mesh-3.0.5.bundle \
 *     [--format onnx|tfjs-graph] [--dir MODEL_DIR] [--id ARTIFACT_ID] [--sign-key ed25519-private.pem --key-id fleet-2025]
 *
 *   tsx device/tools/make-bundle.ts --catalog catalog.json --out catalog-2026.2.0.json [--id ID] [--sign-key ... --key-id ...]
 *     [--rollback-from V]
 *
 * --catalog takes a product catalog (device/tryon/catalog.ts): it is validated (an error names the
 * field) and the artifact is the catalog file itself (kind "catalog", name "catalog", version =
 * the catalog's; --version, if given, must agree).
 * --model takes a registered model (its files verified by the registry) in --format (default the
 * TF.js graph; `onnx` for mirrors that serve ONNX Runtime, where a TF.js graph runs on TF.js WASM at
 * several times the CPU); --dir a model directory
 * (manifest.json + files, or manifests/<name>.json). Writes the bundle, and beside it
 * `<out without its extension>.manifest.json` (face-mesh-3.0.5.bundle: face-mesh-3.0.5.manifest.json,
 * what `fleet push` reads) with the artifact fields of an update offer (id, kind, name, version,
 * size, sha256, signature, keyId; rollbackFrom for an explicit signed rollback below the devices' floor).
 */
import { createHash, createPrivateKey } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { bundleFromDir, bundleFromRegistry, parseBundle } from '../../models/bundle.ts';
import { MODEL_FORMATS } from '../../models/registry.ts';
import { manifestFileFor, signFields } from '../../fleet/cli/signing.ts';
import { CATALOG_NAME, parseCatalog } from '../tryon/catalog.ts';

const { values: a } = parseArgs({
  options: {
    model: { type: 'string' },
    format: { type: 'string', default: 'tfjs-graph' },
    catalog: { type: 'string' },
    dir: { type: 'string' },
    version: { type: 'string' },
    out: { type: 'string' },
    id: { type: 'string' },
    'sign-key': { type: 'string' },
    'key-id': { type: 'string' },
    'rollback-from': { type: 'string' },
  },
});

function die(msg: string): never {
  process.stderr.write(`make-bundle: ${msg}\n`);
  process.exit(2);
}

if (!a.out || [a.model, a.dir, a.catalog].filter(Boolean).length !== 1) {
  die('usage: --model NAME | --dir DIR | --catalog FILE, [--version V], --out FILE [--id ID] [--sign-key PEM --key-id ID]');
}
if (a.model && !a.version) die('--version is required with --model');
const format = MODEL_FORMATS.find((f) => f === a.format) ?? die(`--format must be one of ${MODEL_FORMATS.join(', ')}`);
let bundle: Buffer;
let kind: 'model' | 'catalog';
let name: string;
let version: string;
if (a.catalog) {
  bundle = readFileSync(a.catalog);
  let catalog;
  try {
    catalog = parseCatalog(bundle);
  } catch (err) {
    die(`${a.catalog}: ${(err as Error).message}`);
  }
  if (a.version && a.version !== catalog.version) die(`--version ${a.version} differs from the catalog's version "${catalog.version}"`);
  kind = 'catalog';
  name = CATALOG_NAME;
  version = catalog.version;
} else {
  bundle = a.dir ? await bundleFromDir(a.dir, a.version) : await bundleFromRegistry(a.model!, a.version!, undefined, format);
  const { manifest } = parseBundle(bundle);
  kind = 'model';
  name = manifest.name;
  version = manifest.version;
}
const sha256 = createHash('sha256').update(bundle).digest('hex');
const id = a.id ?? `${name}-${version}-${sha256.slice(0, 8)}`.replace(/[^A-Za-z0-9_-]/g, '-').slice(0, 64);
const meta = { id, kind, name, version, size: bundle.byteLength, sha256, ...(a['rollback-from'] ? { rollbackFrom: a['rollback-from'] } : {}) };
writeFileSync(a.out, bundle);
let artifact: Record<string, unknown> = meta;
if (a['sign-key']) {
  if (!a['key-id']) die('--key-id is required with --sign-key');
  const key = createPrivateKey(readFileSync(a['sign-key'], 'utf8'));
  artifact = { ...meta, signature: signFields(meta, key), keyId: a['key-id'] };
}
const manifestOut = manifestFileFor(a.out);
writeFileSync(manifestOut, `${JSON.stringify(artifact, null, 2)}\n`);
process.stdout.write(`${a.out}: ${bundle.byteLength} bytes, sha256 ${sha256}${a['sign-key'] ? ', signed' : ', unsigned'}; metadata ${manifestOut}\n`);
