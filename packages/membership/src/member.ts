import { EventEmitter } from 'node:events';
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import { randomBytes } from 'node:crypto';
import pino from 'pino';
import type { Logger } from 'pino';
import type { PresetName, ProtocolConfig } from './config.js';
import { resolveConfig } from './config.js';
import { MembershipError } from './errors.js';
import { ENCRYPTION_OVERHEAD, Keyring } from './keyring.js';
import type { CoreOutput, CoreStats, MemberSnapshot, MembershipEvent } from './member-core.js';
import { MemberCore } from './member-core.js';
import type { RoutableChange } from './routable-set.js';
import type { TransportStats } from './transport.js';
import { UdpTcpTransport, parseAddress } from './transport.js';
import type { MemberStatus } from './wire.js';

/** Metadata as given by the application: raw bytes or a JSON object. */
export type Metadata = Uint8Array | Record<string, unknown>;

/** Options of {@link createMember}. */
export interface MemberOptions {
  /** Unique member name in the cluster. */
  name: string;
  /** Where to listen (UDP and TCP on the same port). Default `127.0.0.1:0`. */
  bind?: { host?: string; port?: number };
  /** Address others reach this member at; default the bound address. Required when binding 0.0.0.0/::. */
  advertise?: string;
  /** Addresses (`host:port`) of members to join through. */
  seeds?: string[];
  /** Role metadata: route, addresses, weight, state, whatever the application needs. */
  metadata?: Metadata;
  /** Timing preset; default `lan`. */
  preset?: PresetName;
  /** Overrides of single protocol settings. */
  config?: Partial<ProtocolConfig>;
  /** Cluster label: other clusters' packets are dropped (and fail authentication when encrypted). */
  cluster?: string;
  /** AES-256-GCM keys (32 bytes, raw or base64), primary first. Omit for plaintext. */
  keys?: (Uint8Array | string)[];
  /** A pino logger; default: pino at level `warn`. */
  logger?: Logger;
  /** Feed measured event-loop delay into local health (default true). */
  monitorEventLoop?: boolean;
}

/** A member as reported by the API. */
export interface MemberInfo {
  name: string;
  address: string;
  status: MemberStatus;
  incarnation: number;
  /** Raw metadata (undefined while large metadata is still being fetched). */
  meta: Uint8Array | undefined;
  /** Metadata parsed as JSON when it is a JSON object, else undefined. */
  metadata: Record<string, unknown> | undefined;
  routable: boolean;
}

/** Events of a {@link Member}, with their payloads. */
export interface MemberEvents {
  join: [MemberInfo];
  update: [MemberInfo];
  suspect: [MemberInfo, string];
  alive: [MemberInfo];
  dead: [MemberInfo, string];
  leave: [MemberInfo];
  'routable-change': [RoutableChange];
  message: [Uint8Array, string];
  warning: [string, string];
}

/** Counters of a running member. */
export interface MemberStats extends CoreStats {
  transport: TransportStats;
  members: number;
  routable: number;
}

/** A running cluster member (see {@link createMember}). */
export interface Member extends EventEmitter<MemberEvents> {
  readonly name: string;
  /** Advertised address. */
  readonly address: string;
  /** Every known member, self included (dead and left ones until their tombstones expire). */
  members(): MemberInfo[];
  /** The routable set: members a balancer or a placement function should use. */
  routable(): MemberInfo[];
  /** Publish new metadata. */
  updateMetadata(meta: Metadata): void;
  /** Gossip a small message to every member. */
  broadcast(payload: Uint8Array | string): void;
  /** Leave gracefully, wait until the news is out (at most `timeoutMs`), then close. */
  leave(timeoutMs?: number): Promise<void>;
  /** Stop without leaving (others will detect a failure). */
  close(): Promise<void>;
  stats(): MemberStats;
}

function encodeMeta(meta: Metadata | undefined): Uint8Array {
  if (meta === undefined) return new Uint8Array(0);
  if (meta instanceof Uint8Array) return meta;
  if (typeof meta !== 'object' || meta === null || Array.isArray(meta)) {
    throw new MembershipError('ERR_CONFIG', 'metadata: expected bytes or a plain object', {
      field: 'metadata',
      expected: 'Uint8Array or a JSON object',
    });
  }
  return new TextEncoder().encode(JSON.stringify(meta));
}

function parseMeta(meta: Uint8Array | undefined): Record<string, unknown> | undefined {
  if (!meta || meta.length === 0 || meta[0] !== 0x7b) return undefined;
  try {
    const v: unknown = JSON.parse(new TextDecoder().decode(meta));
    return typeof v === 'object' && v !== null && !Array.isArray(v)
      ? (v as Record<string, unknown>)
      : undefined;
  } catch {
    return undefined;
  }
}

