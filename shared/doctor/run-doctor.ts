/**
 * Runs every doctor check in order and returns the checklist. The checks are in their own files,
 * each a pure verdict over what one probe read; this file only sequences them, passes each what the
 * earlier ones found (the credential read from Secrets Manager, the rendered launches), and marks a
 * check `skipped` when one it depends on failed.
 *
 * Order: configuration → credential secrets → Prefect reachable → authenticated → each pool, its
 * own `aws_credentials` and its template for each deployment → AWS identity → the roles the pools'
 * and deployments' `aws_credentials` assume (and whether the stack may) → each cluster, role and
 * network the rendered launches use, in the account and region each launches in.
 */
import { type AssumeRoleCall, createAssumeRole } from '../aws/assume-role.ts';
import { type AwsScope, createAwsScopes } from '../aws/aws-scopes.ts';
import { awsTargetOf, type RunAwsTarget } from '../aws/run-aws-target.ts';
import type { Config } from '../config.ts';
import type { NetworkCache } from '../ecs/network-configuration.ts';
import { createTemplateLookups } from '../jobs/create-template-lookups.ts';
import type { RenderSettings } from '../launch/render-launch-requests.ts';
import { mapWithConcurrency } from '../poll/map-with-concurrency.ts';
import type { PrefectClient } from '../prefect/client.ts';
import type { PrefectClientOptions } from '../prefect/client-options.ts';
import type { Deployment, Flow } from '../prefect/schemas.ts';
import type { PrefectCredentials } from '../secrets/prefect-credentials.ts';
import {
  type AwsCredentialsOutcome,
  decidePoolAwsCredentials,
  probePoolAwsCredentials,
} from './check-aws-credentials.ts';
import { decideIdentity, probeIdentity } from './check-aws-identity.ts';
import {
  decideRoleAllowed,
  decideScopeAccess,
  hasOwnCredentials,
  isHomeScope,
  probeScopeAccess,
  type ScopeUse,
  scopeAccessCheckName,
  scopeKeyOf,
  scopeWhere,
} from './check-aws-scope.ts';
import { decideCluster, probeCluster } from './check-cluster.ts';
import { decideConfig, parseDoctorConfig } from './check-config.ts';
import {
  decidePrefectAuth,
  PREFECT_AUTH_CHECK_NAME,
  probeAuthenticatedRead,
} from './check-prefect-auth.ts';
import { decidePrefectReachable, probeHealth } from './check-prefect-reachable.ts';
import { allPassed, type CheckResult, describeFailure, fail, skip } from './check-result.ts';
import { decideRole, probeRole, type RoleKind } from './check-role.ts';
import { decideSecrets, readCredentialSecrets, type SecretRead } from './check-secret.ts';
import { decideSecurityGroups, probeSecurityGroups } from './check-security-groups.ts';
import { decideSubnets, probeSubnets } from './check-subnets.ts';
import { decideTemplate, deploymentLabel, type TemplateSubject } from './check-template.ts';
import { decideWorkPool, readPool, workPoolCheckName } from './check-work-pool.ts';
import type { CallerIdentity, DoctorAwsApi } from './doctor-aws.ts';
import { type LaunchNeeds, launchNeedsOf, type NetworkNeed, networkKey } from './launch-needs.ts';
import { placeholderFlow, renderDeployment } from './render-deployment.ts';

/** The Prefect calls the doctor makes. */
export type DoctorPrefect = Pick<
  PrefectClient,
  | 'health'
  | 'readServerVersion'
  | 'readDeployments'
  | 'readWorkPoolDeployments'
  | 'readWorkPool'
  | 'readFlow'
  | 'readVariableByName'
  | 'readBlockDocument'
  | 'readBlockDocumentByName'
>;

/** I/O of {@link runDoctor}. */
export interface DoctorDeps {
  env: Readonly<Record<string, string | undefined>>;
  createPrefect(options: PrefectClientOptions): DoctorPrefect;
  /** This shell's credentials in the functions' region. */
  createAws(region: string): DoctorAwsApi & { destroy?(): void };
  /** The clients of a pool's `aws_credentials` scope (`doctorAwsApiFor`). */
  createScopedAws(scope: AwsScope): DoctorAwsApi & { destroy?(): void };
  /** STS AssumeRole; default `createAssumeRole` in the functions' region, endpoints from `env`. */
  assumeRole?: AssumeRoleCall;
}

