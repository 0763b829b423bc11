import { hostname } from 'node:os';

import { createMember, type Member, type MemberInfo } from '@cohort/membership';
import type { Logger } from 'pino';

import type { ResolvedConfig } from './config/load.js';
import { resolveAddedMember, type AddedMember } from './overrides.js';

/** Where the proxy hands the members it discovered (one list per balancer, replaced whole). */
export interface DiscoveryTarget {
  setDiscoveredMembers(balancer: string, members: readonly AddedMember[]): void;
}

/**
 * What an application instance announces in its membership metadata to be balanced:
 * `{ role: 'app', route, url, weight?, state?, service? }` (`url` is `http://host:port` or
 * `ajp://host:port`; `service` names the balancer group it belongs to).
 */
export interface AppAnnouncement {
  readonly role: string;
  readonly route: string;
  readonly url: string;
  readonly weight?: number;
  readonly state?: string;
  readonly service?: string;
}

function announcementOf(m: MemberInfo): AppAnnouncement | undefined {
  const md = m.metadata;
  if (md === undefined) return undefined;
  const { role, route, url, weight, state, service } = md;
  if (typeof role !== 'string' || typeof route !== 'string' || typeof url !== 'string')
    return undefined;
  return {
    role,
    route,
    url,
    weight: typeof weight === 'number' ? weight : undefined,
    state: typeof state === 'string' ? state : undefined,
    service: typeof service === 'string' ? service : undefined,
  };
}

/**
 * Balancer members learned from the gossip membership (@cohort/membership), as mod_caucho
 * learned the Resin cluster from one server: the proxy joins as role `proxy`, and every
 * routable member announcing role `app` (or the balancer's `discover.role`) with a route and a
 * URL joins each balancer whose `discover` matches it — and leaves it when it leaves the
 * routable set (left, dead, or flapping). Static members keep working beside them; a
 * discovered route that a static member already has is ignored (logged once).
 */
export class Discovery {
  private readonly ignored = new Set<string>();

  private constructor(
    private readonly member: Member,
    private config: ResolvedConfig,
    private readonly target: DiscoveryTarget,
    private readonly log: Logger,
  ) {
    member.on('routable-change', () => this.refresh());
    member.on('update', () => this.refresh());
  }

  /** Joins the membership described by `config.discovery` and starts feeding `target`. */
  static async start(
    config: ResolvedConfig,
    target: DiscoveryTarget,
    log: Logger,
  ): Promise<Discovery> {
    const d = config.discovery!;
    const member = await createMember({
      name: d.name ?? `cohort-proxy-${hostname()}-${process.pid}`,
      bind: d.bind,
      advertise: d.advertise,
      seeds: d.seeds,
      keys: d.keys,
      cluster: d.cluster,
      preset: d.preset,
      metadata: { role: 'proxy' },
      logger: log.child({ component: 'membership' }),
    });
    const discovery = new Discovery(member, config, target, log);
    log.info({ address: member.address, seeds: d.seeds.length }, 'discovery joined the membership');
    discovery.refresh();
    return discovery;
  }

  /** The membership address (`host:port`) others can use as a seed. */
  get address(): string {
    return this.member.address;
  }

  /** A reload: balancers' `discover` settings may have changed. */
  reconfigure(config: ResolvedConfig): void {
    this.config = config;
    this.refresh();
  }

  /** Recomputes every balancer's discovered members from the routable set. */
  refresh(): void {
    const routable = this.member.routable().filter((m) => m.name !== this.member.name);
    for (const b of this.config.balancers) {
      const want = b.discover;
      if (want === undefined) continue;
      const statics = new Set(b.members.map((m) => m.route));
      const list: AddedMember[] = [];
      const routes = new Set<string>();
      for (const info of routable) {
        const a = announcementOf(info);
        if (a === undefined || a.role !== want.role) continue;
        if (want.service !== undefined && a.service !== want.service) continue;
        if (statics.has(a.route) || routes.has(a.route)) {
          const k = `${b.name}|${a.route}|${info.name}`;
          if (!this.ignored.has(k)) {
            this.ignored.add(k);
            this.log.warn(
              { balancer: b.name, member: a.route, from: info.name },
              'discovered member ignored: its route is already in use',
            );
          }
          continue;
        }
        const candidate: AddedMember = {
          url: a.url,
          route: a.route,
          weight: a.weight,
          state: a.state,
          source: 'discovery',
        };
        try {
          resolveAddedMember(candidate);
        } catch {
          const k = `invalid|${info.name}|${a.url}|${a.route}`;
          if (!this.ignored.has(k)) {
            this.ignored.add(k);
            this.log.warn(
              { balancer: b.name, from: info.name },
              'discovered member ignored: its announcement is not a valid member (url, route, weight, state)',
            );
          }
          continue;
        }
        routes.add(a.route);
        list.push(candidate);
      }
      this.target.setDiscoveredMembers(b.name, list);
    }
  }

  /** Leaves the membership (others see the proxy go at once). */
  async close(): Promise<void> {
    await this.member.leave();
  }
}
