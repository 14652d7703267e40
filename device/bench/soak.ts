/**
 * `npm run soak [-- --minutes 30 --sample-seconds 10 --warmup-minutes 3 --fps 30 --seed N --out FILE]`
 *
 * The real daemon on the demo clip with the kiosk open in headless Chromium, a random shopper
 * acting on it (device/bench/soak/shopper-actions.ts) for the whole run, and a sample every few
 * seconds of the daemon's RSS and heap (from inside, by the memory probe) and of its fps, p95
 * latencies and drops (/healthz), printed as a table while it runs. Exits 0 when RSS after warm-up
 * grew less than 5 % and no window fell below half the configured fps (verdict.ts), else 1 and why.
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type BrowserContext } from 'playwright-core';
import { z } from 'zod';
import { startSoakedDaemon, type SoakedDaemon } from './soak/daemon-child.ts';
import { mulberry32 } from '../core/seeded-random.ts';
import { pickAction, SHOPPER_ACTIONS, type KioskHandle } from './soak/shopper-actions.ts';
import { DEFAULT_VERDICT, describeVerdict, soakVerdict, tableHeader, tableNote, tableRow, type SoakSample } from './soak/verdict.ts';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const CHROMIUM_ARGS = ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--no-first-run'];

const Args = z.strictObject({
  minutes: z.coerce.number().positive().max(24 * 60).default(30),
  'sample-seconds': z.coerce.number().min(1).max(600).default(10),
  'warmup-minutes': z.coerce.number().min(0).optional(),
  fps: z.coerce.number().positive().max(240).optional(),
  seed: z.coerce.number().int().min(0).optional(),
  out: z.string().min(1).optional(),
  chromium: z.string().min(1).default(process.env.CHROMIUM_PATH ?? '/usr/bin/chromium'),
});
type SoakArgs = z.infer<typeof Args>;

function parseArgs(argv: string[]): SoakArgs {
  const raw: Record<string, string> = {};
  for (let i = 0; i < argv.length; i++) {
    const m = /^--([a-z-]+)(?:=(.*))?$/.exec(argv[i]);
    if (!m) throw new Error(`unexpected argument "${argv[i]}" (options look like --minutes 30)`);
    raw[m[1]] = m[2] ?? argv[++i] ?? '';
  }
  const parsed = Args.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const name = issue.code === 'unrecognized_keys' ? issue.keys.join(', ') : issue.path.join('.');
    throw new Error(`--${name}: ${issue.message}`);
  }
  return parsed.data;
}

const Health = z.object({
  fps: z.number(),
  latencyP95Ms: z.number().nullable().optional(),
  paintLatencyP95Ms: z.number().nullable().optional(),
  droppedFrames: z.number(),
  kioskSkippedFrames: z.number().optional(),
});

/** One row: memory from inside the daemon, the rest from /healthz; counters as deltas. */
async function sample(daemon: SoakedDaemon, tS: number, last: { dropped: number; skipped: number }): Promise<SoakSample> {
  const [memory, res] = await Promise.all([daemon.memory(), fetch(`${daemon.url}/healthz`, { signal: AbortSignal.timeout(5000) })]);
  const health = Health.parse(await res.json());
  const skipped = health.kioskSkippedFrames ?? 0;
  const row: SoakSample = {
    tS,
    rssMb: memory.rss / 2 ** 20,
    heapMb: memory.heapUsed / 2 ** 20,
    fps: health.fps,
    p95Ms: health.latencyP95Ms ?? null,
    paintP95Ms: health.paintLatencyP95Ms ?? null,
    drops: health.droppedFrames - last.dropped,
    kioskSkipped: skipped - last.skipped,
  };
  last.dropped = health.droppedFrames;
  last.skipped = skipped;
  return row;
}

/** The shopper: one random action after another until `until` (ms since epoch). */
async function shop(kiosk: KioskHandle, until: number, done: Map<string, number>, failures: string[]): Promise<void> {
  while (Date.now() < until) {
    const action = pickAction(SHOPPER_ACTIONS, kiosk.random);
    try {
      await action.run(kiosk);
      done.set(action.name, (done.get(action.name) ?? 0) + 1);
    } catch (err) {
      failures.push(`${action.name}: ${(err as Error).message.split('\n')[0]}`);
      // A failed navigation leaves the page anywhere: put the kiosk back.
      await kiosk.page.goto(kiosk.url, { waitUntil: 'load' }).catch(() => undefined);
    }
  }
}