function validate(opts: MemberOptions): void {
  const bad = (field: string, expected: string, got: unknown): never => {
    throw new MembershipError(
      'ERR_CONFIG',
      `${field}: expected ${expected}, got ${JSON.stringify(got)}`,
      {
        field,
        expected,
      },
    );
  };
  if (typeof opts !== 'object' || opts === null) bad('options', 'an object', opts);
  if (typeof opts.name !== 'string' || opts.name.length === 0 || opts.name.length > 255) {
    bad('name', 'a non-empty string of at most 255 characters', opts.name);
  }
  const port = opts.bind?.port ?? 0;
  if (!Number.isInteger(port) || port < 0 || port > 65535)
    bad('bind.port', 'an integer in [0, 65535]', port);
  const host = opts.bind?.host ?? '127.0.0.1';
  if (typeof host !== 'string' || host.length === 0)
    bad('bind.host', 'a host name or IP address', host);
  if (opts.seeds !== undefined) {
    if (!Array.isArray(opts.seeds)) bad('seeds', 'an array of host:port strings', opts.seeds);
    opts.seeds.forEach((s, i) => parseAddress(s, `seeds[${i}]`));
  }
  if (opts.advertise !== undefined) parseAddress(opts.advertise, 'advertise');
  if ((host === '0.0.0.0' || host === '::') && opts.advertise === undefined) {
    bad('advertise', 'an address others can reach when binding a wildcard address', undefined);
  }
  if (
    opts.cluster !== undefined &&
    (typeof opts.cluster !== 'string' || opts.cluster.length > 255)
  ) {
    bad('cluster', 'a string of at most 255 characters', opts.cluster);
  }
  if (opts.preset !== undefined && !['lan', 'wan', 'local'].includes(opts.preset)) {
    bad('preset', "'lan', 'wan' or 'local'", opts.preset);
  }
  if (opts.keys !== undefined && !Array.isArray(opts.keys))
    bad('keys', 'an array of 32-byte keys', opts.keys);
}

class RunningMember extends EventEmitter<MemberEvents> implements Member {
  readonly name: string;
  readonly address: string;
  private timer: NodeJS.Timeout | undefined;
  private delayTimer: NodeJS.Timeout | undefined;
  private histogram: ReturnType<typeof monitorEventLoopDelay> | undefined;
  private closed = false;

  constructor(
    private readonly core: MemberCore,
    private readonly transport: UdpTcpTransport,
    private readonly log: Logger,
    private readonly cfg: ProtocolConfig,
    monitor: boolean,
  ) {
    super();
    this.name = core.name;
    this.address = core.addr;
    if (monitor) {
      const h = monitorEventLoopDelay({ resolution: 10 });
      h.enable();
      this.histogram = h;
      this.delayTimer = setInterval(() => {
        const maxMs = h.max / 1e6;
        h.reset();
        this.apply(this.core.reportLoopDelay(performance.now(), maxMs));
      }, cfg.probeIntervalMs);
      this.delayTimer.unref();
    }
  }

  now(): number {
    return performance.now();
  }

  apply(out: CoreOutput): void {
    if (this.closed) return;
    for (const p of out.packets) this.transport.sendPacket(p.to, p.bytes);
    for (const s of out.streams) this.transport.sendFrame(s.to, s.bytes);
    for (const e of out.events) this.emitEvent(e);
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    if (out.wakeAt !== undefined) {
      const delay = Math.max(0, out.wakeAt - this.now());
      this.timer = setTimeout(() => {
        this.timer = undefined;
        this.apply(this.core.tick(this.now()));
      }, delay);
    }
  }

  private info(s: MemberSnapshot): MemberInfo {
    return {
      name: s.name,
      address: s.addr,
      status: s.status,
      incarnation: s.incarnation,
      meta: s.meta,
      metadata: parseMeta(s.meta),
      routable: this.core.routable().includes(s.name),
    };
  }

  private emitEvent(e: MembershipEvent): void {
    switch (e.type) {
      case 'join':
        this.log.info({ member: e.member.name, address: e.member.addr }, 'member joined');
        this.emit('join', this.info(e.member));
        return;
      case 'update':
        this.log.debug({ member: e.member.name }, 'member updated');
        this.emit('update', this.info(e.member));
        return;
      case 'suspect':
        this.log.info({ member: e.member.name, by: e.by }, 'member suspected');
        this.emit('suspect', this.info(e.member), e.by);
        return;
      case 'alive':
        this.log.info({ member: e.member.name }, 'member refuted suspicion');
        this.emit('alive', this.info(e.member));
        return;
      case 'dead':
        this.log.warn({ member: e.member.name, by: e.by }, 'member declared dead');
        this.emit('dead', this.info(e.member), e.by);
        return;
      case 'leave':
        this.log.info({ member: e.member.name }, 'member left');
        this.emit('leave', this.info(e.member));
        return;
      case 'routable-change':
        this.log.info(
          { added: e.added, removed: e.removed, size: e.routable.length },
          'routable set changed',
        );
        this.emit('routable-change', { added: e.added, removed: e.removed, routable: e.routable });
        return;
      case 'message':
        this.emit('message', e.payload, e.origin);
        return;
      case 'warning':
        this.log.warn({ code: e.code }, e.message);
        this.emit('warning', e.code, e.message);
        return;
    }
  }

