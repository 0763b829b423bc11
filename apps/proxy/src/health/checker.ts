import { recordCheck, slowStartWeight, type HealthEvent } from '../balancer/health.js';
import type { MemberState } from '../balancer/member-state.js';
import type { BalancerRuntime, MemberRuntime, Runtime } from '../runtime.js';
import { probe, statusMatcher, type ProbeSpec } from './probe.js';

/** One member under active checks. */
interface Watched {
  b: BalancerRuntime;
  m: MemberRuntime;
  spec: ProbeSpec;
  timer: NodeJS.Timeout | undefined;
  running: boolean;
}

/** How often weights ramping up after a recovery are updated, at most, ms. */
const RAMP_TICK_MS = 250;

/**
 * Runs the active health checks of every balancer that has a `healthCheck` (HAProxy `check
 * inter rise fall`, mod_proxy_hcheck, mod_jk CPing): one probe per member every `interval`
 * (± `jitter`), never two at once, feeding the member's health state machine
 * ({@link recordCheck}); and ramps the weight of members in a slow start. `update` follows a
 * reload or a management change: members that stay keep their schedule and counts.
 */
export class HealthChecker {
  private readonly watched = new Map<MemberState, Watched>();
  private ramp: NodeJS.Timeout | undefined;
  private closed = false;

  /** `onEvent` hears each transition (down, up); `now` is the proxy's clock. */
  constructor(
    private readonly now: () => number,
    private readonly random: () => number,
    private readonly onEvent: (b: BalancerRuntime, m: MemberRuntime, e: HealthEvent) => void,
  ) {}

  /** Checks the members of `runtime` (and stops checking the ones it no longer has). */
  update(runtime: Runtime): void {
    if (this.closed) return;
    const seen = new Set<MemberState>();
    let ramping = false;
    for (const b of runtime.balancers) {
      const hc = b.config.healthCheck;
      if (b.config.slowStart > 0) ramping = true;
      for (const m of b.members) {
        if (hc === undefined) continue;
        seen.add(m.state);
        const spec = specOf(b, m);
        const w = this.watched.get(m.state);
        if (w !== undefined) {
          w.b = b;
          w.m = m;
          w.spec = spec;
          continue;
        }
        const entry: Watched = { b, m, spec, timer: undefined, running: false };
        this.watched.set(m.state, entry);
        // The first probe soon, spread over the interval so members are not probed in step.
        this.schedule(entry, Math.floor(this.random() * Math.min(hc.interval, 1000)));
      }
    }
    for (const [state, w] of this.watched) {
      if (seen.has(state)) continue;
      clearTimeout(w.timer);
      this.watched.delete(state);
    }
    if (ramping && this.ramp === undefined) {
      this.ramp = setInterval(() => this.rampWeights(runtime), RAMP_TICK_MS);
      this.ramp.unref();
    } else if (!ramping && this.ramp !== undefined) {
      clearInterval(this.ramp);
      this.ramp = undefined;
    }
    this.runtime = runtime;
  }

  private runtime: Runtime | undefined;

  /** Stops every check. */
  close(): void {
    this.closed = true;
    for (const w of this.watched.values()) clearTimeout(w.timer);
    this.watched.clear();
    clearInterval(this.ramp);
    this.ramp = undefined;
  }

  private schedule(w: Watched, delay: number): void {
    w.timer = setTimeout(() => void this.run(w), delay);
    w.timer.unref();
  }

  private async run(w: Watched): Promise<void> {
    if (this.closed || this.watched.get(w.m.state) !== w || w.running) return;
    w.running = true;
    const started = this.now();
    const r = await probe(w.spec);
    w.running = false;
    if (this.closed || this.watched.get(w.m.state) !== w) return;
    const hc = w.b.config.healthCheck!;
    const now = this.now();
    const event = recordCheck(w.m.state, r.ok, now - started, r.error, now, hc);
    if (event === 'up' && w.b.config.slowStart > 0)
      w.m.state.weight = slowStartWeight(w.m.state, now, w.b.config.slowStart);
    if (event !== undefined) this.onEvent(w.b, w.m, event);
    const jitter = hc.interval * hc.jitter * (this.random() * 2 - 1);
    this.schedule(w, Math.max(10, Math.round(hc.interval + jitter)));
  }

  private rampWeights(runtime: Runtime): void {
    const rt = this.runtime ?? runtime;
    const now = this.now();
    for (const b of rt.balancers) {
      const slow = b.config.slowStart;
      if (slow <= 0) continue;
      for (const m of b.members) {
        const st = m.state;
        if (st.recoveredAt === undefined || now - st.recoveredAt > slow + RAMP_TICK_MS) {
          if (st.weight !== st.configuredWeight && st.recoveredAt !== undefined)
            st.weight = st.configuredWeight;
          continue;
        }
        st.weight = slowStartWeight(st, now, slow);
      }
    }
  }
}

/** The probe of member `m` under its balancer's `healthCheck`. */
function specOf(b: BalancerRuntime, m: MemberRuntime): ProbeSpec {
  const hc = b.config.healthCheck!;
  const url = m.config.url;
  const type = hc.type ?? (url.protocol === 'ajp' ? 'ajp' : 'http');
  return {
    type,
    host: url.host,
    port: url.port,
    timeout: hc.timeout,
    method: hc.method,
    path: hc.path,
    hostHeader: hc.host,
    expectStatus: statusMatcher(hc.expectStatus),
    expectBody: hc.expectBody === undefined ? undefined : new RegExp(hc.expectBody),
  };
}
