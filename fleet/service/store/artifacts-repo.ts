/**
 * Uploaded artifacts' signed metadata and where their bundle lies.
 */
import type { SqlDriver } from './driver.ts';
import { toArtifact, type ArtifactRow } from './rows.ts';

export class ArtifactsRepo {
  constructor(private readonly db: SqlDriver) {}

  async putArtifact(a: ArtifactRow): Promise<boolean> {
    const n = await this.db.run(
      `INSERT INTO artifacts (id, kind, name, version, size, sha256, signature, key_id, rollback_from, file, uploaded_by, uploaded_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING`,
      [a.id, a.kind, a.name, a.version, a.size, a.sha256, a.signature, a.keyId, a.rollbackFrom ?? null, a.file, a.uploadedBy, a.uploadedAt],
    );
    return n === 1;
  }

  async getArtifact(id: string): Promise<ArtifactRow | undefined> {
    const r = await this.db.all('SELECT * FROM artifacts WHERE id = ?', [id]);
    return r.length ? toArtifact(r[0]) : undefined;
  }

  async listArtifacts(): Promise<ArtifactRow[]> {
    return (await this.db.all('SELECT * FROM artifacts ORDER BY uploaded_at DESC')).map(toArtifact);
  }
}
