import { placementOf } from '@cohort/replication';
import type { NodeBackend } from '@cohort/session-client';

/** Where a session is kept: the session node that owns it, then its backups. */
export interface SessionPlacement {
  /** The owner's node id. */
  readonly owner: string;
  /** The backups' node ids, in order of preference. */
  readonly backups: readonly string[];
}

/**
 * The placement of a session key as `backend` knows it: its placement map (learned from the
 * nodes' greetings and pushes) through `placementOf` of `@cohort/replication`, owner first.
 * Undefined before the backend learned a map.
 */
export function nodePlacement(backend: NodeBackend): (key: string) => SessionPlacement | undefined {
  return (key) => {
    const m = backend.map;
    if (m === undefined || m.nodes.length === 0) return undefined;
    const [owner, ...backups] = placementOf(
      key,
      m.nodes.map((n) => n.id),
      m.replicas,
    );
    return owner === undefined ? undefined : { owner, backups };
  };
}
