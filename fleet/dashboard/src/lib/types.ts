/** The API's answers, typed from the service's own definitions (type imports only: nothing of the server is bundled). */
import type { HealthWord } from '../../../service/health.ts';
import type { RolloutSummary } from '../../../service/rollouts/summary.ts';
import type { StoreStats } from '../../../service/store-stats.ts';
import type { ArtifactRow, AuditRow, DeviceRow, JobRow, RolloutRow } from '../../../service/store/rows.ts';
import type { StoreRow } from '../../../service/store/stores-repo.ts';

export type { ArtifactRow, AuditRow, JobRow, RolloutRow, RolloutSummary, StoreRow };

export interface Me {
  username: string;
  role: 'admin' | 'operator' | 'manager';
  storeId: string | null;
}

export type Device = DeviceRow & { health: HealthWord; problems: string[] };
export type Stats = StoreStats & { devices: number; health: Record<string, number> };
export type Artifact = Omit<ArtifactRow, 'file'>;
