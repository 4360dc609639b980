/**
 * Runs every doctor check in order and returns the checklist. The checks are in their own files,
 * each a pure verdict over what one probe read; this file only sequences them, passes each what the
 * earlier ones found (the credential read from Secrets Manager, the rendered launches), and marks a
 * check `skipped` when one it depends on failed.
 *
 * Order: configuration → credential secrets → Prefect reachable → authenticated → each pool → its
 * template for each deployment → AWS identity → each cluster, role and network the rendered launches
 * use.
 */
import type { Config } from '../config.ts';
import type { NetworkCache } from '../ecs/network-configuration.ts';
import { createTemplateLookups } from '../jobs/create-template-lookups.ts';
import type { RenderSettings } from '../launch/render-launch-requests.ts';
import { mapWithConcurrency } from '../poll/map-with-concurrency.ts';
import type { PrefectClient } from '../prefect/client.ts';
import type { PrefectClientOptions } from '../prefect/client-options.ts';
import type { Deployment, Flow } from '../prefect/schemas.ts';
import type { PrefectCredentials } from '../secrets/prefect-credentials.ts';
import { decideIdentity, probeIdentity } from './check-aws-identity.ts';
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
import type { DoctorAwsApi } from './doctor-aws.ts';
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
  createAws(region: string): DoctorAwsApi & { destroy?(): void };
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
): Promise<RenderedSubject[]> => {
  const reachable = decidePrefectReachable(config.prefectApiUrl, await probeHealth(prefect));
  results.push(reachable);
  const poolNames = config.workPools;
  const skipRest = (reason: string) => {
    for (const pool of poolNames) results.push(skip(workPoolCheckName(pool), reason));
  };
  if (!reachable.ok) {
    results.push(skip(PREFECT_AUTH_CHECK_NAME, 'Prefect is not reachable'));
    skipRest('Prefect is not reachable');
    return [];
  }
  if (credentialProblem !== undefined) {
    results.push(skip(PREFECT_AUTH_CHECK_NAME, credentialProblem));
    skipRest(credentialProblem);
    return [];
  }
  const auth = decidePrefectAuth(config.prefectCredentials, await probeAuthenticatedRead(prefect));
  results.push(auth);
  if (!auth.ok) {
    skipRest('Prefect did not accept the credential');
    return [];
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
  for (const poolName of poolNames) {
    const outcome = await readPool(prefect, poolName);
    const verdict = decideWorkPool(poolName, outcome);
    results.push(verdict);
    if (!verdict.ok || !outcome.ok) continue;
    const workPool = outcome.pool;
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
      return { subject, result: decideTemplate(subject, render, needs), needs };
    });
    for (const { subject, result, needs } of verdicts) {
      results.push(result);
      if (result.ok && needs) rendered.push({ label: deploymentLabel(subject), needs });
    }
  }
  return rendered;
};

/** The AWS resource checks for what the rendered launches use. */
const checkAwsResources = async (
  config: Config,
  aws: DoctorAwsApi,
  account: string,
  rendered: readonly RenderedSubject[],
  results: CheckResult[]
): Promise<void> => {
  const clusters = new Map<string, { usedBy: string[] }>();
  const roles = new Map<string, { kind: RoleKind; arn: string; usedBy: string[] }>();
  const networks = new Map<string, { need: NetworkNeed; usedBy: string[] }>();
  for (const { label, needs } of rendered) {
    addUser(
      usersOf(clusters, needs.cluster, () => ({ usedBy: [] })),
      label
    );
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
    const network = needs.network;
    if (network) {
      addUser(
        usersOf(networks, networkKey(network), () => ({ need: network, usedBy: [] })),
        label
      );
    }
  }
  for (const [cluster, { usedBy }] of clusters) {
    results.push(
      decideCluster(cluster, config.awsRegion, usedBy, await probeCluster(aws, cluster))
    );
  }
  for (const { kind, arn, usedBy } of roles.values()) {
    results.push(decideRole(kind, arn, account, usedBy, await probeRole(aws, arn, account)));
  }
  const cache: NetworkCache = new Map();
  for (const { need, usedBy } of networks.values()) {
    results.push(decideSubnets(need, usedBy, await probeSubnets(aws.ec2, need, cache)));
    if (need.kind === 'custom' && need.securityGroups.length > 0) {
      const outcome = await probeSecurityGroups(aws, need.securityGroups);
      results.push(decideSecurityGroups(need.vpcId, usedBy, outcome));
    }
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
    const rendered = await checkPrefect(
      config,
      prefect,
      credentials.ok ? undefined : credentials.reason,
      results
    );

    const identity = await probeIdentity(aws);
    results.push(decideIdentity(config.awsRegion, identity));
    const templatesChecked = results.some((result) => result.name.startsWith('Template of'));
    if (!identity.ok) {
      results.push(skip('ECS clusters, roles and network', 'the AWS credentials did not work'));
    } else if (rendered.length === 0) {
      results.push(
        skip(
          'ECS clusters, roles and network',
          templatesChecked
            ? 'no template rendered, so what the launches use is not known'
            : 'the work pools could not be read'
        )
      );
    } else {
      await checkAwsResources(config, aws, identity.identity.account, rendered, results);
    }
  } finally {
    aws.destroy?.();
  }
  return { ok: allPassed(results), checks: results };
};