/** The checklist. */
export interface DoctorReport {
  /** Whether every check passed (exit code 0). */
  ok: boolean;
  checks: CheckResult[];
}

/** A doctor answers in seconds: few, short retries. */
export const DOCTOR_PREFECT_LIMITS = {
  maxRetries: 1,
  maxDelayMs: 1_000,
  timeoutMs: 10_000,
  deadlineMs: 20_000,
} as const;

/** Deployments rendered at once. */
const RENDER_CONCURRENCY = 4;

const renderSettingsOf = (config: Config): RenderSettings => ({
  prefectApiUrl: config.prefectApiUrl,
  workerName: config.workerName,
  region: config.awsRegion,
  defaultImage: config.ecsDefaultImage,
  executionRoleArn: config.ecsExecutionRoleArn,
  apiKeySecretArn: config.prefectApiKeySecretArn,
  authStringSecretArn: config.prefectApiAuthStringSecretArn,
  templateEnvironment: config.templateEnvironment,
  templateEnvAllowlist: config.templateEnvAllowlist,
  prefectSettings: config.prefectSettings,
});

/** The Prefect credential to call with, or why there is none. */
const prefectCredentialsOf = (
  config: Config,
  secrets: readonly SecretRead[]
): { ok: true; credentials: PrefectCredentials } | { ok: false; reason: string } => {
  const source = config.prefectCredentials;
  switch (source.kind) {
    case 'authString':
      return { ok: true, credentials: { authString: source.value } };
    case 'apiKey':
      return { ok: true, credentials: { apiKey: source.value } };
    case 'none':
      return { ok: true, credentials: {} };
    case 'apiKeySecret':
    case 'authStringSecret': {
      const read = secrets.find((candidate) => candidate.arn === source.secretArn);
      if (!read?.outcome.ok) {
        return { ok: false, reason: 'the Prefect credential secret could not be read' };
      }
      const value = read.outcome.value.trim();
      return {
        ok: true,
        credentials: source.kind === 'apiKeySecret' ? { apiKey: value } : { authString: value },
      };
    }
  }
};

/** A rendered launch and the deployment it is for. */
interface RenderedSubject {
  label: string;
  needs: LaunchNeeds;
  /** Where its AWS calls go (its `aws_credentials`). */
  aws: RunAwsTarget;
}

/** A pool's own `aws_credentials` (its template's default). */
interface PoolCredentials {
  pool: string;
  outcome: AwsCredentialsOutcome;
}

/** What the Prefect checks found for the AWS checks. */
interface PrefectFindings {
  rendered: RenderedSubject[];
  pools: PoolCredentials[];
}

/** The `usedBy` list of `key`, created with `create` on first use. */
const usersOf = <V extends { usedBy: string[] }>(
  map: Map<string, V>,
  key: string,
  create: () => V
): string[] => {
  let entry = map.get(key);
  if (entry === undefined) {
    entry = create();
    map.set(key, entry);
  }
  return entry.usedBy;
};

const addUser = (usedBy: string[], label: string): void => {
  if (!usedBy.includes(label)) usedBy.push(label);
};

