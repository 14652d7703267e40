/**
 * The daemon's side of every artifact that is one signed JSON document (the product catalog, the
 * shoppers' recommendations, the colour profile): one ModelHost (host.ts) for all of them, told by
 * a `DocumentKind` how to parse, check and serve its document:
 *
 *  - stage: the artifact's bytes are the document itself; they are parsed and validated (a schema
 *    error is the kind's `badReason`, the detail naming the field), its `version` must be the
 *    artifact's, and the bytes are written, as signed, to `<stagedDir>/<kind.file>`;
 *  - smoke test: the staged file is read and validated again (a power cut may have come between),
 *    then the kind's own smoke test runs (catalog: every shade drawn on golden frames; colour
 *    profile: the matrix is sane);
 *  - activate: the kind's slot is swapped (one reference, read once per frame or request); what
 *    served before is kept for an instant rollback until commit;
 *  - revert: the kept document serves again, or the target is loaded from disk (null dir: the
 *    kind's fallback, e.g. the bundled catalog).
 *
 * Signature, size and sha256 are checked by the agent before stage (stage.ts), so a tampered
 * document is refused like any other artifact and never reaches this file. The commit pointer is
 * the agent's (commit.ts); `loadCommittedDocument` reads what it names on boot.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { Artifact, UpdateReason } from '../../fleet/protocol/update.ts';
import { writeFileDurable } from '../core/fs-atomic.ts';
import type { Logger } from '../core/logger.ts';
import { UpdateStageError, type HealthSample, type ModelCandidate, type ModelHost, type SmokeResult } from './host.ts';
import type { ServingModel } from './store.ts';

/** What differs between document kinds: names, parsing, the smoke test. */
export interface DocumentKind<T> {
  /** The artifact name (one document of this kind per mirror), e.g. "catalog". */
  readonly name: string;
  /** The file the document is staged as, e.g. "catalog.json". */
  readonly file: string;
  /** The reason reported when the signed bytes do not make a valid document. */
  readonly badReason: UpdateReason;
  /** Parses and validates; throws an Error whose message names the first bad field. */
  parse(bytes: Buffer): T;
  version(doc: T): string;
  /** Beyond the schema, before the document serves: a problem, or null. Absent: the schema is the test. */
  smoke?(doc: T): Promise<string | null>;
}

/** What serves a kind of document: swapped whole, `S` being what the readers hold (e.g. a ServingCatalog). */
export interface DocumentSlot<T, S> {
  swap(next: S): S;
  /** What readers get for a document committed as `model`. */
  serve(doc: T, model: ServingModel): S;
  /** What serves when nothing is committed or the committed document does not load. */
  fallback(): { serving: S; model: ServingModel };
}

export interface DocumentHostOptions<T, S> {
  kind: DocumentKind<T>;
  slot: DocumentSlot<T, S>;
  /** What serves now (from the committed pointer; dir null = the fallback). */
  serving: ServingModel;
  health: () => HealthSample;
  logger: Logger;
}

interface DocumentCandidate<T> extends ModelCandidate {
  doc: T;
}

async function readDocument<T>(kind: DocumentKind<T>, dir: string): Promise<T> {
  return kind.parse(await readFile(path.join(dir, kind.file)));
}

/** The document serving on boot: the committed one, or the fallback when none is or it does not load (logged). */
export async function loadCommittedDocument<T, S>(
  kind: DocumentKind<T>,
  slot: Pick<DocumentSlot<T, S>, 'serve' | 'fallback'>,
  committed: ServingModel | null,
  logger: Logger,
): Promise<{ serving: S; model: ServingModel; failed: string | null }> {
  if (!committed?.dir) return { ...slot.fallback(), failed: null };
  try {
    const doc = await readDocument(kind, committed.dir);
    const model = { ...committed, version: kind.version(doc) };
    return { serving: slot.serve(doc, model), model, failed: null };
  } catch (err) {
    const failed = (err as Error).message;
    logger.error({ kind: kind.name, err: failed, dir: committed.dir }, `committed ${kind.name} does not load; serving the fallback`);
    return { ...slot.fallback(), failed };
  }
}

export function createDocumentHost<T, S>(opts: DocumentHostOptions<T, S>): ModelHost {
  const { kind, slot, logger } = opts;
  let serving: ServingModel = opts.serving;
  /** What served before the switch, kept until commit. */
  let previous: { held: S; serving: ServingModel } | null = null;

  const check = (name: string): void => {
    if (name !== kind.name) throw new Error(`${kind.name} host: cannot update "${name}"`);
  };

  return {
    updatable: [kind.name],
    serving(name) {
      check(name);
      return serving;
    },
    async stage(artifact: Artifact, file: string, dir: string) {
      check(artifact.name);
      const bytes = await readFile(file);
      let doc: T;
      try {
        doc = kind.parse(bytes);
      } catch (err) {
        throw new UpdateStageError(kind.badReason, (err as Error).message);
      }
      const version = kind.version(doc);
      if (version !== artifact.version) {
        throw new UpdateStageError(kind.badReason, `${kind.name} field "version": "${version}", the artifact says "${artifact.version}"`);
      }
      await writeFileDurable(path.join(dir, kind.file), bytes);
    },
    async smokeTest(name, dir): Promise<SmokeResult> {
      check(name);
      let doc: T;
      try {
        doc = await readDocument(kind, dir);
      } catch (err) {
        return { ok: false, detail: (err as Error).message };
      }
      const problem = kind.smoke ? await kind.smoke(doc) : null;
      if (problem) return { ok: false, detail: problem };
      const candidate: DocumentCandidate<T> = { version: kind.version(doc), doc, dispose() {} };
      return { ok: true, candidate };
    },
    activate(name, candidate, model) {
      check(name);
      const old = slot.swap(slot.serve((candidate as DocumentCandidate<T>).doc, model));
      previous = { held: old, serving };
      serving = model;
      logger.info({ kind: kind.name, version: model.version, artifactId: model.artifactId, previous: previous.serving.version }, `update: new ${kind.name} serving`);
    },
    async revert(name, to) {
      check(name);
      const targetDir = to?.dir ?? null;
      if (previous && (previous.serving.dir ?? null) === targetDir) {
        slot.swap(previous.held);
        serving = previous.serving;
        previous = null;
        logger.warn({ kind: kind.name, version: serving.version }, `update: previous ${kind.name} serving again`);
        return;
      }
      if ((serving.dir ?? null) === targetDir) return; // nothing was switched
      const loaded = await loadCommittedDocument(kind, slot, to, logger);
      slot.swap(loaded.serving);
      serving = loaded.model;
      logger.warn({ kind: kind.name, version: serving.version }, `update: reverted ${kind.name} serving`);
    },
    commit(name) {
      check(name);
      previous = null;
    },
    health: opts.health,
  };
}