async function openKiosk(args: SoakArgs, url: string, userDataDir: string): Promise<BrowserContext> {
  const context = await chromium.launchPersistentContext(userDataDir, {
    executablePath: args.chromium,
    headless: true,
    args: CHROMIUM_ARGS,
    viewport: { width: 540, height: 960 },
  });
  const page = context.pages()[0] ?? (await context.newPage());
  await page.goto(url, { waitUntil: 'load' });
  return context;
}

/** Samples every `everyMs` until `until`; a sample the daemon does not answer is counted, not fatal. */
async function sampleUntil(daemon: SoakedDaemon, startedAt: number, until: number, everyMs: number): Promise<{ samples: SoakSample[]; unanswered: number }> {
  const samples: SoakSample[] = [];
  let unanswered = 0;
  const last = { dropped: 0, skipped: 0 };
  console.log(tableHeader());
  for (let next = startedAt + everyMs; next <= until; next += everyMs) {
    await new Promise((r) => setTimeout(r, Math.max(0, next - Date.now())));
    if (daemon.exited() !== null) throw new Error(`the daemon exited during the soak (${daemon.exited()})\n${daemon.stderrTail()}`);
    const tS = (Date.now() - startedAt) / 1000;
    try {
      const s = await sample(daemon, tS, last);
      samples.push(s);
      console.log(tableRow(s));
    } catch (err) {
      unanswered++;
      console.log(tableNote(tS, `no answer: ${(err as Error).message}`));
    }
  }
  return { samples, unanswered };
}

async function configuredFps(args: SoakArgs): Promise<number> {
  if (args.fps !== undefined) return args.fps;
  const clip = JSON.parse(await readFile(path.join(repoRoot, 'device', 'assets', 'demo-clip', 'clip.json'), 'utf8')) as { fps: number };
  return clip.fps;
}

async function main(): Promise<number> {
  const args = parseArgs(process.argv.slice(2));
  const seed = args.seed ?? Math.floor(Math.random() * 2 ** 31);
  const warmupS = 60 * (args['warmup-minutes'] ?? Math.max(1, args.minutes / 10));
  const targetFps = await configuredFps(args);
  console.log(`soak: ${args.minutes} min, a sample every ${args['sample-seconds']} s, warm-up ${warmupS} s, target ${targetFps} fps, shopper seed ${seed}`);
  const daemon = await startSoakedDaemon();
  const userDataDir = await mkdtemp(path.join(os.tmpdir(), 'mirror-soak-chromium-'));
  let context: BrowserContext | undefined;
  try {
    context = await openKiosk(args, daemon.url, userDataDir);
    const page = context.pages()[0];
    let pageErrors = 0;
    page.on('pageerror', () => pageErrors++);
    const startedAt = Date.now();
    const until = startedAt + args.minutes * 60_000;
    const done = new Map<string, number>();
    const failures: string[] = [];
    const kiosk: KioskHandle = { page, context, url: daemon.url, random: mulberry32(seed) };
    const [{ samples, unanswered }] = await Promise.all([sampleUntil(daemon, startedAt, until, args['sample-seconds'] * 1000), shop(kiosk, until, done, failures)]);
    const verdict = soakVerdict(samples, { ...DEFAULT_VERDICT, warmupS, targetFps }, unanswered);
    console.log(`\nshopper actions: ${[...done].map(([name, n]) => `${name} ×${n}`).join(', ')}`);
    if (failures.length) console.log(`actions that failed (${failures.length}): ${[...new Set(failures)].slice(0, 5).join('; ')}`);
    console.log(`kiosk page errors: ${pageErrors}; daemon error log lines: ${daemon.errorLines()}`);
    console.log(describeVerdict(verdict));
    if (args.out) await writeFile(args.out, JSON.stringify({ args, seed, warmupS, targetFps, samples, unanswered, verdict, actions: Object.fromEntries(done), failures }, null, 2));
    return verdict.pass ? 0 : 1;
  } finally {
    await context?.close().catch(() => undefined);
    await daemon.stop();
    await rm(userDataDir, { recursive: true, force: true });
  }
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(`soak: ${(err as Error).message}`);
    process.exit(1);
  },
);
