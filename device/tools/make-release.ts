/**
 * Packages the working tree as a signed-to-be application release (kind "app"):
 *
 *   npm run make-release -- --version 1.4.0 [--base app-1.3.0.bundle] [--with-deps] [--out FILE]
 *
 * then sign and push it like any artifact:
 *
 *   fleet sign app-1.4.0.bundle --kind app --name app --version 1.4.0 --key KEY.pem --key-id ID
 *   fleet push app-1.4.0.bundle --to store:s1 --canary 5%
 *
 * --base: the bundle of the release the mirrors run; files it already has are not carried.
 * --with-deps: carry node_modules (a changed lockfile); without it mirrors reuse the dependency
 * tree of the same lockfile, and a mirror that lacks it fails the job naming the lockfile.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { packRelease } from '../release/pack.ts';

const { values } = parseArgs({
  options: {
    version: { type: 'string' },
    base: { type: 'string' },
    'with-deps': { type: 'boolean', default: false },
    out: { type: 'string' },
    root: { type: 'string' },
  },
});
if (!values.version) {
  process.stderr.write('make-release: --version is required (e.g. --version 1.4.0)\n');
  process.exit(2);
}
const root = path.resolve(values.root ?? process.cwd());
const out = values.out ?? `app-${values.version}.bundle`;
const packed = await packRelease({
  root,
  version: values.version,
  ...(values.base ? { base: readFileSync(values.base) } : {}),
  withDeps: values['with-deps'],
});
writeFileSync(out, packed.bundle);
process.stdout.write(
  `${out}: app ${values.version}, ${packed.files} files (${packed.carried} carried, ${(packed.carriedBytes / 1e6).toFixed(1)} MB; ${packed.fromBase} from the base)` +
    `, ${(packed.bundle.byteLength / 1e6).toFixed(1)} MB\nnext: fleet sign ${out} --kind app --name app --version ${values.version} --key KEY.pem --key-id ID\n`,
);
