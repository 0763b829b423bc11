import { killLeftovers, stopAll } from './registry.js';

/**
 * A vitest `globalSetup` module (`globalSetup: ['@cohort/peers/global-setup']`). At setup it
 * stops the peers that an interrupted earlier run left behind (their owner process is gone; peers
 * of runs still in progress are left alone); at teardown it stops every peer this run's
 * processes started and did not stop.
 */
export default async function setup(): Promise<() => Promise<void>> {
  const n = await killLeftovers();
  if (n > 0) console.warn(`[@cohort/peers] stopped ${n} peer(s) left over by an interrupted run`);
  return async () => {
    await stopAll();
    await killLeftovers({ includeOwn: true });
  };
}
