// End to end: requests per second and CPU time per request for a small static file from Tomcat,
// through this package's pool (load loop in this process), against the same file through Apache
// httpd with mod_proxy_ajp and with mod_jk (HTTP keep-alive load loop in this process), all in
// the same run, against the same Tomcat AJP connector. CPU of httpd and Tomcat is read from /proc.
import { Agent, request } from 'node:http';
import { ajpBackends, startHttpd, startTomcat } from '@cohort/peers';
import { AjpClient } from '../dist/index.js';
import { fmt, groupCpuMs, save, table } from './lib.mjs';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 5);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 16);
const PATH = '/ping.txt';

async function loop(one) {
  // warm-up
  const warmEnd = Date.now() + 1000;
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (Date.now() < warmEnd) await one();
    }),
  );
  let n = 0;
  let errors = 0;
  const end = Date.now() + SECONDS * 1000;
  const t0 = process.hrtime.bigint();
  const cpu0 = process.cpuUsage();
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (Date.now() < end) {
        try {
          await one();
          n++;
        } catch {
          errors++;
        }
      }
    }),
  );
  const cpu = process.cpuUsage(cpu0);
  const secs = Number(process.hrtime.bigint() - t0) / 1e9;
  return {
    requests: n,
    errors,
    seconds: secs,
    rps: n / secs,
    clientCpuUsPerReq: (cpu.user + cpu.system) / n,
  };
}

function httpOne(agent, port) {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path: PATH, agent }, (res) => {
      if (res.statusCode !== 200) reject(new Error(`status ${res.statusCode}`));
      res.resume();
      res.on('end', resolve);
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

const tomcat = await startTomcat({ route: 'bench1' });
const stops = [() => tomcat.stop()];
try {
  const backends = ajpBackends([tomcat]);
  const proxyAjp = await startHttpd({ mode: 'proxy_ajp', backends, balancer: false });
  stops.push(() => proxyAjp.stop());
  const jk = await startHttpd({ mode: 'jk', backends, balancer: false });
  stops.push(() => jk.stop());

  const client = new AjpClient({
    port: tomcat.ajpPort,
    secret: tomcat.ajpSecret,
    maxConnections: CONCURRENCY,
  });
  const cases = {
    '@cohort/ajp13 pool → Tomcat AJP': {
      one: async () => {
        const r = await client.request({
          method: 'GET',
          url: PATH,
          remoteAddress: '127.0.0.1',
          headers: { host: 'localhost' },
        });
        if (r.status !== 200) throw new Error(`status ${r.status}`);
        for await (const _ of r.body);
      },
      proxyPid: null,
    },
    'httpd mod_proxy_ajp → Tomcat AJP': {
      one: (
        (agent) => () =>
          httpOne(agent, proxyAjp.port)
      )(new Agent({ keepAlive: true, maxSockets: CONCURRENCY })),
      proxyPid: proxyAjp.pid,
    },
    'httpd mod_jk → Tomcat AJP': {
      one: (
        (agent) => () =>
          httpOne(agent, jk.port)
      )(new Agent({ keepAlive: true, maxSockets: CONCURRENCY })),
      proxyPid: jk.pid,
    },
    'Tomcat HTTP connector, direct (reference)': {
      one: (
        (agent) => () =>
          httpOne(agent, tomcat.httpPort)
      )(new Agent({ keepAlive: true, maxSockets: CONCURRENCY })),
      proxyPid: null,
    },
  };
  // the JVM compiles its hot paths during the first seconds: warm every path up before measuring
  for (const c of Object.values(cases)) {
    const end = Date.now() + 2000;
    await Promise.all(
      Array.from({ length: CONCURRENCY }, async () => {
        while (Date.now() < end) await c.one();
      }),
    );
  }
  const results = {};
  for (const [name, c] of Object.entries(cases)) {
    const tc0 = groupCpuMs(tomcat.pid);
    const px0 = c.proxyPid ? groupCpuMs(c.proxyPid) : 0;
    const r = await loop(c.one);
    const tomcatMs = groupCpuMs(tomcat.pid) - tc0;
    const proxyMs = c.proxyPid ? groupCpuMs(c.proxyPid) - px0 : 0;
    results[name] = {
      ...r,
      proxyCpuUsPerReq: (proxyMs * 1000) / r.requests,
      tomcatCpuUsPerReq: (tomcatMs * 1000) / r.requests,
    };
    console.error(`${name}: ${fmt(r.rps)} req/s`);
  }
  console.error('pool stats', client.stats);
  await client.close();
  const ours = results['@cohort/ajp13 pool → Tomcat AJP'];
  table(
    [
      'path (16 concurrent, ping.txt)',
      'req/s',
      'load-loop process CPU µs/req',
      'httpd CPU µs/req',
      'Tomcat CPU µs/req',
      'errors',
      'req/s vs pool',
    ],
    Object.entries(results).map(([k, v]) => [
      k,
      fmt(v.rps),
      fmt(v.clientCpuUsPerReq, 1),
      v.proxyCpuUsPerReq ? fmt(v.proxyCpuUsPerReq, 1) : '—',
      fmt(v.tomcatCpuUsPerReq, 1),
      String(v.errors),
      `${fmt(v.rps / ours.rps, 2)}×`,
    ]),
  );
  save('e2e', { seconds: SECONDS, concurrency: CONCURRENCY, path: PATH, results });
} finally {
  for (const s of stops.reverse()) await s();
}
