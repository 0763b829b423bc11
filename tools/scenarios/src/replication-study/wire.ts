import { listConnections, type TcpConnection } from './ss.js';

/** Bytes counted on the replication wire during one run. */
export interface WireBytes {
  /** Between the application servers and the session store (cohort: app ↔ session nodes). */
  readonly appToStore: number;
  /** Between the stores / cluster members (cohort: node ↔ node; Tomcat: the Tribes channel). */
  readonly storeToStore: number;
  /** Connections seen during the run. */
  readonly connections: number;
}

/**
 * Counts TCP payload bytes (both directions, retransmissions excluded) of every connection to
 * the given listening ports while a run goes on, from the kernel's per-socket counters (`ss`).
 * The connecting end of each connection is sampled (its peer port is one of `ports`), so each
 * byte is counted once. A connection held by one of `storePids` is store-to-store traffic,
 * any other is an application's. Connections that open and close between two samples are
 * missed (the runs here keep theirs open; Tribes recycles its sockets after 60 s idle).
 */
export class WireMeter {
  readonly #ports: readonly number[];
  readonly #storePids: ReadonlySet<number>;
  readonly #first = new Map<string, number>();
  readonly #last = new Map<string, { bytes: number; store: boolean }>();
  #timer: NodeJS.Timeout | undefined;
  #sampling: Promise<void> = Promise.resolve();

  /**
   * @param ports - the listening ports whose connections count
   * @param storePids - PIDs of the store / cluster processes
   */
  constructor(ports: readonly number[], storePids: readonly number[]) {
    this.#ports = ports;
    this.#storePids = new Set(storePids);
  }

  #key(c: TcpConnection): string {
    return `${c.local}>${c.peer}`;
  }

  async #sample(initial: boolean): Promise<void> {
    const conns = await listConnections(this.#ports);
    for (const c of conns) {
      const key = this.#key(c);
      const bytes = c.bytesAcked + c.bytesReceived;
      if (initial) this.#first.set(key, bytes);
      else if (!this.#first.has(key)) this.#first.set(key, 0);
      this.#last.set(key, { bytes, store: c.pids.some((p) => this.#storePids.has(p)) });
    }
  }

  /** Takes the starting counts and samples every `everyMs` until {@link stop}. */
  async start(everyMs = 250): Promise<void> {
    await this.#sample(true);
    this.#timer = setInterval(() => {
      this.#sampling = this.#sampling.then(() => this.#sample(false)).catch(() => undefined);
    }, everyMs);
  }

  /** Takes the last sample and returns the bytes counted since {@link start}. */
  async stop(): Promise<WireBytes> {
    clearInterval(this.#timer);
    await this.#sampling;
    await this.#sample(false);
    let appToStore = 0;
    let storeToStore = 0;
    for (const [key, { bytes, store }] of this.#last) {
      const d = Math.max(0, bytes - (this.#first.get(key) ?? 0));
      if (store) storeToStore += d;
      else appToStore += d;
    }
    return { appToStore, storeToStore, connections: this.#last.size };
  }
}
