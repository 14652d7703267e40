/**
 * The mirror's one catalogue of stable error codes (as Fastify's lib/errors.js): each code has a
 * message template, so logs, telemetry and tests match on the code and never on free text.
 * Every device error class extends MirrorError with a code from here (the update agent's, the model
 * bundle's and the catalog's included); the fleet API's codes and HTTP statuses are API_ERRORS in
 * fleet/service/api/errors.ts. It lives in the protocol because device/ and models/ both throw these
 * and models/ must not import device/ (device/ imports models/).
 */
export const ERROR_CODES = {
  MIRROR_ERR_CONFIG: 'configuration is invalid',
  MIRROR_ERR_MODEL_MANIFEST: 'model manifest is invalid',
  MIRROR_ERR_MODEL_FILE: 'model file is missing or unreadable',
  MIRROR_ERR_MODEL_HASH: 'model file does not match its manifest hash',
  MIRROR_ERR_MODEL_CONTRACT: 'model does not match its declared input/output contract',
  MIRROR_ERR_SOURCE: 'frame source failed',
  MIRROR_ERR_SOURCE_SPEC: 'frame source specification is invalid',
  MIRROR_ERR_BUNDLE: 'model bundle is malformed',
  MIRROR_ERR_CATALOG: 'product catalog is invalid',
  MIRROR_ERR_UPDATE_STAGE: 'update artifact is intact but unusable',
  MIRROR_ERR_CALIBRATION: 'calibration image or profile is unusable',
} as const;

export type MirrorErrorCode = keyof typeof ERROR_CODES;

export class MirrorError extends Error {
  readonly code: MirrorErrorCode;
  constructor(code: MirrorErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'MirrorError';
    this.code = code;
  }
}
