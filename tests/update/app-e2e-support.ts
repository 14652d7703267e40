/**
 * What both application update suites share: a real Mosquitto, the fleet stand-in, one mirror
 * installed from the working tree as release 1.0.0 (app-rig.ts), and releases made by
 * make-release's packer as deltas against the bundle of 1.0.0, signed like any artifact.
 */
import { parseAppBundle } from '../../device/release/app-bundle.ts';
import { packRelease, type Packed } from '../../device/release/pack.ts';
import type { AppBootLimits } from '../../device/release/boot-check.ts';
import type { Artifact } from '../../fleet/protocol/update.ts';
import { startMosquitto, type TestBroker } from '../../fleet/sim/broker.ts';
import { repoRoot } from '../helpers/daemon.ts';
import { uniqueId } from '../telemetry/support.ts';
import { startAppMirror, type AppMirror } from './app-rig.ts';
import { generateSigningKey, makeArtifact, startFleetDouble, type FleetDouble, type SigningKey } from './fleet-double.ts';

export const STORE = 'store-app-update';

export interface Release {
  bytes: Buffer;
  artifact: Artifact;
  packed: Packed;
}

export interface AppWorld {
  broker: TestBroker;
  fleet: FleetDouble;
  mirror: AppMirror;
  key: SigningKey;
  /** device/main.ts of release 1.0.0 (the releases under test patch it). */
  mainTs: string;
  /** A file of release 1.0.0, as text. */
  baseFile(rel: string): string;
  release(version: string, overrides?: Record<string, string>): Promise<Release>;
  offer(jobId: string, r: Release, watchSeconds?: number): Promise<unknown>;
  /** The states the fleet heard for a job, with their reasons: "rolled-back(crash-loop)". */
  states(jobId: string): string[];
  close(): Promise<void>;
}

export async function startAppWorld(opts: { appMinFps: number; limits?: AppBootLimits }): Promise<AppWorld> {
  const key = generateSigningKey('fleet-app');
  const deviceId = uniqueId('mirror-app');
  const broker = await startMosquitto();
  const fleet = await startFleetDouble(broker.url, { storeId: STORE, deviceId });
  // The bundle of the installed release: what the mirrors run, the base later releases are made against.
  const base = (await packRelease({ root: repoRoot, version: '1.0.0' })).bundle;
  const files = parseAppBundle(base).data;
  const baseFile = (rel: string): string => files.get(rel)!.toString('utf8');
  const mainTs = baseFile('device/main.ts');
  const mirror = await startAppMirror({ brokerUrl: broker.url, storeId: STORE, deviceId, key, ...opts });
  await mirror.listening();
  return {
    broker,
    fleet,
    mirror,
    key,
    mainTs,
    baseFile,
    async release(version, overrides = {}) {
      const packed = await packRelease({ root: repoRoot, version, base, overrides });
      const id = `app-${version.replace(/\./g, '-')}`;
      return { bytes: packed.bundle, artifact: makeArtifact(packed.bundle, { id, kind: 'app', name: 'app', version, key }), packed };
    },
    offer: (jobId, r, watchSeconds = 6) => fleet.offerUntilHeard({ jobId, artifact: r.artifact, bytes: r.bytes, watchSeconds }, 120_000),
    states: (jobId) => fleet.states.filter((s) => s.jobId === jobId).map((s) => s.state + (s.reason ? `(${s.reason})` : '')),
    async close() {
      await mirror.stop();
      await fleet.close();
      await broker.stop();
    },
  };
}