  members(): MemberInfo[] {
    return this.core.snapshot().map((s) => this.info(s));
  }

  routable(): MemberInfo[] {
    const r = new Set(this.core.routable());
    return this.members().filter((m) => r.has(m.name));
  }

  updateMetadata(meta: Metadata): void {
    this.apply(this.core.updateMetadata(this.now(), encodeMeta(meta)));
  }

  broadcast(payload: Uint8Array | string): void {
    const b = typeof payload === 'string' ? new TextEncoder().encode(payload) : payload;
    this.apply(this.core.broadcast(this.now(), b));
  }

  async leave(timeoutMs = 2000): Promise<void> {
    if (this.closed) return;
    this.apply(this.core.leave(this.now()));
    const until = this.now() + timeoutMs;
    while (this.core.pendingBroadcasts() > 0 && this.now() < until) {
      await new Promise((r) => setTimeout(r, this.cfg.gossipIntervalMs));
    }
    this.log.info('left the cluster');
    await this.close();
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    if (this.delayTimer) clearInterval(this.delayTimer);
    this.histogram?.disable();
    await this.transport.close();
  }

  stats(): MemberStats {
    return {
      ...this.core.stats(),
      transport: { ...this.transport.stats },
      members: this.core.snapshot().filter((m) => m.status === 'alive' || m.status === 'suspect')
        .length,
      routable: this.core.routable().length,
    };
  }
}

/**
 * Start a cluster member: bind UDP and TCP, join through the seeds, and keep the membership
 * view, the routable set and the metadata of every member up to date.
 *
 * ```ts
 * const m = await createMember({ name: 'web-1', seeds: ['10.0.0.5:7946'], metadata: { role: 'app' } });
 * m.on('routable-change', (c) => console.log(c.routable));
 * ```
 */
export async function createMember(opts: MemberOptions): Promise<Member> {
  validate(opts);
  const keyring = opts.keys ? new Keyring(opts.keys, opts.cluster ?? 'cohort') : undefined;
  const config = resolveConfig(
    opts.preset ?? 'lan',
    {
      ...opts.config,
      packetOverheadBytes:
        (opts.config?.packetOverheadBytes ?? 0) + (keyring ? ENCRYPTION_OVERHEAD : 0),
    },
    'config.',
  );
  const meta = encodeMeta(opts.metadata);
  const log = (opts.logger ?? pino({ level: 'warn' })).child({ member: opts.name });
  const ref: { member?: RunningMember } = {};
  const transport = await UdpTcpTransport.open({
    host: opts.bind?.host ?? '127.0.0.1',
    port: opts.bind?.port ?? 0,
    keyring,
    onPacket: (from, bytes) => ref.member?.apply(core.receivePacket(ref.member.now(), from, bytes)),
    onFrame: (bytes) => ref.member?.apply(core.receiveStream(ref.member.now(), bytes)),
    onFrameFailed: (to, refused) =>
      ref.member?.apply(core.streamFailed(ref.member.now(), to, refused)),
  });
  const address = opts.advertise ?? transport.address;
  const core = new MemberCore({
    name: opts.name,
    addr: address,
    cluster: opts.cluster ?? 'cohort',
    config,
    random: cryptoRandom(),
    meta,
  });
  const member = new RunningMember(core, transport, log, config, opts.monitorEventLoop ?? true);
  ref.member = member;
  log.info(
    { address, seeds: opts.seeds ?? [], encrypted: keyring !== undefined },
    'member started',
  );
  member.apply(core.start(member.now(), opts.seeds ?? []));
  return member;
}

function cryptoRandom(): () => number {
  // Protocol randomness (target order, helper choice) needs no secrecy; a buffered CSPRNG keeps
  // it unpredictable for an outsider anyway.
  let buf = randomBytes(4096);
  let i = 0;
  return () => {
    if (i + 4 > buf.length) {
      buf = randomBytes(4096);
      i = 0;
    }
    const v = buf.readUInt32LE(i);
    i += 4;
    return v / 4294967296;
  };
}
