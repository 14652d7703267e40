/** What the API's route plugins are given (one object, passed as each plugin's options). */
import type { Auth } from '../auth.ts';
import type { CommandService } from '../commands/service.ts';
import type { Ingest } from '../ingest.ts';
import type { LoginLimits } from '../login-limiter.ts';
import type { ArtifactStore } from '../rollouts/artifacts.ts';
import type { RolloutEngine } from '../rollouts/engine.ts';
import type { FleetStore } from '../store/fleet-store.ts';

export interface ApiDeps {
  store: FleetStore;
  auth: Auth;
  ingest: Ingest;
  engine: RolloutEngine;
  /** Fleet → mirror commands (fleet/service/commands). */
  commands: CommandService;
  artifacts: ArtifactStore;
  now: () => number;
  /** When the ingest counts as stuck (see serviceHealth). */
  stuckAfterMs: number;
  /** Whether the service runs its MQTT ingest (false in API-only tests). */
  mqtt: boolean;
  loginLimits?: LoginLimits;
  /** The built dashboard (index.html and assets) served at `/`. */
  dashboardDir: string;
  /** The recommendation aggregation's k (sessions per bucket) and window. */
  recommendations: { minSessions: number; windowDays: number };
}
