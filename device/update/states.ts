/**
 * The update state machine, as one table (Mender's lesson): which transitions are legal, and what
 * a boot does with a job found persisted in each state (after kill -9 or a power cut).
 *
 *   announced ─► downloading ─► verifying ─► staged ─► smoke-testing ─► active ─► watching ─► committed
 *       │             │             │           │            │             │          │           │
 *       ▼             ▼             ▼           ▼            ▼             ▼          ▼           ▼
 *   rejected       failed     failed/rejected failed       failed      rolled-back rolled-back rolled-back
 *   (refused before                                                   (after the switch: the previous
 *    any download)                                                     model serves again)
 *
 * The serving model is whatever the committed pointer (`models/current.json`) names; it changes
 * only at `committed` (or a rollback after it). Before the switch nothing serving is touched, so
 * an interrupted job resumes; after the switch, an interrupted job was never committed and is
 * rolled back. Anything unknown rolls back to the last committed model.
 *
 * An application release (kind "app") is switched by restarting into it, so a boot after its
 * switch is expected: `onRestartBoot` is what the boot hook (device/release/boot-check.ts, run
 * before every daemon start) does for it. Before the switch it is `onBoot`; at `active` and
 * `watching` the start is counted and the new release watched again (`watch`) until it either
 * commits or has started too often without reaching healthy (then, or when `current` does not
 * name the staged release, it is rolled back to the previous release before the daemon starts).
 */
import { UPDATE_STATES, type UpdateStateName } from '../../fleet/protocol/update.ts';

export type BootAction =
  /** Ask for the first chunk not yet on disk (or restart the HTTP download from its length). */
  | 'resume-download'
  /** Check size, sha256 and signature of the downloaded file again. */
  | 'verify'
  /** Load the staged model and smoke-test it again (nothing was switched). */
  | 'smoke-test'
  /** The switch happened but was never committed: the previous model serves; report rolled-back. */
  | 'rollback'
  /** Terminal: nothing to do. */
  | 'none';

/** What a boot does with an application release's job (switched by restarting into it). */
export type RestartBootAction =
  | Exclude<BootAction, 'rollback'>
  /** Count this start (crash-loop guard) and watch the new release again; roll back when it loops or never switched. */
  | 'watch'
  /** Put `current` back on the previous release before the daemon starts. */
  | 'rollback';

export interface StateSpec {
  /** Legal next states. */
  next: readonly UpdateStateName[];
  onBoot: BootAction;
  /** The new model may be serving (in memory) in this state. */
  switched: boolean;
  /** For an application release: what the boot hook does (see the header). */
  onRestartBoot: RestartBootAction;
}

export const STATE_TABLE: Readonly<Record<UpdateStateName, StateSpec>> = {
  announced: { next: ['downloading', 'rejected', 'failed'], onBoot: 'resume-download', switched: false, onRestartBoot: 'resume-download' },
  downloading: { next: ['verifying', 'failed'], onBoot: 'resume-download', switched: false, onRestartBoot: 'resume-download' },
  verifying: { next: ['staged', 'failed', 'rejected'], onBoot: 'verify', switched: false, onRestartBoot: 'verify' },
  staged: { next: ['smoke-testing', 'failed'], onBoot: 'smoke-test', switched: false, onRestartBoot: 'smoke-test' },
  'smoke-testing': { next: ['active', 'failed'], onBoot: 'smoke-test', switched: false, onRestartBoot: 'smoke-test' },
  active: { next: ['watching', 'rolled-back'], onBoot: 'rollback', switched: true, onRestartBoot: 'watch' },
  watching: { next: ['committed', 'rolled-back'], onBoot: 'rollback', switched: true, onRestartBoot: 'watch' },
  committed: { next: ['rolled-back'], onBoot: 'none', switched: true, onRestartBoot: 'none' },
  'rolled-back': { next: [], onBoot: 'none', switched: false, onRestartBoot: 'none' },
  failed: { next: [], onBoot: 'none', switched: false, onRestartBoot: 'none' },
  rejected: { next: [], onBoot: 'none', switched: false, onRestartBoot: 'none' },
};

/** A job resumed this many times in the same pre-switch state is failed (a crash loop, Mender's store counter). */
export const MAX_BOOT_RESUMES = 3;

export function isUpdateState(s: unknown): s is UpdateStateName {
  return typeof s === 'string' && (UPDATE_STATES as readonly string[]).includes(s);
}

export function bootAction(state: unknown): BootAction {
  return isUpdateState(state) ? STATE_TABLE[state].onBoot : 'rollback';
}

/** The boot action for an application release's job in `state`; unknown states roll back. */
export function restartBootAction(state: unknown): RestartBootAction {
  return isUpdateState(state) ? STATE_TABLE[state].onRestartBoot : 'rollback';
}

export function canTransition(from: UpdateStateName, to: UpdateStateName): boolean {
  return STATE_TABLE[from].next.includes(to);
}

export class IllegalTransitionError extends Error {
  constructor(from: UpdateStateName, to: UpdateStateName) {
    super(`update: illegal transition ${from} → ${to}`);
    this.name = 'IllegalTransitionError';
  }
}