/** The Prefect checks: reachable, authenticated, pools and templates. */
const checkPrefect = async (
  config: Config,
  prefect: DoctorPrefect,
  credentialProblem: string | undefined,
  results: CheckResult[]
): Promise<PrefectFindings> => {
  const reachable = decidePrefectReachable(config.prefectApiUrl, await probeHealth(prefect));
  results.push(reachable);
  const poolNames = config.workPools;
  const skipRest = (reason: string) => {
    for (const pool of poolNames) results.push(skip(workPoolCheckName(pool), reason));
  };
  if (!reachable.ok) {
    results.push(skip(PREFECT_AUTH_CHECK_NAME, 'Prefect is not reachable'));
    skipRest('Prefect is not reachable');
    return { rendered: [], pools: [] };
  }
  if (credentialProblem !== undefined) {
    results.push(skip(PREFECT_AUTH_CHECK_NAME, credentialProblem));
    skipRest(credentialProblem);
    return { rendered: [], pools: [] };
  }
  const auth = decidePrefectAuth(config.prefectCredentials, await probeAuthenticatedRead(prefect));
  results.push(auth);
  if (!auth.ok) {
    skipRest('Prefect did not accept the credential');
    return { rendered: [], pools: [] };
  }

  const lookups = createTemplateLookups(prefect);
  const settings = renderSettingsOf(config);
  const flows = new Map<string, Promise<Flow>>();
  const readFlow = (id: string): Promise<Flow> => {
    const cached = flows.get(id) ?? prefect.readFlow(id);
    flows.set(id, cached);
    return cached;
  };
  const rendered: RenderedSubject[] = [];
  const pools: PoolCredentials[] = [];
  for (const poolName of poolNames) {
    const outcome = await readPool(prefect, poolName);
    const verdict = decideWorkPool(poolName, outcome);
    results.push(verdict);
    if (!verdict.ok || !outcome.ok) continue;
    const workPool = outcome.pool;
    const credentials = await probePoolAwsCredentials(workPool, settings, lookups);
    results.push(decidePoolAwsCredentials(poolName, config.awsRegion, credentials));
    pools.push({ pool: poolName, outcome: credentials });
    let deployments: Deployment[];
    try {
      deployments = await prefect.readWorkPoolDeployments(poolName);
    } catch (error) {
      results.push(
        fail(
          `Deployments of '${poolName}'`,
          describeFailure(error),
          'Check that the Prefect API is reachable and the credential may read deployments.'
        )
      );
      continue;
    }
    const subjects: (Deployment | null)[] = deployments.length > 0 ? deployments : [null];
    const verdicts = await mapWithConcurrency(subjects, RENDER_CONCURRENCY, async (deployment) => {
      let flow: Flow;
      try {
        flow = deployment === null ? placeholderFlow() : await readFlow(deployment.flow_id);
      } catch (error) {
        const subject: TemplateSubject = { pool: poolName, deployment, flow: null };
        return { subject, result: decideTemplate(subject, { ok: false, error }, undefined) };
      }
      const subject: TemplateSubject = { pool: poolName, deployment, flow };
      const render = await renderDeployment({ workPool, deployment, flow }, settings, lookups);
      const needs = render.ok ? launchNeedsOf(render.configuration, render.requests) : undefined;
      const configuration = render.ok ? render.configuration : undefined;
      return { subject, result: decideTemplate(subject, render, needs), needs, configuration };
    });
    for (const { subject, result, needs, configuration } of verdicts) {
      results.push(result);
      if (result.ok && needs && configuration) {
        // Rendering read aws_credentials already (a bad block fails the template): no throw here.
        const aws = awsTargetOf(configuration, config.awsRegion);
        rendered.push({ label: deploymentLabel(subject), needs, aws });
      }
    }
  }
  return { rendered, pools };
};

/** The clients, account and region a group of launches is checked with. */
interface ResourceScope {
  aws: DoctorAwsApi;
  region: string;
  account: string;
  /** Suffix of the checks' names (`account …, region …`); undefined for the functions' own scope. */
  where: string | undefined;
  /** Signs with the pool's credentials (assumed or static keys), not this shell's. */
  ownCredentials: boolean;
}

const suffixed = (result: CheckResult, where: string | undefined): CheckResult =>
  where === undefined ? result : { ...result, name: `${result.name} (${where})` };

/** The clusters and networks the launches of one scope use, with their users. */
interface ScopeResources {
  clusters: Map<string, { usedBy: string[] }>;
  networks: Map<string, { need: NetworkNeed; usedBy: string[] }>;
}

const resourcesOf = (subjects: readonly RenderedSubject[]): ScopeResources => {
  const clusters = new Map<string, { usedBy: string[] }>();
  const networks = new Map<string, { need: NetworkNeed; usedBy: string[] }>();
  for (const { label, needs } of subjects) {
    addUser(
      usersOf(clusters, needs.cluster, () => ({ usedBy: [] })),
      label
    );
    const network = needs.network;
    if (network) {
      addUser(
        usersOf(networks, networkKey(network), () => ({ need: network, usedBy: [] })),
        label
      );
    }
  }
  return { clusters, networks };
};

const checkClusters = async (
  scope: ResourceScope,
  clusters: ScopeResources['clusters'],
  results: CheckResult[]
): Promise<void> => {
  const account = scope.ownCredentials ? scope.account : undefined;
  for (const [cluster, { usedBy }] of clusters) {
    const outcome = await probeCluster(scope.aws, cluster);
    results.push(
      suffixed(decideCluster(cluster, scope.region, usedBy, outcome, account), scope.where)
    );
  }
};

