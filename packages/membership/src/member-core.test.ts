import { describe, expect, it } from 'vitest';
import { resolveConfig } from './config.js';
import type { CoreOutput, MembershipEvent } from './member-core.js';
import { MemberCore } from './member-core.js';
import { seededRandom } from './prng.js';
import type { WireMessage } from './wire.js';
import {
  decodeEnvelope,
  decodeFrame,
  encodeEnvelope,
  encodeEnvelopeHeader,
  encodeMessage,
} from './wire.js';

const cfg = resolveConfig('lan');

function core(name: string, seed = 1): MemberCore {
  return new MemberCore({
    name,
    addr: `${name}:1`,
    cluster: 'c',
    config: cfg,
    random: seededRandom(seed),
  });
}

function packet(from: string, ...msgs: WireMessage[]): Uint8Array {
  return encodeEnvelope(encodeEnvelopeHeader('c', from), msgs.map(encodeMessage));
}

function msgs(out: CoreOutput): WireMessage[] {
  return out.packets.flatMap((p) => decodeEnvelope(p.bytes).messages);
}

function types(events: MembershipEvent[]): string[] {
  return events.map((e) => e.type);
}

const alive = (name: string, incarnation: number): WireMessage => ({
  type: 'alive',
  name,
  incarnation,
  addr: `${name}:1`,
  meta: new Uint8Array(0),
  metaHash: 0x811c9dc5,
  metaSize: 0,
});

