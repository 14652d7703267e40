/**
 * Anti-rollback (issue 13, item 5): a signed older artifact replayed to a device is refused as
 * `downgrade`; the floor is the highest version ever committed and survives a restart and an
 * operator rollback; the one way down is an operator-signed rollback (`rollbackFrom`, covered by
 * the signature), which cannot be forged from a plain signature nor replayed past its version.
 */
import { rm } from 'node:fs/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { compareVersions, isDowngrade, signingPayload } from '../../fleet/protocol/update.ts';
import { checkSignature, parsePublicKey } from '../../fleet/protocol/signing.ts';
import { signArtifact } from '../../fleet/cli/signing.ts';
import { generateSigningKey as generatePemKey } from '../../fleet/cli/signing.ts';
import { makeArtifact } from './fleet-double.ts';
import { boot, endOf, key, rig, runOffer, tinyBundle, type Rig } from './agent-rig.ts';

const rigs: Rig[] = [];
afterEach(async () => {
  for (const r of rigs.splice(0)) {
    await r.agent?.stop();
    await rm(r.dir, { recursive: true, force: true });
  }
});

async function booted(): Promise<Rig> {
  const r = await rig();
  rigs.push(r);
  await boot(r);
  return r;
}

const mesh = (id: string, version: string, rollbackFrom?: string) => {
  const bytes = tinyBundle(version);
  return { bytes, artifact: makeArtifact(bytes, { id, version, key, ...(rollbackFrom ? { rollbackFrom } : {}) }) };
};

describe('version order and the downgrade rule', () => {
  it('orders numeric parts numerically and is a total order on the examples', () => {
    expect(compareVersions('2026.9.3', '2026.9.2')).toBe(1);
    expect(compareVersions('2026.9.10', '2026.9.3')).toBe(1);
    expect(compareVersions('1.0', '1.0.1')).toBe(-1);
    expect(compareVersions('2.0.0-rc1', '2.0.0.1')).toBe(-1);
    expect(compareVersions('3.0.5', '3.0.5')).toBe(0);
  });

  it('below the floor is a downgrade unless a signed rollback reaches the floor', () => {
    expect(isDowngrade({ version: '2026.9.2' }, '2026.9.3')).toBe(true);
    expect(isDowngrade({ version: '2026.9.3' }, '2026.9.3')).toBe(false);
    expect(isDowngrade({ version: '2026.9.2' }, undefined)).toBe(false);
    expect(isDowngrade({ version: '2026.9.2', rollbackFrom: '2026.9.3' }, '2026.9.3')).toBe(false);
    expect(isDowngrade({ version: '2026.9.2', rollbackFrom: '2026.9.3' }, '2026.9.4')).toBe(true);
  });
});