const checkNetworks = async (
  scope: ResourceScope,
  networks: ScopeResources['networks'],
  results: CheckResult[]
): Promise<void> => {
  const cache: NetworkCache = new Map();
  for (const { need, usedBy } of networks.values()) {
    const subnets = await probeSubnets(scope.aws.ec2, need, cache);
    results.push(suffixed(decideSubnets(need, usedBy, subnets), scope.where));
    // A pool's role need not read security groups (the launcher never does): not asked with it.
    if (!scope.ownCredentials && need.kind === 'custom' && need.securityGroups.length > 0) {
      const outcome = await probeSecurityGroups(scope.aws, need.securityGroups);
      results.push(suffixed(decideSecurityGroups(need.vpcId, usedBy, outcome), scope.where));
    }
  }
};

/**
 * The execution and task roles of launches that use this shell's account (IAM is global); a pool's
 * assumed role need not read IAM, so roles of other accounts are not checked.
 */
const checkRoles = async (
  aws: DoctorAwsApi,
  account: string,
  subjects: readonly RenderedSubject[],
  results: CheckResult[]
): Promise<void> => {
  const roles = new Map<string, { kind: RoleKind; arn: string; usedBy: string[] }>();
  for (const { label, needs } of subjects) {
    for (const [kind, arns] of [
      ['execution', needs.executionRoleArns],
      ['task', needs.taskRoleArns],
    ] as const) {
      for (const arn of arns) {
        addUser(
          usersOf(roles, `${kind} ${arn}`, () => ({ kind, arn, usedBy: [] })),
          label
        );
      }
    }
  }
  for (const { kind, arn, usedBy } of roles.values()) {
    results.push(decideRole(kind, arn, account, usedBy, await probeRole(aws, arn, account)));
  }
};

/**
 * The AWS checks once this shell's identity is known: each `aws_credentials` scope the pools and
 * deployments use (the stack may assume its role; AssumeRole and GetCallerIdentity work), then the
 * clusters, roles and networks of the rendered launches, each in its scope.
 */
