import { performance } from 'node:perf_hooks';
import {
  ReplicationEngine,
  type ClientOp,
  type EngineConfig,
  type EngineEvent,
  type EngineOutput,
  type Frame,
  type OpResult,
} from '@cohort/replication';

/** An engine operation without its id (the host assigns ids). */
export type HostOp = ClientOp extends infer T
  ? T extends ClientOp
    ? Omit<T, 'id'>
    : never
  : never;

/** What the host does with the engine's output. */
export interface HostSinks {
  /** Send a frame to another member. */
  readonly send: (frame: Frame) => void;
  /** Engine events (ownership, expiry), for logs and metrics. */
  readonly events: (events: readonly EngineEvent[]) => void;
}

/**
 * Runs a {@link ReplicationEngine} on real time: a monotonic clock, a timer armed at the engine's
 * `wakeAt`, operations batched per event-loop turn (one `submitAll`, so their replication
 * messages to each member share a frame), and results delivered to promises.
 */
export class EngineHost {
  /** The engine (for inspection; feed it through this host). */
  readonly engine: ReplicationEngine;
  readonly #sinks: HostSinks;
  readonly #waiting = new Map<number, (r: OpResult) => void>();
  #queue: ClientOp[] = [];
  /** Keys of the queued operations (see {@link EngineHost.flushFor}). */
  readonly #queuedKeys = new Set<string>();
  #flushScheduled = false;
  #nextId = 1;
  #timer: NodeJS.Timeout | undefined;
  #timerAt = Infinity;
  #closed = false;

  /**
   * @param self - this node's member id
   * @param config - engine tunables
   * @param sinks - where frames and events go
   */
  constructor(self: string, config: Partial<EngineConfig>, sinks: HostSinks) {
    this.engine = new ReplicationEngine({ self, random: Math.random, config });
    this.#sinks = sinks;
  }

  /** The node's monotonic clock, in ms. */
  now(): number {
    return performance.now();
  }

  /** Operations submitted and not answered yet. */
  get pending(): number {
    return this.#waiting.size;
  }

  /**
   * Submits an operation; it is handed to the engine at the end of this event-loop turn with the
   * others submitted in the same turn.
   */
  submit(op: HostOp): Promise<OpResult> {
    const id = this.#nextId++;
    return new Promise((resolve) => {
      this.#waiting.set(id, resolve);
      this.#queue.push({ ...op, id } as ClientOp);
      this.#queuedKeys.add(op.key);
      if (!this.#flushScheduled) {
        this.#flushScheduled = true;
        setImmediate(() => this.flush());
      }
    });
  }

  /** Hands queued operations to the engine now (before inspecting state that they change). */
  flush(): void {
    this.#flushScheduled = false;
    if (this.#queue.length === 0 || this.#closed) return;
    const ops = this.#queue;
    this.#queue = [];
    this.#queuedKeys.clear();
    this.#handle(this.engine.submitAll(this.now(), ops));
  }

  /**
   * Hands queued operations to the engine now when one of them is on `key` (before inspecting
   * that session); otherwise they stay queued, so that the writes of one turn still go to the
   * engine together and share a replication frame per member.
   */
  flushFor(key: string): void {
    if (this.#queuedKeys.has(key)) this.flush();
  }

  /** A frame from another member. */
  receive(frame: Frame): void {
    if (this.#closed) return;
    this.flush();
    this.#handle(this.engine.receive(this.now(), frame));
  }

  /** The member set changed. */
  setView(members: readonly string[]): void {
    if (this.#closed) return;
    this.flush();
    this.#handle(this.engine.setView(this.now(), members));
  }

  /** Stops the timer; pending operations are answered `UNAVAILABLE`. */
  close(): void {
    this.#closed = true;
    clearTimeout(this.#timer);
    for (const op of this.#queue)
      this.#resolve({ id: op.id, ok: false, code: 'UNAVAILABLE', message: 'the node is stopping' });
    this.#queue = [];
    this.#queuedKeys.clear();
    for (const [id] of this.#waiting) {
      this.#resolve({ id, ok: false, code: 'UNAVAILABLE', message: 'the node is stopping' });
    }
  }

  #resolve(r: OpResult): void {
    const done = this.#waiting.get(r.id);
    if (done) {
      this.#waiting.delete(r.id);
      done(r);
    }
  }

  #handle(out: EngineOutput): void {
    for (const f of out.frames) this.#sinks.send(f);
    for (const r of out.results) this.#resolve(r);
    if (out.events.length > 0) this.#sinks.events(out.events);
    this.#arm(out.wakeAt);
  }

  #arm(wakeAt: number | undefined): void {
    if (wakeAt === undefined || this.#closed) return;
    if (this.#timer !== undefined && wakeAt >= this.#timerAt) return;
    clearTimeout(this.#timer);
    this.#timerAt = wakeAt;
    this.#timer = setTimeout(
      () => {
        this.#timer = undefined;
        this.#timerAt = Infinity;
        if (this.#closed) return;
        this.flush();
        this.#handle(this.engine.tick(this.now()));
      },
      Math.max(0, Math.ceil(wakeAt - this.now())),
    );
  }
}
