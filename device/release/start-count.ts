/**
 * How often the release under watch has been started (the boot hook records every start while an
 * application job is `active` or `watching`): the crash-loop guard's memory, like a bootloader's
 * bootcount. Kept per job in `<stateDir>/updates/app-starts.json`, written atomically; anything
 * unreadable counts as no start yet (the guard then errs toward one more try, never toward none).
 */
import path from 'node:path';
import { z } from 'zod';
import { readJsonFile, writeFileAtomic } from '../core/fs-atomic.ts';

const StartsSchema = z.object({ jobId: z.string(), starts: z.array(z.number()).max(1000) });

export class StartCount {
  constructor(private readonly updatesDir: string) {}

  get file(): string {
    return path.join(this.updatesDir, 'app-starts.json');
  }

  /** Start times recorded for `jobId` (ms since the epoch), oldest first. */
  async starts(jobId: string): Promise<number[]> {
    const parsed = StartsSchema.safeParse(await readJsonFile(this.file).catch(() => undefined));
    return parsed.success && parsed.data.jobId === jobId ? parsed.data.starts : [];
  }

  /** Records a start of `jobId` at `now`; returns the starts within `windowMs`, this one included. */
  async record(jobId: string, now: number, windowMs: number): Promise<number> {
    const recent = (await this.starts(jobId)).filter((t) => now - t < windowMs && t <= now);
    recent.push(now);
    await writeFileAtomic(this.file, JSON.stringify({ jobId, starts: recent.slice(-100) }));
    return recent.length;
  }
}
