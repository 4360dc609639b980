import { type AccountContext, clusterArn, isArn, NAME_PATTERN, parseOwnArn } from './ecs-arns.ts';
import { clusterNotFound, invalidParameter } from './ecs-errors.ts';
import { checkTags, type Tag } from './tags.ts';

export interface CapacityProviderStrategyItem {
  capacityProvider: string;
  weight?: number;
  base?: number;
}

export interface ClusterRecord {
  name: string;
  arn: string;
  tags: Tag[];
  capacityProviders: string[];
  defaultCapacityProviderStrategy: CapacityProviderStrategyItem[];
  /** Registered container instances; EC2/EXTERNAL tasks need at least one. */
  containerInstances: number;
}

interface CreateClusterInput {
  clusterName?: string;
  tags?: { key?: string; value?: string }[];
  capacityProviders?: string[];
  defaultCapacityProviderStrategy?: CapacityProviderStrategyItem[];
}

/** The capacity providers every account has; Auto Scaling group providers are not modelled. */
const FARGATE_PROVIDERS = new Set(['FARGATE', 'FARGATE_SPOT']);

export const NOT_ASSOCIATED_MESSAGE =
  'The specified capacity provider strategy cannot contain a capacity provider that is not associated with the cluster. Associate the capacity provider with the cluster or specify a valid capacity provider and try again.';

export interface ClusterCounts {
  running: number;
  pending: number;
}

export interface ClusterStore {
  create(input: CreateClusterInput): { cluster: Record<string, unknown> };
  describe(input: { clusters?: string[]; include?: string[] }): {
    clusters: Record<string, unknown>[];
    failures: { arn: string; reason: string }[];
  };
  list(): { clusterArns: string[] };
  /** The cluster a request names (`default` when it names none); ClusterNotFoundException if absent. */
  resolve(identifier: string | undefined): ClusterRecord;
  get(name: string): ClusterRecord | undefined;
  byArn(arn: string): ClusterRecord | undefined;
}

const MISSING_NAME = (value: string): string =>
  `Cluster must match ^[a-zA-Z0-9\\-_]{1,255}$, but was ${value}`;

export const createClusterStore = (
  ctx: AccountContext,
  counts: (clusterName: string) => ClusterCounts
): ClusterStore => {
  const clusters = new Map<string, ClusterRecord>();

  /** The cluster name an identifier denotes, or undefined when it cannot denote one of ours. */
  const nameOf = (identifier: string): string | undefined => {
    if (!isArn(identifier)) return identifier;
    return parseOwnArn(ctx, identifier, 'cluster')?.resource;
  };

  const render = (record: ClusterRecord, include: readonly string[]): Record<string, unknown> => {
    const { running, pending } = counts(record.name);
    return {
      clusterArn: record.arn,
      clusterName: record.name,
      status: 'ACTIVE',
      registeredContainerInstancesCount: record.containerInstances,
      runningTasksCount: running,
      pendingTasksCount: pending,
      activeServicesCount: 0,
      statistics: [],
      tags: include.includes('TAGS') ? record.tags : [],
      settings: [{ name: 'containerInsights', value: 'disabled' }],
      capacityProviders: record.capacityProviders,
      defaultCapacityProviderStrategy: record.defaultCapacityProviderStrategy,
    };
  };

  return {
    create(input) {
      const name = input.clusterName ?? 'default';
      if (!NAME_PATTERN.test(name)) throw invalidParameter(MISSING_NAME(name));
      const existing = clusters.get(name);
      if (existing) return { cluster: render(existing, ['TAGS']) };
      const capacityProviders = input.capacityProviders ?? [];
      for (const provider of capacityProviders) {
        if (!FARGATE_PROVIDERS.has(provider)) {
          throw invalidParameter(
            `The specified capacity provider '${provider}' does not exist. Specify a valid capacity provider and try again.`
          );
        }
      }
      const strategy = input.defaultCapacityProviderStrategy ?? [];
      if (strategy.some((item) => !capacityProviders.includes(item.capacityProvider))) {
        throw invalidParameter(NOT_ASSOCIATED_MESSAGE);
      }
      const record: ClusterRecord = {
        name,
        arn: clusterArn(ctx, name),
        tags: checkTags(input.tags),
        capacityProviders,
        defaultCapacityProviderStrategy: strategy,
        containerInstances: 0,
      };
      clusters.set(name, record);
      return { cluster: render(record, ['TAGS']) };
    },

    describe(input) {
      const found: Record<string, unknown>[] = [];
      const failures: { arn: string; reason: string }[] = [];
      for (const identifier of input.clusters ?? ['default']) {
        const name = nameOf(identifier);
        const record = name === undefined ? undefined : clusters.get(name);
        if (record) {
          found.push(render(record, input.include ?? []));
        } else {
          const arn = isArn(identifier) ? identifier : clusterArn(ctx, identifier);
          failures.push({ arn, reason: 'MISSING' });
        }
      }
      return { clusters: found, failures };
    },

    list() {
      return { clusterArns: [...clusters.values()].map((record) => record.arn) };
    },

    resolve(identifier) {
      const given = identifier === undefined || identifier === '' ? 'default' : identifier;
      if (!isArn(given) && !NAME_PATTERN.test(given)) throw invalidParameter(MISSING_NAME(given));
      const name = nameOf(given);
      const record = name === undefined ? undefined : clusters.get(name);
      if (!record) throw clusterNotFound();
      return record;
    },

    get(name) {
      return clusters.get(name);
    },

    byArn(arn) {
      const name = nameOf(arn);
      return name === undefined || !isArn(arn) ? undefined : clusters.get(name);
    },
  };
};
