/**
 * The `log-level` command: a level for a while, then back by itself (a debug level left on by
 * a forgotten command would fill the journal and cost CPU for good). A second command while one
 * is in force replaces its level and its timer, and still reverts to the level from before the
 * first. If something else changes the level meanwhile (a config reload), that level stands and
 * the timer reverts nothing.
 */
import type { LogLevel } from '../core/logger.ts';
import type { Logger } from '../core/logger.ts';

export interface LevelledLogger {
  level: string;
}

export class TemporaryLogLevel {
  private timer: NodeJS.Timeout | undefined;
  private previous: LogLevel | undefined;
  private current: LogLevel | undefined;

  constructor(
    private readonly target: LevelledLogger,
    private readonly logger: Logger,
    private readonly now: () => number = Date.now,
  ) {}

  set(level: LogLevel, durationMs: number): { level: LogLevel; previous: LogLevel; revertAt: number } {
    this.previous ??= this.target.level as LogLevel;
    clearTimeout(this.timer);
    this.target.level = level;
    this.current = level;
    const revertAt = this.now() + durationMs;
    this.timer = setTimeout(() => this.revert(), durationMs);
    this.timer.unref();
    this.logger.warn({ newLevel: level, previous: this.previous, revertAt }, 'log level set by a fleet command');
    return { level, previous: this.previous, revertAt };
  }

  private revert(): void {
    const previous = this.previous;
    const wasTemporary = this.target.level === this.current;
    this.timer = undefined;
    this.previous = undefined;
    this.current = undefined;
    if (previous === undefined || !wasTemporary) return;
    this.target.level = previous;
    this.logger.warn({ restored: previous }, 'log level reverted');
  }

  dispose(): void {
    clearTimeout(this.timer);
  }
}
