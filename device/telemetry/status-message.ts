/**
 * The retained `status` payloads of one mirror: birth (`online`), last will and graceful shutdown
 * (`offline`). Each carries the connection's `connectionSeq` and what the mirror serves.
 */
import { encodeMessage, type MetricsMessage, type StatusMessage } from '../../fleet/protocol/schemas.ts';
import { errorFields, type TelemetryLogger } from './logger.ts';

export interface StatusSnapshot {
  backends: Record<string, string>;
  models: Record<string, string>;
  update?: MetricsMessage['update'];
}

export interface StatusBuilderOptions {
  storeId: string;
  deviceId: string;
  firmwareVersion: string;
  /** May throw: then the maps of the last good snapshot (`lastKnown`) are sent. */
  snapshot: () => StatusSnapshot;
  lastKnown: () => Pick<StatusSnapshot, 'models' | 'backends'>;
  logger: TelemetryLogger;
}

export type StatusBuilder = (state: StatusMessage['state'], seq: number, reason?: string) => Buffer | undefined;

export function createStatusBuilder(opts: StatusBuilderOptions): StatusBuilder {
  const { logger } = opts;
  return (state, seq, reason) => {
    let snap: StatusSnapshot | undefined;
    try {
      snap = opts.snapshot();
    } catch (err) {
      logger.error(errorFields(err), 'telemetry snapshot() threw; status sent with the last known models');
    }
    const maps = snap ?? opts.lastKnown();
    const msg: StatusMessage = {
      v: 1,
      state,
      deviceId: opts.deviceId,
      storeId: opts.storeId,
      connectionSeq: seq,
      ts: Date.now(),
      firmwareVersion: opts.firmwareVersion,
      models: { ...maps.models },
      backends: { ...maps.backends },
      ...(reason === undefined ? {} : { reason }),
      ...(snap?.update ? { update: snap.update } : {}),
    };
    let enc = encodeMessage('status', msg);
    if (!enc.ok) {
      logger.error({ field: enc.field, error: enc.error }, 'status message failed validation; sending it without model maps');
      // A bad model name from the pipeline must not cost the mirror its birth or its will.
      enc = encodeMessage('status', { ...msg, models: {}, backends: {} });
      if (!enc.ok) return undefined;
    }
    return enc.payload;
  };
}
