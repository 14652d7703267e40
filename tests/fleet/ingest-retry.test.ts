/**
 * The ingest's failure policy on its own (ingest-retry.ts), for the case the broker tests cannot
 * provoke on demand: a failure nobody can classify. While the store does not answer it is an
 * outage (retried, then handed back to the broker, never dead-lettered); while the store answers,
 * the message is dead-lettered after maxAttempts.
 */
import { describe, expect, it } from 'vitest';
import { deliverWithRetry } from '../../fleet/service/ingest-retry.ts';

function hooks(storeAnswers: boolean) {
  let t = 0;
  const dead: string[] = [];
  let attempts = 0;
  return {
    dead,
    attempts: () => attempts,
    h: {
      attempt: async () => {
        attempts++;
        throw new Error('something nobody classified');
      },
      deadLetter: async (reason: 'permanent' | 'repeated') => {
        dead.push(reason);
      },
      ping: async () => storeAnswers,
      failed: () => undefined,
      now: () => t,
      sleep: async (ms: number) => {
        t += ms;
      },
    },
  };
}

describe('ingest failure policy', () => {
  it('an unclassified failure while the store does not answer is an outage: never dead-lettered, handed back to the broker', async () => {
    const r = hooks(false);
    expect(await deliverWithRetry({ holdMs: 5000, maxAttempts: 3 }, r.h)).toBe('redeliver');
    expect(r.dead).toEqual([]);
    expect(r.attempts()).toBeGreaterThan(3);
  });

  it('an unclassified failure while the store answers is dead-lettered after maxAttempts', async () => {
    const r = hooks(true);
    expect(await deliverWithRetry({ holdMs: 5000, maxAttempts: 3 }, r.h)).toBe('dead-lettered');
    expect(r.dead).toEqual(['repeated']);
    expect(r.attempts()).toBe(3);
  });
});