describe('a device refuses older artifacts (stand-in host)', () => {
  it('a replayed older offer is rejected as downgrade, also after an operator rollback and a restart; nothing is downloaded', async () => {
    const r = await booted();
    const v3 = mesh('mesh-2026-9-3', '2026.9.3');
    expect(await runOffer(r, 'job-v3', v3.artifact, v3.bytes)).toMatchObject({ state: 'committed' });
    // The fleet's rollback command (cancel: rollback) still works: the previous model serves again.
    r.agent!.handleMessage('cancel', Buffer.from(JSON.stringify({ v: 1, jobId: 'job-v3', action: 'rollback', ts: Date.now() })));
    await endOf(r, 'job-v3');
    await r.agent!.idle();
    expect(r.states.at(-1)).toMatchObject({ jobId: 'job-v3', state: 'rolled-back', reason: 'operator-rollback' });
    expect(r.host.servingNow.version).toBe('1.0.0');

    // The floor stays at the highest version ever committed: an older signed artifact is refused.
    await r.agent!.stop();
    await boot(r);
    const v2 = mesh('mesh-2026-9-2', '2026.9.2');
    const requestsBefore = r.requests.length;
    const end = await runOffer(r, 'job-replay', v2.artifact, v2.bytes);
    expect(end).toMatchObject({ state: 'rejected', reason: 'downgrade' });
    expect(end.detail).toContain('2026.9.3');
    expect(r.requests.length).toBe(requestsBefore);
    expect(r.host.servingNow.version).toBe('1.0.0');
  });

  it('below the committed pointer (an older firmware recorded no floor): rejected as downgrade', async () => {
    const r = await booted();
    const old = mesh('mesh-0-9', '0.9.0');
    expect(await runOffer(r, 'job-old', old.artifact, old.bytes)).toMatchObject({ state: 'rejected', reason: 'downgrade' });
  });

  it('an explicit rollback signed by the operator is accepted and committed; the same rollback replayed after the device moved on is refused', async () => {
    const r = await booted();
    const v3 = mesh('mesh-2026-9-3', '2026.9.3');
    expect(await runOffer(r, 'job-v3', v3.artifact, v3.bytes)).toMatchObject({ state: 'committed' });
    const back = mesh('mesh-2026-9-2-rb', '2026.9.2', '2026.9.3');
    expect(await runOffer(r, 'job-rollback', back.artifact, back.bytes)).toMatchObject({ state: 'committed' });
    expect(r.host.servingNow.version).toBe('2026.9.2');

    const v4 = mesh('mesh-2026-9-4', '2026.9.4');
    expect(await runOffer(r, 'job-v4', v4.artifact, v4.bytes)).toMatchObject({ state: 'committed' });
    const replay = mesh('mesh-2026-9-2-rb2', '2026.9.2', '2026.9.3');
    expect(await runOffer(r, 'job-replay', replay.artifact, replay.bytes)).toMatchObject({ state: 'rejected', reason: 'downgrade' });
  });

  it('tampering with the rollback flag breaks the signature: added, changed or removed, the offer is rejected as bad-signature', async () => {
    const r = await booted();
    const v3 = mesh('mesh-2026-9-3', '2026.9.3');
    expect(await runOffer(r, 'job-v3', v3.artifact, v3.bytes)).toMatchObject({ state: 'committed' });
    const plain = mesh('mesh-2026-9-2', '2026.9.2');
    const added = { ...plain.artifact, rollbackFrom: '2026.9.3' };
    expect(await runOffer(r, 'job-added', added, plain.bytes)).toMatchObject({ state: 'rejected', reason: 'bad-signature' });
    const signed = mesh('mesh-2026-9-2-rb', '2026.9.2', '2026.9.0');
    const changed = { ...signed.artifact, id: 'mesh-2026-9-2-rb-c', rollbackFrom: '2026.9.3' };
    expect(await runOffer(r, 'job-changed', changed, signed.bytes)).toMatchObject({ state: 'rejected', reason: 'bad-signature' });
    const { rollbackFrom: _dropped, ...removed } = mesh('mesh-2026-9-3-x', '2026.9.3', '2026.9.9').artifact;
    expect(await runOffer(r, 'job-removed', removed, v3.bytes)).toMatchObject({ state: 'rejected', reason: 'bad-signature' });
  });

  it('the operator signer (fleet sign) produces the signed rollback the device verifies', () => {
    const pem = generatePemKey();
    const bytes = tinyBundle('2026.9.2');
    const a = signArtifact(bytes, { id: 'rb', kind: 'model', name: 'face-mesh', version: '2026.9.2', keyId: 'ops', rollbackFrom: '2026.9.3' }, pem.privateKeyPem);
    const keys = new Map([['ops', parsePublicKey(pem.publicKeyRaw)]]);
    expect(a.rollbackFrom).toBe('2026.9.3');
    expect(signingPayload(a).toString().split('\n')[0]).toBe('mirror-rollback-v1');
    expect(checkSignature(a, keys)).toEqual({ ok: true });
    expect(checkSignature({ ...a, rollbackFrom: undefined }, keys)).toMatchObject({ ok: false, reason: 'bad-signature' });
  });
});
