import type { MemberState } from './member-state.js';
import { healthy, servesOwn, takesNew, takesRedirect } from './member-state.js';
import type { Method, PickContext } from './methods.js';

/** The fail-back policy: when a moved session returns to its owner. */
export type FailbackPolicy = 'immediate' | 'never' | 'when-idle';
/** The re-pinning policy: how the proxy remembers where a moved session went. */
export type RepinPolicy = 'none' | 'cookie';

/** Why a member was chosen (for the access log and the metrics). */
export type DecisionKind =
  /** The session's owner (the route in its id). */
  | 'sticky'
  /** The member named by the routing cookie (the session was moved there earlier). */
  | 'pinned'
  /** The owner is unusable; its `redirect` member. */
  | 'redirect'
  /** The owner is unusable; a member of its `domain` (replication partner). */
  | 'domain'
  /** The owner is unusable; the method picked another member. */
  | 'failover'
  /** No route (new session, or a route this balancer does not know): the method picked. */
  | 'balanced';

/** What to do with the routing cookie on the response. */
export type PinAction =
  /** Nothing. */
  | undefined
  /** Set it to name this route. */
  | { readonly set: string }
  /** Remove it (the session is back on its owner). */
  | 'clear';

/** The members of one balancer and its policies: the input of {@link decide} that changes rarely. */
export interface BalancerView {
  readonly members: readonly MemberState[];
  readonly byRoute: ReadonlyMap<string, MemberState>;
  readonly method: Method;
  readonly repin: RepinPolicy;
  readonly failback: FailbackPolicy;
}

/** The per-request input of {@link decide}. */
export interface DecideInput extends PickContext {
  /** The route in the session id (the owner), if any. */
  readonly owner: string | undefined;
  /** The route in the routing cookie (where the session was moved), if any. */
  readonly pin: string | undefined;
  /** Now, on the clock the error deadlines use. */
  readonly now: number;
  /** Members already tried for this request (failed attempts): never chosen again. */
  readonly tried?: ReadonlySet<MemberState> | undefined;
}

/** The decision: the member (or none: answer 503), why, and the routing-cookie action. */
export interface Decision {
  readonly member: MemberState | undefined;
  readonly kind: DecisionKind;
  readonly pin: PinAction;
}

const NONE: Decision = { member: undefined, kind: 'balanced', pin: undefined };

function pick(
  v: BalancerView,
  input: DecideInput,
  ok: (m: MemberState) => boolean,
  only?: (m: MemberState) => boolean,
): MemberState | undefined {
  const candidates: MemberState[] = [];
  for (const m of v.members) {
    if (ok(m) && (only === undefined || only(m)) && !input.tried?.has(m)) candidates.push(m);
  }
  return candidates.length === 0 ? undefined : v.method(candidates, input);
}

/** A member for a request with no usable route: active members by the method, else standby ones. */
function balance(v: BalancerView, input: DecideInput): MemberState | undefined {
  const now = input.now;
  return (
    pick(v, input, (m) => takesNew(m, now)) ??
    pick(v, input, (m) => m.state === 'standby' && healthy(m, now))
  );
}

function usable(m: MemberState | undefined, input: DecideInput): m is MemberState {
  return m !== undefined && servesOwn(m, input.now) && !input.tried?.has(m);
}

/**
 * Failover when the session's member `from` is unusable, in mod_jk's order: its `redirect`
 * member, else an active member of its `domain` (chosen by the method), else any member by the
 * method.
 */
function failover(
  v: BalancerView,
  from: MemberState,
  input: DecideInput,
): { member: MemberState | undefined; kind: DecisionKind } {
  if (from.redirect !== undefined) {
    const r = v.byRoute.get(from.redirect);
    if (r && takesRedirect(r, input.now) && !input.tried?.has(r))
      return { member: r, kind: 'redirect' };
  }
  if (from.domain !== undefined) {
    const d = pick(
      v,
      input,
      (m) => takesNew(m, input.now),
      (m) => m.domain === from.domain && m !== from,
    );
    if (d) return { member: d, kind: 'domain' };
  }
  return { member: balance(v, input), kind: 'failover' };
}

function moved(v: BalancerView, member: MemberState | undefined, kind: DecisionKind): Decision {
  if (!member) return NONE;
  return { member, kind, pin: v.repin === 'cookie' ? { set: member.route } : undefined };
}

/**
 * Chooses the member for one request: the affinity, failover, re-pinning and fail-back rules of
 * the balancer, as a pure function of the routes in the request, the members' states and the
 * clock. With `tried`, it is also the retry decision (a failed member is never chosen again for
 * the same request).
 *
 * - Owner usable, no pin elsewhere: the owner (disabled and draining owners still take their
 *   own sessions, as mod_jk's disabled workers do).
 * - Owner unusable: `redirect`, then `domain`, then the method; with repin `cookie`, the routing
 *   cookie is set to the member that was chosen, so the session stops hopping.
 * - A pin to another member (the session moved earlier): `immediate` fail-back goes back to a
 *   usable owner and clears the pin; `never` and `when-idle` stay on the pinned member (for
 *   `when-idle` the pin cookie expires after the idle time, and is refreshed on every request).
 */
export function decide(v: BalancerView, input: DecideInput): Decision {
  const owner = input.owner === undefined ? undefined : v.byRoute.get(input.owner);
  const pinned = input.pin === undefined ? undefined : v.byRoute.get(input.pin);

  if (pinned !== undefined && pinned !== owner) {
    if (v.failback === 'immediate' && usable(owner, input)) {
      return { member: owner, kind: 'sticky', pin: 'clear' };
    }
    if (usable(pinned, input)) {
      return {
        member: pinned,
        kind: 'pinned',
        pin: v.failback === 'when-idle' ? { set: pinned.route } : undefined,
      };
    }
    if (usable(owner, input)) return { member: owner, kind: 'sticky', pin: 'clear' };
    const f = failover(v, pinned, input);
    return moved(v, f.member, f.kind);
  }

  if (owner !== undefined) {
    const clear = pinned !== undefined && v.repin === 'cookie' ? ('clear' as const) : undefined;
    if (usable(owner, input)) return { member: owner, kind: 'sticky', pin: clear };
    const f = failover(v, owner, input);
    return moved(v, f.member, f.kind);
  }

  if (input.owner !== undefined) {
    // A route no member has may name a domain (mod_jk: the route's prefix is tried as a domain).
    const d = pick(
      v,
      input,
      (m) => takesNew(m, input.now),
      (m) => m.domain === input.owner,
    );
    if (d) return { member: d, kind: 'domain', pin: undefined };
  }
  const m = balance(v, input);
  return m ? { member: m, kind: 'balanced', pin: undefined } : NONE;
}
