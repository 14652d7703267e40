/** One catalogue of stable error codes (as Fastify does), so logs and telemetry can be matched on them. */
export const ERROR_CODES = {
  MIRROR_ERR_CONFIG: 'configuration is invalid',
  MIRROR_ERR_MODEL_MANIFEST: 'model manifest is invalid',
  MIRROR_ERR_MODEL_FILE: 'model file is missing or unreadable',
  MIRROR_ERR_MODEL_HASH: 'model file does not match its manifest hash',
  MIRROR_ERR_MODEL_CONTRACT: 'model does not match its declared input/output contract',
  MIRROR_ERR_SOURCE: 'frame source failed',
  MIRROR_ERR_SOURCE_SPEC: 'frame source specification is invalid',
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
