/**
 * The alert engine: every `evaluateMs` it reads what the store knows about every device (and this
 * instance's ingest counters), asks the rules what they observe, steps each alert's lifecycle and
 * writes the transitions; the writes that changed a row are the ones notified. It reads the store
 * rather than the message stream so that several service instances, each seeing a share of the
 * messages (shared subscriptions), judge the same facts, and the conditional writes in
 * alerts-repo.ts keep one alert (and one notification) per transition across them.
 */
import type { Ingest } from '../ingest.ts';
import type { Logger } from '../rollouts/engine.ts';
import type { FleetStore } from '../store/fleet-store.ts';
import { AlertsRepo, type AlertRow, type AlertSubject } from './alerts-repo.ts';
import type { AlertsConfig } from './config.ts';
import { step, type AlertKind, type LiveAlert, type Observation, type Timing } from './lifecycle.ts';
import type { Notifier } from './notifier.ts';
import { deviceObservations, ingestObservation } from './rules.ts';

export interface AlertEngineDeps {
  store: FleetStore;
  ingest: Pick<Ingest, 'stats' | 'recentLagP95'>;
  notifier: Notifier;
  config: AlertsConfig;
  /** This instance's name (its MQTT client id): the subject of its ingest-stuck alert. */
  instance: string;
  log: Logger;
  now: () => number;
}

export interface EvaluationResult {
  raised: AlertRow[];
  cleared: AlertRow[];
}

export class AlertEngine {
  readonly repo: AlertsRepo;
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<EvaluationResult> | undefined;
  /** (time, dead letters so far) samples of this instance, for the dead-letter window. */
  private deadLetterSamples: Array<[number, number]> = [];

  constructor(private readonly d: AlertEngineDeps) {
    this.repo = new AlertsRepo(d.store.db);
  }

  start(): void {
    if (!this.d.config.enabled) return;
    this.timer ??= setInterval(() => void this.evaluate().catch((err) => this.d.log.error({ err: String(err) }, 'alert evaluation failed')), this.d.config.evaluateMs);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  /** One pass over every rule; a pass already running is joined, not doubled. */
  evaluate(): Promise<EvaluationResult> {
    this.running ??= this.pass().finally(() => {
      this.running = undefined;
    });
    return this.running;
  }

  private timing(kind: AlertKind): Timing {
    const c = this.d.config;
    const forS = kind === 'fps' ? c.fps.forS : kind === 'temperature' ? c.temperature.forS : kind === 'degraded' ? c.degraded.forS : 0;
    return { forMs: forS * 1000, clearAfterMs: c.clearAfterS * 1000 };
  }

  private async pass(): Promise<EvaluationResult> {
    const now = this.d.now();
    const result: EvaluationResult = { raised: [], cleared: [] };
    const live = await this.repo.live();
    const jobs = this.d.config.updateFailed.enabled ? await this.repo.finishedJobs() : new Map();
    for (const dev of await this.d.store.devices.listDevices()) {
      const subject = `${dev.storeId}/${dev.deviceId}`;
      for (const [kind, obs] of deviceObservations(dev, jobs.get(subject), now, this.d.config)) {
        const s: AlertSubject = { kind, subject, storeId: dev.storeId, deviceId: dev.deviceId };
        await this.apply(s, live.get(AlertsRepo.key(s)), obs, now, result);
      }
    }
    if (this.d.config.ingestStuck.enabled) {
      const s: AlertSubject = { kind: 'ingest-stuck', subject: `service/${this.d.instance}`, storeId: null, deviceId: null };
      await this.apply(s, live.get(AlertsRepo.key(s)), this.ingestObservation(now), now, result);
    }
    return result;
  }

  private ingestObservation(now: number): Observation {
    const cfg = this.d.config.ingestStuck;
    const stats = this.d.ingest.stats();
    this.deadLetterSamples.push([now, stats.deadLettered]);
    this.deadLetterSamples = this.deadLetterSamples.filter(([t]) => now - t <= cfg.windowS * 1000);
    return ingestObservation(
      { waitingSince: stats.waitingSince, recentLagP95Ms: this.d.ingest.recentLagP95(), deadLettersInWindow: stats.deadLettered - this.deadLetterSamples[0][1] },
      now,
      cfg,
    );
  }

  private async apply(s: AlertSubject, live: LiveAlert | undefined, obs: Observation | undefined, now: number, out: EvaluationResult): Promise<void> {
    const what = step(live, obs, now, this.timing(s.kind));
    if (what === 'none' || obs === undefined) return;
    const { repo } = this;
    let raised: AlertRow | undefined;
    let cleared: AlertRow | undefined;
    switch (what) {
      case 'start-pending':
        await repo.insert(s, 'pending', obs.summary, now);
        return;
      case 'raise':
        raised = live === undefined ? await repo.insert(s, 'open', obs.summary, now) : await repo.promote(live.id, obs.summary, now);
        break;
      case 'drop-pending':
        await repo.dropPending(live!.id);
        return;
      case 'mark-false':
        await repo.markFalse(live!.id, now);
        return;
      case 'mark-true':
        await repo.markTrue(live!.id, obs.summary);
        return;
      case 'clear':
        cleared = await repo.close(live!.id, now);
        break;
    }
    if (raised) {
      out.raised.push(raised);
      this.d.log.warn({ alert: raised.id, kind: raised.kind, subject: raised.subject, summary: raised.summary }, 'alert raised');
      this.d.notifier.notify({ event: 'raised', alert: raised });
    }
    if (cleared) {
      out.cleared.push(cleared);
      this.d.log.info({ alert: cleared.id, kind: cleared.kind, subject: cleared.subject, flaps: cleared.flaps }, 'alert cleared');
      this.d.notifier.notify({ event: 'cleared', alert: cleared });
    }
  }
}