const checkAws = async (
  config: Config,
  deps: DoctorDeps,
  aws: DoctorAwsApi,
  caller: CallerIdentity,
  findings: PrefectFindings,
  templatesChecked: boolean,
  results: CheckResult[]
): Promise<void> => {
  const homeRegion = config.awsRegion;
  const built: { destroy?(): void }[] = [];
  const scopes = createAwsScopes<DoctorAwsApi>({
    homeRegion,
    homeCredentials: () => aws.credentials(),
    // The allow-list is a check of its own below: AssumeRole is tried whatever it says.
    allowedRoleArns: undefined,
    assumeRole: deps.assumeRole ?? createAssumeRole({ region: homeRegion, env: deps.env }),
    home: aws,
    build: (scope) => {
      const scoped = deps.createScopedAws(scope);
      built.push(scoped);
      return scoped;
    },
  });
  try {
    // Every scope other than the functions' own, with what uses it.
    const uses = new Map<string, ScopeUse>();
    const use = (target: Pick<RunAwsTarget, 'settings' | 'region'>, label: string) => {
      if (isHomeScope(target.settings, target.region, homeRegion)) return;
      const key = scopeKeyOf(target.settings, target.region);
      addUser(
        usersOf(uses, key, () => ({
          settings: target.settings,
          region: target.region,
          usedBy: [],
        })),
        label
      );
    };
    for (const { pool, outcome } of findings.pools) {
      if (!outcome.ok || outcome.settings === null) continue;
      use(
        { settings: outcome.settings, region: outcome.settings.region ?? homeRegion },
        `pool '${pool}' (its default)`
      );
    }
    for (const subject of findings.rendered) use(subject.aws, subject.label);

    const allowed = config.assumeRoleArns;
    if (allowed !== undefined) {
      const roles = new Map<string, { usedBy: string[] }>();
      for (const { settings, usedBy } of uses.values()) {
        const arn = settings?.assumeRole?.RoleArn;
        if (arn === undefined) continue;
        const users = usersOf(roles, arn, () => ({ usedBy: [] }));
        for (const label of usedBy) addUser(users, label);
      }
      for (const [arn, { usedBy }] of roles) results.push(decideRoleAllowed(arn, allowed, usedBy));
    }

    const reached = new Map<string, ResourceScope | string>();
    for (const [key, { settings, region, usedBy }] of uses) {
      if (settings === null || !hasOwnCredentials(settings)) {
        reached.set(key, {
          aws: await scopes.get(settings, region),
          region,
          account: caller.account,
          where: scopeWhere(settings, region, undefined),
          ownCredentials: false,
        });
        continue;
      }
      const outcome = await probeScopeAccess(scopes, settings, region);
      results.push(decideScopeAccess(settings, region, usedBy, caller, outcome));
      reached.set(
        key,
        outcome.ok
          ? {
              aws: outcome.aws,
              region,
              account: outcome.identity.account,
              where: scopeWhere(settings, region, outcome.identity.account),
              ownCredentials: true,
            }
          : `${scopeAccessCheckName(settings, region)} failed`
      );
    }

    if (findings.rendered.length === 0) {
      results.push(
        skip(
          'ECS clusters, roles and network',
          templatesChecked
            ? 'no template rendered, so what the launches use is not known'
            : 'the work pools could not be read'
        )
      );
      return;
    }
    const home: RenderedSubject[] = [];
    const others = new Map<string, RenderedSubject[]>();
    for (const subject of findings.rendered) {
      const { settings, region } = subject.aws;
      if (isHomeScope(settings, region, homeRegion)) home.push(subject);
      else {
        const key = scopeKeyOf(settings, region);
        others.set(key, [...(others.get(key) ?? []), subject]);
      }
    }
    const homeScope: ResourceScope = {
      aws,
      region: homeRegion,
      account: caller.account,
      where: undefined,
      ownCredentials: false,
    };
    // The functions' own scope: clusters, every role of this account's launches, networks.
    const homeResources = resourcesOf(home);
    await checkClusters(homeScope, homeResources.clusters, results);
    const inThisAccount = findings.rendered.filter(
      (subject) => !hasOwnCredentials(subject.aws.settings)
    );
    await checkRoles(aws, caller.account, inThisAccount, results);
    await checkNetworks(homeScope, homeResources.networks, results);
    for (const [key, subjects] of others) {
      const scope = reached.get(key);
      if (typeof scope === 'string' || scope === undefined) {
        const first = subjects[0]?.aws;
        const where = first ? scopeWhere(first.settings, first.region, first.account) : key;
        results.push(skip(`ECS clusters and network (${where})`, scope ?? 'not reached'));
        continue;
      }
      const resources = resourcesOf(subjects);
      await checkClusters(scope, resources.clusters, results);
      await checkNetworks(scope, resources.networks, results);
    }
  } finally {
    for (const scoped of built) scoped.destroy?.();
  }
};

/**
 * Runs the checks against the configuration in `deps.env`.
 *
 * @example
 * const report = await runDoctor(defaultDoctorDeps(process.env));
 * process.exitCode = report.ok ? 0 : 1;
 */
export const runDoctor = async (deps: DoctorDeps): Promise<DoctorReport> => {
  const results: CheckResult[] = [];
  const parsed = parseDoctorConfig(deps.env);
  results.push(decideConfig(parsed));
  if (!parsed.ok) {
    results.push(skip('Prefect and AWS checks', 'the configuration is not valid'));
    return { ok: false, checks: results };
  }
  const { config } = parsed;
  const aws = deps.createAws(config.awsRegion);
  try {
    const secrets = await readCredentialSecrets(config, aws.secrets);
    results.push(...decideSecrets(secrets));

    // /health needs no credential: it is checked even when the credential could not be read.
    const credentials = prefectCredentialsOf(config, secrets);
    const prefect = deps.createPrefect({
      apiUrl: config.prefectApiUrl,
      ...(credentials.ok ? credentials.credentials : {}),
      ...DOCTOR_PREFECT_LIMITS,
      headers: config.prefectCustomHeaders,
    });
    const findings = await checkPrefect(
      config,
      prefect,
      credentials.ok ? undefined : credentials.reason,
      results
    );

    const identity = await probeIdentity(aws);
    results.push(decideIdentity(config.awsRegion, identity));
    const templatesChecked = results.some((result) => result.name.startsWith('Template of'));
    if (!identity.ok) {
      results.push(
        skip(
          'ECS clusters, roles, network and aws_credentials roles',
          'the AWS credentials did not work'
        )
      );
    } else {
      await checkAws(config, deps, aws, identity.identity, findings, templatesChecked, results);
    }
  } finally {
    aws.destroy?.();
  }
  return { ok: allPassed(results), checks: results };
};
