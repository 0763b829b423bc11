// One cluster member in its own process, for the multi-process loopback test.
// argv[2]: URL of the compiled member module; argv[3]: JSON { name, port, seeds, key, cluster, preset }.
// Prints one JSON line per event.
const { createMember } = await import(process.argv[2]);
const opts = JSON.parse(process.argv[3]);
const m = await createMember({
  name: opts.name,
  bind: { host: '127.0.0.1', port: opts.port ?? 0 },
  seeds: opts.seeds ?? [],
  keys: opts.key ? [opts.key] : undefined,
  cluster: opts.cluster,
  preset: opts.preset ?? 'lan',
});
const alive = () => m.members().filter((x) => x.status === 'alive').length;
const out = (ev, subject) =>
  process.stdout.write(
    JSON.stringify({ ev, from: opts.name, subject, alive: alive(), t: Date.now() }) + '\n',
  );
out('ready', m.address);
for (const ev of ['join', 'dead', 'leave', 'suspect']) m.on(ev, (x) => out(ev, x.name));
process.on('SIGTERM', () => void m.close().then(() => process.exit(0)));
