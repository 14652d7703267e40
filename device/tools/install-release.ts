/**
 * Installs the base install's code as the mirror's first application release (install.sh runs it
 * as the daemon's user, once: later releases arrive as signed bundles through the update agent):
 *
 *   node --import tsx device/tools/install-release.ts --state-dir /var/lib/smart-mirror [--version V]
 *
 * The release goes to `<state-dir>/releases/<app-V>/`, `current` and the committed pointer name it.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { installFromTree } from '../release/install.ts';

const { values } = parseArgs({ options: { 'state-dir': { type: 'string' }, version: { type: 'string' }, root: { type: 'string' } } });
const root = path.resolve(values.root ?? process.cwd());
const stateDir = values['state-dir'];
if (!stateDir) {
  process.stderr.write('install-release: --state-dir is required\n');
  process.exit(2);
}
const version = values.version ?? (JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')) as { version: string }).version;
const artifactId = `app-${version.replace(/[^A-Za-z0-9_-]/g, '-')}`.slice(0, 64);
const info = await installFromTree({ root, releasesDir: path.join(stateDir, 'releases'), stateDir, version, artifactId });
process.stdout.write(`installed release ${info.version} in ${info.dir}; current names it\n`);
