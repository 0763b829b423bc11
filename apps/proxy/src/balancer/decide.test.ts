import { describe, expect, it } from 'vitest';

import type { MemberStateName } from '../config/schema.js';
import { decide, type BalancerView, type FailbackPolicy, type RepinPolicy } from './decide.js';
import { memberState, type MemberState } from './member-state.js';
import { createMethod } from './methods.js';

interface Spec {
  route: string;
  state?: MemberStateName;
  redirect?: string;
  domain?: string;
  weight?: number;
}

function view(
  specs: Spec[],
  repin: RepinPolicy = 'cookie',
  failback: FailbackPolicy = 'never',
): BalancerView & { m: Record<string, MemberState> } {
  const members = specs.map((s, i) => memberState(i, s));
  const byRoute = new Map(members.map((m) => [m.route, m]));
  return {
    members,
    byRoute,
    method: createMethod('byrequests'),
    repin,
    failback,
    m: Object.fromEntries(byRoute),
  };
}

const now = 1_000_000;
const random = () => 0.5;
const down = (m: MemberState) => (m.errorUntil = now + 2000);

describe('affinity decisions (reference §5.1)', () => {
  it('(a) new session: the method picks among active members only', () => {
    const v = view([
      { route: 'tc1' },
      { route: 'tc2', state: 'disabled' },
      { route: 'tc3' },
      { route: 'tc4', state: 'standby' },
      { route: 'tc5', state: 'draining' },
    ]);
    const picks = Array.from({ length: 4 }, () =>
      decide(v, { owner: undefined, pin: undefined, now, random }),
    );
    expect(picks.map((d) => d.member!.route)).toEqual(['tc1', 'tc3', 'tc1', 'tc3']);
    expect(picks.every((d) => d.kind === 'balanced' && d.pin === undefined)).toBe(true);
  });

  it('(a) a route this balancer does not know is treated as no route', () => {
    const v = view([{ route: 'tc1' }]);
    expect(decide(v, { owner: 'elsewhere', pin: undefined, now, random })).toMatchObject({
      kind: 'balanced',
      member: v.m['tc1'],
    });
  });

  it('(a) a route that names a domain goes to an active member of it (mod_jk)', () => {
    const v = view([
      { route: 'a1', domain: 'A' },
      { route: 'b1', domain: 'B' },
      { route: 'b2', domain: 'B', state: 'disabled' },
    ]);
    for (let i = 0; i < 3; i++) {
      expect(decide(v, { owner: 'B', pin: undefined, now, random })).toMatchObject({
        member: v.m['b1'],
        kind: 'domain',
      });
    }
  });

  it('(a) standby members take new sessions only when no active member can', () => {
    const v = view([{ route: 'tc1' }, { route: 'spare', state: 'standby' }]);
    down(v.m['tc1']!);
    expect(decide(v, { owner: undefined, pin: undefined, now, random }).member!.route).toBe(
      'spare',
    );
  });

  it('(b) owner usable: it gets its session, also when disabled, draining or standby', () => {
    for (const state of ['active', 'disabled', 'draining', 'standby'] as const) {
      const v = view([{ route: 'tc1', state }, { route: 'tc2' }]);
      expect(decide(v, { owner: 'tc1', pin: undefined, now, random })).toEqual({
        member: v.m['tc1'],
        kind: 'sticky',
        pin: undefined,
      });
    }
  });

  it('(c) owner stopped or in error: redirect member first (even when disabled), and the session is re-pinned', () => {
    const v = view([
      { route: 'tc1', redirect: 'tc3' },
      { route: 'tc2' },
      { route: 'tc3', state: 'disabled' },
    ]);
    down(v.m['tc1']!);
    expect(decide(v, { owner: 'tc1', pin: undefined, now, random })).toEqual({
      member: v.m['tc3'],
      kind: 'redirect',
      pin: { set: 'tc3' },
    });
    v.m['tc1']!.errorUntil = 0;
    v.m['tc1']!.state = 'stopped';
    expect(decide(v, { owner: 'tc1', pin: undefined, now, random }).member!.route).toBe('tc3');
  });

  it('(c) then a member of the same domain (the replication partner)', () => {
    const v = view([
      { route: 'a1', domain: 'A' },
      { route: 'b1', domain: 'B' },
      { route: 'a2', domain: 'A' },
      { route: 'b2', domain: 'B' },
    ]);
    down(v.m['a1']!);
    for (let i = 0; i < 3; i++) {
      expect(decide(v, { owner: 'a1', pin: undefined, now, random })).toMatchObject({
        member: v.m['a2'],
        kind: 'domain',
      });
    }
  });

  it('(c) then the method, and with repin none no cookie is set', () => {
    const v = view(
      [{ route: 'tc1', redirect: 'tc2' }, { route: 'tc2' }, { route: 'tc3' }],
      'none',
      'immediate',
    );
    down(v.m['tc1']!);
    down(v.m['tc2']!);
    expect(decide(v, { owner: 'tc1', pin: undefined, now, random })).toEqual({
      member: v.m['tc3'],
      kind: 'failover',
      pin: undefined,
    });
  });

  it('(c) nobody usable: no member (the proxy answers 503)', () => {
    const v = view([{ route: 'tc1' }, { route: 'tc2', state: 'draining' }]);
    down(v.m['tc1']!);
    expect(decide(v, { owner: 'tc1', pin: undefined, now, random }).member).toBeUndefined();
    expect(decide(v, { owner: undefined, pin: undefined, now, random }).member).toBeUndefined();
  });

  it('(c) a re-pinned session stays on its new member: it does not hop between survivors', () => {
    const v = view([{ route: 'tc1' }, { route: 'tc2' }, { route: 'tc3' }]);
    down(v.m['tc1']!);
    const first = decide(v, { owner: 'tc1', pin: undefined, now, random });
    expect(first.kind).toBe('failover');
    const pin = (first.pin as { set: string }).set;
    for (let i = 0; i < 5; i++) {
      expect(decide(v, { owner: 'tc1', pin, now, random })).toEqual({
        member: first.member,
        kind: 'pinned',
        pin: undefined,
      });
    }
  });

  it('(c) the pinned member fails too: the owner if it is back, else failover from the pinned member', () => {
    const v = view([{ route: 'tc1' }, { route: 'tc2', redirect: 'tc3' }, { route: 'tc3' }]);
    down(v.m['tc1']!);
    down(v.m['tc2']!);
    expect(decide(v, { owner: 'tc1', pin: 'tc2', now, random })).toEqual({
      member: v.m['tc3'],
      kind: 'redirect',
      pin: { set: 'tc3' },
    });
    v.m['tc1']!.errorUntil = 0;
    expect(decide(v, { owner: 'tc1', pin: 'tc2', now, random })).toEqual({
      member: v.m['tc1'],
      kind: 'sticky',
      pin: 'clear',
    });
  });

  describe('(d) owner back: the fail-back policy', () => {
    const back = (failback: FailbackPolicy) => {
      const v = view([{ route: 'tc1' }, { route: 'tc2' }], 'cookie', failback);
      return decide(v, { owner: 'tc1', pin: 'tc2', now, random });
    };
    it('immediate: back to the owner, the pin is cleared', () => {
      expect(back('immediate')).toMatchObject({ kind: 'sticky', pin: 'clear' });
      expect(back('immediate').member!.route).toBe('tc1');
    });
    it('never: stays on the pinned member', () => {
      expect(back('never')).toMatchObject({ kind: 'pinned', pin: undefined });
      expect(back('never').member!.route).toBe('tc2');
    });
    it('when-idle: stays, and the pin (whose cookie expires after the idle time) is refreshed', () => {
      expect(back('when-idle')).toMatchObject({ kind: 'pinned', pin: { set: 'tc2' } });
    });
    it('when-idle: once the pin cookie expired (idle), the owner gets the session again', () => {
      const v = view([{ route: 'tc1' }, { route: 'tc2' }], 'cookie', 'when-idle');
      expect(decide(v, { owner: 'tc1', pin: undefined, now, random })).toMatchObject({
        kind: 'sticky',
        pin: undefined,
      });
    });
  });

  it('a pin equal to the owner (the backend re-issued the id) is cleared', () => {
    const v = view([{ route: 'tc1' }, { route: 'tc2' }]);
    expect(decide(v, { owner: 'tc2', pin: 'tc2', now, random })).toEqual({
      member: v.m['tc2'],
      kind: 'sticky',
      pin: 'clear',
    });
  });

  it('a pin with no session id routes like a routing cookie (httpd stickysession=ROUTEID)', () => {
    const v = view([{ route: 'tc1' }, { route: 'tc2' }]);
    expect(decide(v, { owner: undefined, pin: 'tc2', now, random })).toMatchObject({
      member: v.m['tc2'],
      kind: 'pinned',
    });
  });

  it('retries never choose a member already tried, and end when all were', () => {
    const v = view([{ route: 'tc1' }, { route: 'tc2' }, { route: 'tc3' }]);
    const tried = new Set<MemberState>([v.m['tc1']!]);
    const d2 = decide(v, { owner: 'tc1', pin: undefined, now, random, tried });
    expect(d2.kind).toBe('failover');
    tried.add(d2.member!);
    const d3 = decide(v, { owner: 'tc1', pin: undefined, now, random, tried });
    expect(d3.member).toBeDefined();
    expect(tried.has(d3.member!)).toBe(false);
    tried.add(d3.member!);
    expect(decide(v, { owner: 'tc1', pin: undefined, now, random, tried }).member).toBeUndefined();
  });

  it('an error period ends by the clock alone (passive detection, mod_proxy retry)', () => {
    const v = view([{ route: 'tc1' }, { route: 'tc2' }], 'none', 'immediate');
    down(v.m['tc1']!);
    expect(decide(v, { owner: 'tc1', pin: undefined, now, random }).member!.route).toBe('tc2');
    expect(decide(v, { owner: 'tc1', pin: undefined, now: now + 2000, random }).member!.route).toBe(
      'tc1',
    );
  });
});