describe('MemberCore transitions', () => {
  it('answers a ping addressed to it with an ack carrying the same seq', () => {
    const a = core('a');
    a.start(0);
    const out = a.receivePacket(
      1,
      'b:1',
      packet('b', { type: 'ping', seq: 7, target: 'a', checksum: 0 }),
    );
    expect(out.packets[0]?.to).toBe('b:1');
    expect(msgs(out)).toContainEqual({ type: 'ack', seq: 7, checksum: a.checksum() });
  });

  it('ignores a ping for another name (stale address)', () => {
    const a = core('a');
    a.start(0);
    const out = a.receivePacket(
      1,
      'b:1',
      packet('b', { type: 'ping', seq: 7, target: 'zz', checksum: 0 }),
    );
    expect(out.packets).toHaveLength(0);
  });

  it('learns a member from an alive message and reports join', () => {
    const a = core('a');
    a.start(0);
    const out = a.receivePacket(1, 'b:1', packet('b', alive('b', 0)));
    expect(types(out.events)).toContain('join');
    expect(a.member('b')?.status).toBe('alive');
  });

  it('applies SWIM precedence: suspect(i) beats alive(i), alive(i+1) beats suspect(i), dead beats both', () => {
    const a = core('a');
    a.start(0);
    a.receivePacket(1, 'b:1', packet('b', alive('b', 3)));
    a.receivePacket(
      2,
      'c:1',
      packet('c', { type: 'suspect', name: 'b', incarnation: 2, from: 'c' }),
    );
    expect(a.member('b')?.status).toBe('alive'); // older incarnation: ignored
    let out = a.receivePacket(
      3,
      'c:1',
      packet('c', { type: 'suspect', name: 'b', incarnation: 3, from: 'c' }),
    );
    expect(a.member('b')?.status).toBe('suspect');
    expect(types(out.events)).toContain('suspect');
    a.receivePacket(4, 'c:1', packet('c', alive('b', 3)));
    expect(a.member('b')?.status).toBe('suspect'); // same incarnation does not refute
    out = a.receivePacket(5, 'b:1', packet('b', alive('b', 4)));
    expect(a.member('b')?.status).toBe('alive');
    expect(types(out.events)).toContain('alive');
    out = a.receivePacket(
      6,
      'c:1',
      packet('c', { type: 'dead', name: 'b', incarnation: 4, from: 'c', left: false }),
    );
    expect(a.member('b')?.status).toBe('dead');
    expect(types(out.events)).toContain('dead');
    a.receivePacket(7, 'c:1', packet('c', alive('b', 4)));
    expect(a.member('b')?.status).toBe('dead');
    out = a.receivePacket(8, 'b:1', packet('b', alive('b', 5)));
    expect(a.member('b')?.status).toBe('alive'); // a restarted member reclaims its name
    expect(types(out.events)).toContain('join');
  });

  it('refutes a suspicion about itself with a higher incarnation', () => {
    const a = core('a');
    a.start(0);
    a.receivePacket(1, 'b:1', packet('b', alive('b', 0)));
    a.receivePacket(
      2,
      'b:1',
      packet('b', { type: 'suspect', name: 'a', incarnation: 0, from: 'b' }),
    );
    expect(a.stats().incarnation).toBe(1);
    const out = a.tick(a.nextWake() as number);
    const sent = [...msgs(out)];
    // the refutation rides on the next outgoing packet (gossip or probe)
    const later = sent.length > 0 ? sent : msgs(a.tick((a.nextWake() as number) + 1));
    expect(later).toContainEqual(
      expect.objectContaining({ type: 'alive', name: 'a', incarnation: 1 }),
    );
  });

  it('turns a failed probe into a suspicion and then death after the suspicion timeout', () => {
    const a = core('a');
    a.start(0);
    a.receivePacket(1, 'b:1', packet('b', alive('b', 0)));
    const events: MembershipEvent[] = [];
    let t = 1;
    while (t < 30_000) {
      const w = a.nextWake();
      if (w === undefined) break;
      t = w;
      events.push(...a.tick(t).events);
      if (a.member('b')?.status === 'dead') break;
    }
    const ty = types(events);
    expect(ty.indexOf('suspect')).toBeGreaterThanOrEqual(0);
    expect(ty.indexOf('dead')).toBeGreaterThan(ty.indexOf('suspect'));
    // With one peer there is nobody to confirm: the timeout is the minimum (k = 0).
    expect(t).toBeLessThan(cfg.probeIntervalMs * 2 + cfg.suspicionMinMs + 10);
    // one batched routable-set transition after the batch window
    events.push(...a.tick(t + cfg.routableBatchMs).events);
    expect(events.filter((e) => e.type === 'routable-change')).toHaveLength(2); // b added, b removed
    expect(a.routable()).toEqual(['a']);
  });

  it('sends ping-req to helpers and a TCP ping when the direct ping goes unanswered', () => {
    const a = core('a');
    a.start(0);
    for (const n of ['b', 'c', 'd', 'e']) a.receivePacket(1, `${n}:1`, packet(n, alive(n, 0)));
    let out: CoreOutput;
    let t: number;
    let pingReqs = 0;
    let tcp = 0;
    for (let i = 0; i < 10 && pingReqs === 0; i++) {
      t = a.nextWake() as number;
      out = a.tick(t);
      pingReqs += msgs(out).filter((m) => m.type === 'ping-req').length;
      tcp += out.streams.filter((s) => decodeFrame(s.bytes).body.type === 'ping').length;
    }
    expect(pingReqs).toBe(3);
    expect(tcp).toBe(1);
  });

  it('acts as an indirect-probe helper: pings the target and relays the ack, or nacks', () => {
    const h = core('h');
    h.start(0);
    let out = h.receivePacket(
      1,
      'a:1',
      packet('a', { type: 'ping-req', seq: 42, target: 't', targetAddr: 't:1' }),
    );
    const ping = msgs(out).find((m) => m.type === 'ping');
    expect(out.packets[0]?.to).toBe('t:1');
    expect(ping).toBeDefined();
    out = h.receivePacket(
      2,
      't:1',
      packet('t', { type: 'ack', seq: (ping as { seq: number }).seq, checksum: 0 }),
    );
    expect(out.packets[0]?.to).toBe('a:1');
    expect(msgs(out)).toContainEqual({ type: 'ack', seq: 42, checksum: 0 });
    // second request: no ack, so a nack after the probe timeout
    h.receivePacket(
      3,
      'a:1',
      packet('a', { type: 'ping-req', seq: 43, target: 't', targetAddr: 't:1' }),
    );
    out = h.tick(3 + cfg.probeTimeoutMs);
    expect(msgs(out)).toContainEqual({ type: 'nack', seq: 43 });
  });

  it('leaves with a left message sent directly and by gossip', () => {
    const a = core('a');
    a.start(0);
    a.receivePacket(1, 'b:1', packet('b', alive('b', 0)));
    const out = a.leave(2);
    expect(msgs(out)).toContainEqual({
      type: 'dead',
      name: 'a',
      incarnation: 0,
      from: 'a',
      left: true,
    });
    const b = core('b');
    b.start(0);
    b.receivePacket(1, 'a:1', packet('a', alive('a', 0)));
    const got = b.receivePacket(3, 'a:1', out.packets[0]?.bytes as Uint8Array);
    expect(types(got.events)).toContain('leave');
    expect(b.member('a')?.status).toBe('left');
  });

  it('drops packets of another cluster and malformed packets, counting them', () => {
    const a = core('a');
    a.start(0);
    a.receivePacket(
      1,
      'x:1',
      encodeEnvelope(encodeEnvelopeHeader('other', 'x'), [encodeMessage(alive('x', 0))]),
    );
    a.receivePacket(1, 'x:1', new Uint8Array([0xff, 0xff, 0xff]));
    expect(a.member('x')).toBeUndefined();
    expect(a.stats().wrongCluster).toBe(1);
    expect(a.stats().decodeErrors).toBe(1);
  });

  it('never sends a datagram larger than maxPacketBytes, whatever is queued', () => {
    const a = core('a');
    a.start(0);
    for (let i = 0; i < 300; i++) a.receivePacket(1, `n${i}:1`, packet(`n${i}`, alive(`n${i}`, 0)));
    for (let i = 0; i < 20; i++) a.broadcast(2, new Uint8Array(500));
    let max = 0;
    let t: number;
    for (let i = 0; i < 200; i++) {
      t = a.nextWake() as number;
      for (const p of a.tick(t).packets) max = Math.max(max, p.bytes.length);
    }
    expect(max).toBeGreaterThan(600);
    expect(max).toBeLessThanOrEqual(cfg.maxPacketBytes);
  });

  it('validates metadata and broadcast sizes with typed errors', () => {
    const a = core('a');
    expect(() => a.broadcast(0, new Uint8Array(cfg.userMessageMaxBytes + 1))).toThrow(
      expect.objectContaining({ code: 'ERR_PACKET_TOO_LARGE' }),
    );
    expect(() => a.updateMetadata(0, new Uint8Array(cfg.metadataMaxBytes + 1))).toThrow(
      expect.objectContaining({ code: 'ERR_CONFIG', field: 'metadata' }),
    );
  });
});
