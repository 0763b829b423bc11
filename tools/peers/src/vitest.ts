import { afterAll } from 'vitest';

import { PeerScope } from './scope.js';

/**
 * For a vitest suite: a {@link PeerScope} whose peers are stopped in `afterAll`, also when a test
 * failed. Call it at the top of a `describe` block (or of the file) and `track` what you start:
 * `const peers = usePeers(); const [tc1] = await peers.track(startTomcats(['tc1']));`
 */
export function usePeers(): PeerScope {
  const scope = new PeerScope();
  afterAll(() => scope.stop());
  return scope;
}

export { PeerScope, withPeer } from './scope.js';
export { requirePeers, isCi, type PeerRequirement } from './require.js';
