import type { EcsJobConfiguration } from '../jobs/ecs-job-configuration.ts';
import { nonEmptyString, recordsIn } from './json-values.ts';

/** What the templated RunTask request asks for, before any rewriting. */
export interface RequestedLaunch {
  /** `task_run_request.launchType` when set (`FARGATE`, `FARGATE_SPOT`, `EC2`, `EXTERNAL`). */
  launchType: string | undefined;
  /** The capacity providers of a non-empty `task_run_request.capacityProviderStrategy`. */
  capacityProviders: string[];
}

const FARGATE_PROVIDERS: ReadonlySet<string> = new Set(['FARGATE', 'FARGATE_SPOT']);

/**
 * The launch type and capacity providers the templated `task_run_request` asks for.
 *
 * @example
 * ```ts
 * requestedLaunch(configuration); // { launchType: 'FARGATE', capacityProviders: [] }
 * ```
 */
export const requestedLaunch = (configuration: EcsJobConfiguration): RequestedLaunch => {
  const request = configuration.task_run_request;
  return {
    launchType: nonEmptyString(request.launchType),
    capacityProviders: recordsIn(request.capacityProviderStrategy).flatMap((item) => {
      const provider = nonEmptyString(item.capacityProvider);
      return provider === undefined ? [] : [provider];
    }),
  };
};

/**
 * Whether the task will run on Fargate, so the task definition needs task-level cpu/memory,
 * `requiresCompatibilities: ['FARGATE']` and `awsvpc`:
 *
 * - launch type `FARGATE` or `FARGATE_SPOT` (prefect-aws's only rule);
 * - no launch type and a capacity provider strategy made only of `FARGATE`/`FARGATE_SPOT`;
 * - no launch type, no strategy, and a task definition that does not ask for EC2 or EXTERNAL
 *   (RunTask then defaults the launch type to FARGATE, so the definition must fit it).
 *
 * @example
 * ```ts
 * runsOnFargate({ launchType: undefined, capacityProviders: ['FARGATE_SPOT'] }, []); // true
 * runsOnFargate({ launchType: 'EC2', capacityProviders: [] }, []); // false
 * ```
 */
export const runsOnFargate = (
  launch: RequestedLaunch,
  requiresCompatibilities: readonly string[]
): boolean => {
  if (launch.launchType !== undefined) return FARGATE_PROVIDERS.has(launch.launchType);
  if (launch.capacityProviders.length > 0) {
    return launch.capacityProviders.every((provider) => FARGATE_PROVIDERS.has(provider));
  }
  return !requiresCompatibilities.includes('EC2') && !requiresCompatibilities.includes('EXTERNAL');
};

/**
 * Whether the task may run on Fargate Spot (launch type `FARGATE_SPOT`, or `FARGATE_SPOT` in the
 * capacity provider strategy), where a two-minute SIGTERM warning precedes interruption.
 *
 * @example
 * ```ts
 * mayRunOnFargateSpot({ launchType: 'FARGATE_SPOT', capacityProviders: [] }); // true
 * ```
 */
export const mayRunOnFargateSpot = (launch: RequestedLaunch): boolean =>
  launch.capacityProviders.length > 0
    ? launch.capacityProviders.includes('FARGATE_SPOT')
    : launch.launchType === 'FARGATE_SPOT';

/**
 * The task definition's `requiresCompatibilities` as strings.
 *
 * @example
 * ```ts
 * compatibilitiesOf({ requiresCompatibilities: ['EC2'] }); // ['EC2']
 * ```
 */
export const compatibilitiesOf = (taskDefinition: {
  requiresCompatibilities?: unknown;
}): string[] =>
  Array.isArray(taskDefinition.requiresCompatibilities)
    ? taskDefinition.requiresCompatibilities.filter(
        (item): item is string => typeof item === 'string'
      )
    : [];
