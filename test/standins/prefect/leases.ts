/**
 * Deployment concurrency slots. A PENDING or RUNNING run of a deployment holds a slot. The real
 * server backs slots with leases: the PENDING transition takes a lease that lapses after
 * `concurrency_options.grace_period_seconds` (default 300 s) unless the run reaches RUNNING, so a
 * run stuck in PENDING (slow infrastructure) stops counting. The stand-in keeps a RUNNING run's
 * lease for as long as it runs (the real engine renews it).
 */
import { toMillis } from './datetime.ts';
import type { StateRecord } from './orchestration.ts';
import { type FlowRunRecord, SLOT_OCCUPYING, type Store } from './store.ts';

/** `PREFECT_SERVER_CONCURRENCY_INITIAL_DEPLOYMENT_LEASE_DURATION`. */
export const DEFAULT_LEASE_SECONDS = 300;

const leaseIdOf = (state: StateRecord | null): string | null => {
  const id = state?.state_details.deployment_concurrency_lease_id;
  return typeof id === 'string' && id !== '' ? id : null;
};

/** True when the run's current state names a lease that lapsed (or that the stand-in never issued). */
export const isLeaseExpired = (store: Store, run: FlowRunRecord): boolean => {
  const leaseId = leaseIdOf(run.state);
  if (leaseId === null) return false;
  const lease = store.leases.get(leaseId);
  if (!lease) return true;
  return lease.expiresAt !== null && lease.expiresAt < store.now().getTime();
};

/** PENDING/RUNNING and not holding a lapsed lease. */
export const holdsDeploymentSlot = (store: Store, run: FlowRunRecord): boolean =>
  run.state_type !== null && SLOT_OCCUPYING.has(run.state_type) && !isLeaseExpired(store, run);

/** Slots of a deployment held by its runs, optionally not counting one run. */
export const deploymentActiveSlots = (
  store: Store,
  deploymentId: string,
  exceptRunId?: string
): number =>
  [...store.flowRuns.values()].filter(
    (run) =>
      run.deployment_id === deploymentId &&
      run.id !== exceptRunId &&
      holdsDeploymentSlot(store, run)
  ).length;

/** Updates leases after `state` was written on `run`: take, keep while running, or release. */
export const trackLease = (store: Store, run: FlowRunRecord, state: StateRecord): void => {
  if (!SLOT_OCCUPYING.has(state.type)) {
    for (const [id, lease] of store.leases) if (lease.flowRunId === run.id) store.leases.delete(id);
    return;
  }
  const leaseId = leaseIdOf(state);
  if (leaseId === null || run.deployment_id === null) return;
  const existing = store.leases.get(leaseId);
  if (existing) {
    if (state.type === 'RUNNING') existing.expiresAt = null;
    return;
  }
  const deployment = store.deployments.get(run.deployment_id);
  const grace = deployment?.concurrency_options?.grace_period_seconds ?? DEFAULT_LEASE_SECONDS;
  store.leases.set(leaseId, {
    id: leaseId,
    deploymentId: run.deployment_id,
    flowRunId: run.id,
    expiresAt: state.type === 'RUNNING' ? null : toMillis(state.timestamp) + grace * 1000,
  });
};
