import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/** The node's Prometheus metrics (served at /metrics). */
export class NodeMetrics {
  /** The registry holding every metric below and the process defaults. */
  readonly registry = new Registry();
  /** Client requests answered, by op and result code (`ok` or an error code). */
  readonly requests = new Counter({
    name: 'cohort_session_requests_total',
    help: 'Client requests answered, by operation and result code',
    labelNames: ['op', 'code'] as const,
    registers: [this.registry],
  });
  /** Time from a request's arrival to its answer, by op. */
  readonly latency = new Histogram({
    name: 'cohort_session_request_seconds',
    help: 'Time from a client request to its answer (writes: until acknowledged at their level)',
    labelNames: ['op'] as const,
    buckets: [0.0002, 0.0005, 0.001, 0.002, 0.005, 0.01, 0.05, 0.25, 1, 5],
    registers: [this.registry],
  });
  /** Connections refused or closed for bad input, by reason code. */
  readonly refused = new Counter({
    name: 'cohort_session_refused_total',
    help: 'Connections refused or closed for bad input, by reason',
    labelNames: ['reason'] as const,
    registers: [this.registry],
  });
  /** Engine events (owner, stepped-down, expired). */
  readonly events = new Counter({
    name: 'cohort_session_engine_events_total',
    help: 'Replication engine events: ownership taken, stepped down, sessions expired',
    labelNames: ['type'] as const,
    registers: [this.registry],
  });

  /**
   * @param gauges - read at scrape time: members, connections, sessions by role, pending ops,
   *   replication frames and bytes
   */
  constructor(gauges: () => Record<string, number>) {
    collectDefaultMetrics({ register: this.registry, prefix: 'cohort_session_node_' });
    const names: Record<string, string> = {
      members: 'Routable session nodes in this node\u2019s view',
      client_connections: 'Open client connections',
      peer_links: 'Open outgoing replication links',
      sessions_owned: 'Sessions this node owns (active owner)',
      sessions_replica: 'Sessions this node holds as a backup',
      records: 'Session records held (live, tombstones, unknown keys)',
      pending_ops: 'Client operations waiting for their acknowledgement',
      replication_frames_sent: 'Replication frames sent to other nodes',
      replication_bytes_sent: 'Replication bytes sent to other nodes',
      replication_frames_received: 'Replication frames received',
      ready: '1 when /readyz answers 200',
    };
    for (const [n, help] of Object.entries(names)) {
      new Gauge({
        name: `cohort_session_${n}`,
        help,
        registers: [this.registry],
        collect() {
          this.set(gauges()[n] ?? 0);
        },
      });
    }
  }
}
