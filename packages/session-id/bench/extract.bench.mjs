// Benchmark: extracting the session route from a realistic request, against the usual approach
// (the `cookie` package's parse, then split on '.'), in the same run.
// Run: npx nx bench @cohort/session-id   (or: npm run build && node bench/extract.bench.mjs)
// Figures: CPU time per operation (process.cpuUsage, user+system), median of several rounds.
import { mkdirSync, writeFileSync } from 'node:fs';
import { parse as parseCookie } from 'cookie';
import { createExtractor } from '../dist/index.js';

// A 10-cookie Cookie header of about 600 bytes, as a browser sends it to a shop behind a balancer.
const COOKIE =
  '_ga=GA1.2.1234567890.1700000000; _gid=GA1.2.987654321.1700000000; ' +
  '_fbp=fb.1.1700000000000.1234567890; theme=dark; lang=en-US; ' +
  'csrftoken=Xk2p9QmT3xkLw8ZtYb7cVn4Rf6Hj1Ds0aB3cD4eF5gH6iJ7kL8mN9oP0qR1sT2uV; ' +
  'JSESSIONID=539DF5750E45A74AA7988AC84004C70A.tc1; ' +
  'recently_viewed=sku-1001%2Csku-1002%2Csku-1003%2Csku-1004%2Csku-1005%2Csku-1006%2Csku-1007%2Csku-1008%2Csku-1009%2Csku-1010%2Csku-1011%2Csku-1012%2Csku-1013%2Csku-1014; ' +
  'consent=analytics%3Dyes%26marketing%3Dno%26functional%3Dyes%26version%3D7%26ts%3D1700000000000; ' +
  'ab_test=checkout-v2%3Avariant-b%3Bpricing-v3%3Acontrol%3Bsearch-v5%3Avariant-a%3Bbanner%3Aoff';
const TARGET_PLAIN = '/shop/cart/checkout?step=2&coupon=WINTER';
const TARGET_PARAM =
  '/shop/cart/checkout;jsessionid=539DF5750E45A74AA7988AC84004C70A.tc2?step=2&coupon=WINTER';
const PATH_PARAM = /;jsessionid=([^;?#/]*)/;

const extract = createExtractor();

/**
 * The usual approach: parse the Cookie header into a map with the `cookie` package (as
 * cookie-parser does for every request), take the path parameter if there is one (a regex, as
 * mod_jk's precedence asks), else the cookie, then split the id on '.'.
 */
function baseline(target, cookie) {
  const cookies = parseCookie(cookie);
  const m = PATH_PARAM.exec(target);
  const id = m ? m[1] : cookies.JSESSIONID;
  if (id === undefined) return undefined;
  const dot = id.indexOf('.');
  return dot === -1 ? undefined : id.slice(dot + 1);
}

function cohort(target, cookie) {
  return extract(target, cookie).route;
}

let sink = 0;
function measure(fn, target, cookie, iterations) {
  for (let i = 0; i < 20_000; i++) sink += fn(target, cookie)?.length ?? 0;
  const rounds = [];
  for (let r = 0; r < 7; r++) {
    const cpu0 = process.cpuUsage();
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < iterations; i++) sink += fn(target, cookie)?.length ?? 0;
    const wallNs = Number(process.hrtime.bigint() - t0);
    const cpu = process.cpuUsage(cpu0);
    rounds.push({
      cpuNs: ((cpu.user + cpu.system) * 1000) / iterations,
      wallNs: wallNs / iterations,
    });
  }
  rounds.sort((a, b) => a.cpuNs - b.cpuNs);
  return rounds[Math.floor(rounds.length / 2)];
}

const cases = [
  { name: `cookie only (${COOKIE.length} B, 10 cookies)`, target: TARGET_PLAIN },
  { name: ';jsessionid= path parameter + cookie', target: TARGET_PARAM },
];
const N = 500_000;
const results = [];
for (const c of cases) {
  if (cohort(c.target, COOKIE) !== baseline(c.target, COOKIE))
    throw new Error(`disagree on ${c.name}`);
  const ours = measure(cohort, c.target, COOKIE, N);
  const theirs = measure(baseline, c.target, COOKIE, N);
  results.push({
    case: c.name,
    cohortNsPerOp: +ours.cpuNs.toFixed(1),
    cohortOpsPerCpuSecond: Math.round(1e9 / ours.cpuNs),
    baselineNsPerOp: +theirs.cpuNs.toFixed(1),
    baselineOpsPerCpuSecond: Math.round(1e9 / theirs.cpuNs),
    speedup: +(theirs.cpuNs / ours.cpuNs).toFixed(1),
  });
}

console.log(`Cookie header: ${COOKIE.length} bytes, ${COOKIE.split(';').length} cookies\n`);
console.log(
  '| case | cohort ns/op (CPU) | cohort extractions/s per core | cookie.parse+split ns/op | speed-up |',
);
console.log('|---|---:|---:|---:|---:|');
for (const r of results) {
  console.log(
    `| ${r.case} | ${r.cohortNsPerOp} | ${(r.cohortOpsPerCpuSecond / 1e6).toFixed(2)} M | ${r.baselineNsPerOp} | ${r.speedup}× |`,
  );
}
mkdirSync(new URL('../bench-results/', import.meta.url), { recursive: true });
const out = {
  node: process.version,
  date: new Date().toISOString(),
  iterations: N,
  results,
  sink: sink > 0,
};
writeFileSync(
  new URL('../bench-results/extract.json', import.meta.url),
  JSON.stringify(out, null, 2),
);
console.log('\nwritten: bench-results/extract.json');
