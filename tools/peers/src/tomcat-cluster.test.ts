import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { httpGet } from './http.js';
import { requirePeers } from './require.js';
import { PeerScope } from './scope.js';
import { startTomcats, waitForClusterMembers, type TomcatHandle } from './tomcat.js';

/** One request to index.jsp with an optional cookie: the parsed line and the cookie to use next. */
async function hit(
  tc: TomcatHandle,
  cookie: string,
): Promise<{ id: string; n: number; node: string; cookie: string }> {
  const r = await httpGet(`${tc.url}/`, cookie ? { cookie } : {});
  expect(r.status).toBe(200);
  const m = /^session=(\S+) n=(\d+) node=(\S+)\n$/.exec(r.body);
  expect(m, r.body).not.toBeNull();
  const set = r.headers['set-cookie']?.[0];
  return { id: m![1]!, n: Number(m![2]), node: m![3]!, cookie: set ? set.split(';')[0]! : cookie };
}

describe.skipIf(requirePeers(['tomcat10'], 'tomcat-cluster.test').skip)(
  'two Tomcats as a DeltaManager cluster (static membership)',
  () => {
    const peers = new PeerScope();
    let tc1: TomcatHandle;
    let tc2: TomcatHandle;
    let cookie = '';
    beforeAll(async () => {
      [tc1, tc2] = (await peers.track(startTomcats(['tc1', 'tc2'], { cluster: true }))) as [
        TomcatHandle,
        TomcatHandle,
      ];
    });
    afterAll(() => peers.stop());

    it('listens for replication on its own Tribes port', () => {
      expect(tc1.receiverPort).toBeGreaterThan(0);
      expect(tc2.receiverPort).toBeGreaterThan(0);
      expect(tc1.receiverPort).not.toBe(tc2.receiverPort);
      expect(tc1.countLog(/SimpleTcpCluster\.memberAdded/)).toBeGreaterThanOrEqual(1);
    });

    it('replicates a session: tc1 counts to 2, tc2 continues at 3, tc1 at 4', async () => {
      const a = await hit(tc1, '');
      expect([a.n, a.node]).toEqual([1, 'tc1']);
      expect(a.id.endsWith('.tc1')).toBe(true);
      const b = await hit(tc1, a.cookie);
      expect(b.n).toBe(2);
      const c = await hit(tc2, b.cookie);
      expect([c.n, c.node]).toEqual([3, 'tc2']);
      // JvmRouteBinderValve re-pins the id to the node that served it.
      expect(c.id).toBe(a.id.replace(/\.tc1$/, '.tc2'));
      const d = await hit(tc1, c.cookie);
      expect([d.n, d.node]).toEqual([4, 'tc1']);
      cookie = d.cookie;
    });

    it('survives a crash of tc1 and hands the session back after its restart', async () => {
      const oldPid = tc1.pid;
      await tc1.kill();
      expect(tc1.running).toBe(false);
      const e = await hit(tc2, cookie);
      expect([e.n, e.node]).toEqual([5, 'tc2']);
      const joined = tc2.countLog(/SimpleTcpCluster\.memberAdded/);
      await tc1.restart();
      expect(tc1.pid).not.toBe(oldPid);
      // The survivor re-admits the restarted node at its next heartbeat (tomcat-cluster.md §5.5).
      await waitForClusterMembers(tc2, joined + 1);
      const f = await hit(tc1, e.cookie);
      expect([f.n, f.node]).toEqual([6, 'tc1']);
    });
  },
);
