/**
 * Prometheus metrics of one fleet service instance, in its own registry (never prom-client's
 * global one: two services in one process, as in the tests, must not share counters). Values are
 * read at scrape time from the ingest's counters and the store, so nothing is counted twice.
 *
 * Length: createFleetMetrics (~80 lines) declares one metric after another in one registry; its
 * helpers are at most 10 lines.
 */
import { Counter, Gauge, Registry } from 'prom-client';
import type { Ingest } from './ingest.ts';
import type { FleetStore, RolloutStatus } from './store/fleet-store.ts';

const ROLLOUT_STATUSES: RolloutStatus[] = ['running', 'paused', 'completed', 'aborted', 'rolled-back'];

/** A counter whose value is read from elsewhere at scrape time. */
function readCounter(registry: Registry, name: string, help: string, read: () => number): void {
  new Counter({
    name,
    help,
    registers: [registry],
    collect() {
      this.reset();
      this.inc(read());
    },
  });
}

export function createFleetMetrics(ingest: Ingest, store: FleetStore, now: () => number): Registry {
  const registry = new Registry();
  const s = () => ingest.stats();
  readCounter(registry, 'fleet_ingest_received_total', 'MQTT messages received by the ingest', () => s().received);
  new Counter({
    name: 'fleet_ingest_messages_total',
    help: 'MQTT messages handled, by result',
    labelNames: ['result'],
    registers: [registry],
    collect() {
      const v = s();
      const stored = Object.values(v.stored).reduce((a, b) => a + b, 0);
      this.reset();
      this.labels({ result: 'stored' }).inc(stored);
      this.labels({ result: 'duplicate' }).inc(v.duplicates);
      this.labels({ result: 'stale-status' }).inc(v.staleStatus);
      this.labels({ result: 'invalid' }).inc(v.invalid);
      this.labels({ result: 'dead-lettered' }).inc(v.deadLettered);
    },
  });
  readCounter(registry, 'fleet_ingest_retries_total', 'Store attempts repeated after a failure', () => s().retried);
  readCounter(registry, 'fleet_ingest_redelivered_total', 'Messages handed back to the broker after the store kept failing', () => s().redelivered);
  new Counter({
    name: 'fleet_ingest_store_errors_total',
    help: 'Failed store attempts, by kind (transient, permanent, unknown)',
    labelNames: ['kind'],
    registers: [registry],
    collect() {
      this.reset();
      for (const [kind, n] of Object.entries(s().storeErrors)) this.labels({ kind }).inc(n);
    },
  });
  new Gauge({
    name: 'fleet_ingest_lag_seconds',
    help: 'Device timestamp to stored, over the recent window',
    labelNames: ['quantile'],
    registers: [registry],
    collect() {
      const lag = s().lag;
      this.labels({ quantile: '0.5' }).set(lag.p50Ms / 1000);
      this.labels({ quantile: '0.95' }).set(lag.p95Ms / 1000);
      this.labels({ quantile: '1' }).set(lag.maxMs / 1000);
    },
  });
  new Gauge({
    name: 'fleet_ingest_waiting_seconds',
    help: 'How long the oldest unacknowledged message has waited (0: none waits)',
    registers: [registry],
    collect() {
      const since = s().waitingSince;
      this.set(since === undefined ? 0 : Math.max(0, (now() - since) / 1000));
    },
  });
  new Gauge({
    name: 'fleet_mqtt_connected',
    help: '1 when the ingest is connected to the broker',
    registers: [registry],
    collect() {
      this.set(s().connected ? 1 : 0);
    },
  });
  new Gauge({
    name: 'fleet_dead_letters',
    help: 'Rows in the dead-letter table',
    registers: [registry],
    async collect() {
      this.set(await store.deadLetters.count());
    },
  });
  new Gauge({
    name: 'fleet_rollouts',
    help: 'Rollouts by status',
    labelNames: ['status'],
    registers: [registry],
    async collect() {
      const rows = await store.rollouts.listRollouts();
      for (const status of ROLLOUT_STATUSES) this.labels({ status }).set(rows.filter((r) => r.status === status).length);
    },
  });
  return registry;
}
