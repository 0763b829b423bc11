import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';

import type { ExchangeRecord } from '../exchange.js';
import type { CohortProxy } from '../proxy.js';
import type { MemberStatus, ProxyStatus } from '../status.js';

/** The member states of `cohort_proxy_member_state`, and the health states of `_health`. */
const ADMIN_STATES = ['active', 'disabled', 'draining', 'standby', 'stopped'] as const;
const HEALTH_STATES = ['ok', 'ejected', 'down', 'stopped'] as const;

/** Per-member counters: metric name suffix, help, and the snapshot field. */
const MEMBER_COUNTERS: readonly (readonly [string, string, keyof MemberStatus])[] = [
  ['requests_total', 'Requests sent to the member', 'requests'],
  ['response_bytes_total', 'Response bytes relayed from the member', 'bytes'],
  ['errors_total', 'Requests the member failed', 'errors'],
  ['retries_total', 'Attempts on the member that were moved to another member', 'retries'],
  [
    'failovers_total',
    'Requests served by the member because their session owner was unusable',
    'failovers',
  ],
  ['repins_total', 'Sessions re-pinned to the member by the routing cookie', 'repins'],
  ['ejections_total', 'Times the member was ejected by passive detection', 'ejections'],
];

/** Per-member gauges: metric name suffix, help, and how to read the value. */
const MEMBER_GAUGES: readonly (readonly [string, string, (m: MemberStatus) => number])[] = [
  ['inflight_requests', 'Requests being served by the member now', (m) => m.inflight],
  ['up', '1 when the member can take requests (health ok), else 0', (m) => +(m.health === 'ok')],
  ['weight', 'Configured weight', (m) => m.weight],
  ['effective_weight', 'Weight in use now (lower during a slow start)', (m) => m.effectiveWeight],
];

/** The status-class label of a response status: `2xx` … `5xx`. */
function statusClass(status: number): string {
  return `${Math.floor(status / 100)}xx`;
}

/**
 * The proxy's Prometheus metrics in a registry of their own (not prom-client's global one):
 * totals, per-member counters and gauges read from {@link CohortProxy.status} at scrape time
 * (labels `balancer`, `member`), the member states as state sets, and a request-duration
 * histogram fed by the proxy's `request` events. Node's process metrics are included
 * (`cohort_proxy_process_*`, `cohort_proxy_nodejs_*`).
 */
export class ProxyMetrics {
  /** The registry holding every metric. */
  readonly registry = new Registry();
  /** Request durations, by balancer, member and status class. */
  readonly duration: Histogram<'balancer' | 'member' | 'code'>;
  private snapshot: ProxyStatus | undefined;
  private readonly onRequest = (r: ExchangeRecord): void => {
    this.duration.observe(
      { balancer: r.balancer, member: r.member ?? '', code: statusClass(r.status) },
      r.ms / 1000,
    );
  };

  /** Registers the metrics of `proxy` and starts observing its requests. */
  constructor(private readonly proxy: CohortProxy) {
    const registers = [this.registry];
    collectDefaultMetrics({ register: this.registry, prefix: 'cohort_proxy_' });
    this.duration = new Histogram({
      name: 'cohort_proxy_request_duration_seconds',
      help: 'Time from a request to the end of its answer, by balancer, member (empty when none was reached) and status class',
      labelNames: ['balancer', 'member', 'code'] as const,
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers,
    });
    const status = (): ProxyStatus => (this.snapshot ??= this.proxy.status());
    const totals: readonly (readonly [string, string, keyof ProxyStatus['totals'], boolean])[] = [
      ['requests_total', 'Requests received', 'requests', true],
      ['errors_total', 'Requests answered with an error status (5xx, refused)', 'errors', true],
      ['retries_total', 'Attempts moved to another member', 'retries', true],
      ['failovers_total', 'Requests served away from their session owner', 'failovers', true],
      ['websocket_upgrades_total', 'WebSocket tunnels opened', 'upgrades', true],
      ['inflight_requests', 'Requests being served now', 'inflight', false],
    ];
    for (const [suffix, help, field, counter] of totals) {
      const name = `cohort_proxy_${suffix}`;
      if (counter)
        new Counter({
          name,
          help,
          registers,
          collect() {
            this.reset();
            this.inc(status().totals[field]);
          },
        });
      else
        new Gauge({
          name,
          help,
          registers,
          collect() {
            this.set(status().totals[field]);
          },
        });
    }
    const members = (): MemberStatus[] => status().balancers.flatMap((b) => [...b.members]);
    const labelNames = ['balancer', 'member'] as const;
    for (const [suffix, help, field] of MEMBER_COUNTERS) {
      new Counter({
        name: `cohort_proxy_member_${suffix}`,
        help,
        labelNames,
        registers,
        collect() {
          this.reset();
          for (const m of members())
            this.inc({ balancer: m.balancer, member: m.route }, m[field] as number);
        },
      });
    }
    for (const [suffix, help, read] of MEMBER_GAUGES) {
      new Gauge({
        name: `cohort_proxy_member_${suffix}`,
        help,
        labelNames,
        registers,
        collect() {
          this.reset();
          for (const m of members()) this.set({ balancer: m.balancer, member: m.route }, read(m));
        },
      });
    }
    new Gauge({
      name: 'cohort_proxy_member_check_duration_seconds',
      help: 'Duration of the last active health check (members with checks only)',
      labelNames,
      registers,
      collect() {
        this.reset();
        for (const m of members())
          if (m.checkLatencyMs !== undefined)
            this.set({ balancer: m.balancer, member: m.route }, m.checkLatencyMs / 1000);
      },
    });
    new Gauge({
      name: 'cohort_proxy_member_check_up',
      help: '1 when the active health check says up, 0 when down (members with checks only)',
      labelNames,
      registers,
      collect() {
        this.reset();
        for (const m of members())
          if (m.check !== 'unchecked')
            this.set({ balancer: m.balancer, member: m.route }, +(m.check === 'up'));
      },
    });
    const stateSet = (
      name: string,
      help: string,
      values: readonly string[],
      read: (m: MemberStatus) => string,
    ) =>
      new Gauge({
        name,
        help,
        labelNames: ['balancer', 'member', 'state'] as const,
        registers,
        collect() {
          this.reset();
          for (const m of members())
            for (const v of values)
              this.set({ balancer: m.balancer, member: m.route, state: v }, +(read(m) === v));
        },
      });
    stateSet(
      'cohort_proxy_member_state',
      'Administrative state: 1 for the member’s current state (active, disabled, draining, standby, stopped)',
      ADMIN_STATES,
      (m) => m.state,
    );
    stateSet(
      'cohort_proxy_member_health',
      'Health as the balancer sees it: 1 for the current one (ok, ejected, down, stopped)',
      HEALTH_STATES,
      (m) => m.health,
    );
    proxy.events.on('request', this.onRequest);
  }

  /** The metrics in Prometheus text format (one status snapshot per scrape). */
  async text(): Promise<string> {
    this.snapshot = undefined;
    try {
      return await this.registry.metrics();
    } finally {
      this.snapshot = undefined;
    }
  }

  /** The content type of {@link text}. */
  get contentType(): string {
    return this.registry.contentType;
  }

  /** Stops observing the proxy's requests. */
  close(): void {
    this.proxy.events.off('request', this.onRequest);
  }
}
