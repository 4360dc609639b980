/**
 * IAM proven by simulation: every AWS request the four functions really make (recorded by the
 * stand-ins while the scenarios of iam-scenarios.ts run through the handlers, each function signing
 * with its own key) is mapped to the authorizations AWS performs for it (iam-authorizations.ts) and
 * evaluated with @cloud-copilot/iam-simulate against the calling function's own role, read from the
 * packaged template with intrinsics resolved (iam-role-policies.ts). Each must be allowed; a table
 * of requests no function should be able to make must be denied.
 *
 * @cloud-copilot/iam-simulate is AGPL-3.0: a devDependency used here only; the last test checks
 * that no bundle contains it.
 */
import { join } from 'node:path';
import { runSimulation } from '@cloud-copilot/iam-simulate';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type Authorization,
  authorizationsOf,
  platformAuthorizationsOf,
} from './iam-authorizations.ts';
import { type PolicyDocument, rolePolicies } from './iam-role-policies.ts';
import {
  ACCOUNT,
  deployedFunction,
  deployTargetOf,
  FUNCTION_NAMES,
  type FunctionName,
  type IamWorld,
  REGION,
  type RecordedScenarios,
  runScenarios,
  startIamWorld,
} from './iam-scenarios.ts';
import { type PackagedService, packageService } from './osls-package.ts';
import { readZip } from './read-zip.ts';

const ROLES: Readonly<Record<FunctionName, string>> = {
  poller: 'PollerRole',
  launcher: 'LauncherRole',
  reporter: 'ReporterRole',
  webhook: 'WebhookRole',
};

const NAMED = {
  clusterA: 'prefect-a',
  clusterB: `arn:aws:ecs:${REGION}:${ACCOUNT}:cluster/prefect-b`,
  executionRole: `arn:aws:iam::${ACCOUNT}:role/prefect-execution`,
  taskRole: `arn:aws:iam::${ACCOUNT}:role/prefect-flow-task`,
};

type Policies = { name: string; policy: PolicyDocument }[];

/**
 * Actions a role allows that the scenarios here do not reach, each with where it is exercised. Any
 * other allowed action the scenarios never need fails the coverage test: remove it from the role,
 * or add the scenario.
 */
const NOT_EXERCISED: Readonly<Record<FunctionName, Readonly<Record<string, string>>>> = {
  poller: {},
  launcher: {
    'ecs:DescribeTasks':
      'RunTask answered ConflictException for the clientToken of an attempt another launcher started: test/integration/attempts.test.ts',
    'ecs:ListTasks': "the same path (finding that attempt's live task): attempts.test.ts",
  },
  reporter: {},
  webhook: {},
};

/** Identity policies only: no boundary, SCP or resource policy applies to these roles. */
const simulate = async (
  role: string,
  policies: Policies,
  authorization: Authorization
): Promise<{ result: string; ignored: string[] }> => {
  const outcome = await runSimulation(
    {
      request: {
        principal: `arn:aws:sts::${ACCOUNT}:assumed-role/${role}/session`,
        action: authorization.action,
        resource: { resource: authorization.resource, accountId: ACCOUNT },
        contextVariables: authorization.context,
      },
      identityPolicies: policies,
      serviceControlPolicies: [],
      resourceControlPolicies: [],
    },
    {}
  );
  if (outcome.resultType === 'error') {
    throw new Error(`Simulation refused: ${JSON.stringify(outcome.errors)}`);
  }
  return {
    result: outcome.overallResult,
    ignored: outcome.resultType === 'single' ? (outcome.result.ignoredContextKeys ?? []) : [],
  };
};

interface Variant {
  name: string;
  params: (world: IamWorld) => Record<string, string>;
  cluster: string;
  taskRoleArn?: string;
  /** Clusters, roles and secrets of the account that the stack must not reach. */
  foreign: { cluster: string; role: string; secret: string };
}

const VARIANTS: Variant[] = [
  {
    name: 'default parameters',
    params: () => ({}),
    cluster: 'default',
    foreign: {
      cluster: `arn:aws:ecs:${REGION}:${ACCOUNT}:cluster/other-workload`,
      role: `arn:aws:iam::${ACCOUNT}:role/admin`,
      secret: `arn:aws:secretsmanager:${REGION}:${ACCOUNT}:secret:database-password-XyZ123`,
    },
  },
  {
    name: 'secrets the stack creates in Secrets Manager',
    params: () => ({ secretStore: 'secretsmanager' }),
    cluster: 'default',
    foreign: {
      cluster: `arn:aws:ecs:${REGION}:${ACCOUNT}:cluster/other-workload`,
      role: `arn:aws:iam::${ACCOUNT}:role/admin`,
      secret: `arn:aws:secretsmanager:${REGION}:${ACCOUNT}:secret:database-password-XyZ123`,
    },
  },
  {
    name: 'functions in a VPC (network interfaces managed with their roles)',
    params: () => ({
      vpcSubnetIds: 'subnet-0123456789abcdef0,subnet-89abcdef',
      vpcSecurityGroupIds: 'sg-0123456789abcdef0',
    }),
    cluster: 'default',
    foreign: {
      cluster: `arn:aws:ecs:${REGION}:${ACCOUNT}:cluster/other-workload`,
      role: `arn:aws:iam::${ACCOUNT}:role/admin`,
      secret: `arn:aws:secretsmanager:${REGION}:${ACCOUNT}:secret:database-password-XyZ123`,
    },
  },
  {
    name: 'named clusters, roles and secrets',
    params: (world) => ({
      prefectApiUrl: 'https://prefect.example.com/api',
      workPools: 'ecs-named',
      ecsClusters: `${NAMED.clusterA},${NAMED.clusterB}`,
      ecsExecutionRoleArn: NAMED.executionRole,
      ecsTaskRoleArns: NAMED.taskRole,
      prefectApiSecretArn: world.prefectSecretArn,
      webhookSecretArn: world.webhookSecretArn,
    }),
    cluster: NAMED.clusterB,
    taskRoleArn: NAMED.taskRole,
    foreign: {
      cluster: `arn:aws:ecs:${REGION}:${ACCOUNT}:cluster/default`,
      role: `arn:aws:iam::${ACCOUNT}:role/FlowRunExecutionRole`,
      secret: `arn:aws:secretsmanager:${REGION}:${ACCOUNT}:secret:PrefectApiSecret-AbCdEf`,
    },
  },
];

describe.each(VARIANTS)('IAM simulation, $name', (variant) => {
  let world: IamWorld;
  let packaged: PackagedService;
  let recorded: RecordedScenarios;
  const policiesOf = {} as Record<FunctionName, Policies>;

  beforeAll(async () => {
    // Prepare: the stand-ins (their secrets may be parameters), the packaged stack, the scenarios
    world = await startIamWorld();
    packaged = await packageService({ params: variant.params(world) });
    for (const name of FUNCTION_NAMES) {
      policiesOf[name] = rolePolicies(packaged.template, ROLES[name], deployTargetOf(world));
    }
    recorded = await runScenarios(packaged.template, world, {
      cluster: variant.cluster,
      ...(variant.taskRoleArn ? { taskRoleArn: variant.taskRoleArn } : {}),
    });
  }, 240_000);

  afterAll(async () => {
    await packaged?.dispose();
    await world?.close();
  });

  /** The function's recorded requests, and what Lambda does with its role, as IAM checks them. */
  const authorizationsBy = (name: FunctionName): Authorization[] => {
    const { functionName, onFailure, vpc } = deployedFunction(packaged.template, name, world);
    return [
      ...recorded.byFunction[name].flatMap((request) =>
        authorizationsOf(request, recorded.lookups)
      ),
      ...platformAuthorizationsOf(functionName, onFailure, recorded.lookups, vpc),
    ];
  };

  it('ran every scenario: each run meant to start got its task, each role passed to ECS', () => {
    // Assess
    expect(recorded.unlaunched).toEqual([]);
    const passed = authorizationsBy('launcher')
      .filter((item) => item.action === 'iam:PassRole')
      .map((item) => item.resource);
    if (variant.taskRoleArn) expect(passed).toContain(variant.taskRoleArn);
    expect(passed.length).toBeGreaterThan(0);
  });

  it.each(FUNCTION_NAMES)('allows every request the %s made, to its own role', async (name) => {
    // Act
    const authorizations = authorizationsBy(name);
    const denied: string[] = [];
    for (const authorization of authorizations) {
      const { result, ignored } = await simulate(ROLES[name], policiesOf[name], authorization);
      if (result !== 'Allowed' || ignored.length > 0) {
        denied.push(`${result} ${JSON.stringify(authorization)} ignored=${ignored.join(',')}`);
      }
    }
    // Assess
    expect(authorizations.length).toBeGreaterThan(0);
    expect(denied).toEqual([]);
  });

  it('exercises every action the roles grant, but the few listed with a reason', () => {
    // Act: the actions the recorded requests needed, against those the role allows
    const granted = (name: FunctionName) =>
      new Set(
        policiesOf[name]
          .flatMap(({ policy }) => policy.Statement)
          .filter((statement) => statement.Effect === 'Allow')
          .flatMap((statement) => [statement.Action].flat() as string[])
      );
    const gaps = Object.fromEntries(
      FUNCTION_NAMES.map((name) => {
        const used = new Set(authorizationsBy(name).map((item) => item.action));
        return [name, [...granted(name)].filter((action) => !used.has(action)).sort()];
      })
    );
    const unused = Object.fromEntries(
      FUNCTION_NAMES.map((name) => [name, Object.keys(NOT_EXERCISED[name]).sort()])
    );
    // Assess
    expect(gaps).toEqual(unused);
  });

  /** Requests each role must refuse, built from what the functions really asked. */
  const mustDeny = (): { why: string; name: FunctionName; authorization: Authorization }[] => {
    const first = (name: FunctionName, action: string): Authorization => {
      const found = authorizationsBy(name).find((item) => item.action === action);
      if (!found) throw new Error(`The ${name} made no ${action} request to build on`);
      return found;
    };
    const runTask = first('launcher', 'ecs:RunTask');
    const passRole = first('launcher', 'iam:PassRole');
    const stopTask = first('poller', 'ecs:StopTask');
    const tagOnRun = first('launcher', 'ecs:TagResource');
    const readSecret = authorizationsBy('webhook').find(
      (item) =>
        item.action === 'ssm:GetParameter' || item.action === 'secretsmanager:GetSecretValue'
    );
    if (!readSecret) throw new Error('The webhook read no secret to build on');
    const foreignSecret =
      readSecret.action === 'ssm:GetParameter'
        ? `arn:aws:ssm:${REGION}:${ACCOUNT}:parameter/other-app/database-password`
        : variant.foreign.secret;
    const sendLaunch = first('webhook', 'sqs:SendMessage');
    const withCluster = (item: Authorization, cluster: string): Authorization => ({
      ...item,
      context: { ...item.context, 'ecs:cluster': cluster },
    });
    const untagged: Authorization = {
      ...stopTask,
      resource: stopTask.resource.replace(/[^/]+$/, 'f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0'),
      context: {
        'ecs:cluster': stopTask.context['ecs:cluster'] as string,
        'aws:ResourceTag/app': 'billing',
      },
    };
    const foreign = variant.foreign;
    return [
      {
        why: 'RunTask on another cluster',
        name: 'launcher',
        authorization: withCluster(runTask, foreign.cluster),
      },
      {
        why: 'StopTask on another cluster',
        name: 'poller',
        authorization: withCluster(stopTask, foreign.cluster),
      },
      {
        why: 'ListTasks on another cluster',
        name: 'poller',
        authorization: withCluster(first('poller', 'ecs:ListTasks'), foreign.cluster),
      },
      {
        why: 'PassRole of another role',
        name: 'launcher',
        authorization: { ...passRole, resource: foreign.role },
      },
      {
        why: 'PassRole to another service',
        name: 'launcher',
        authorization: { ...passRole, context: { 'iam:PassedToService': 'lambda.amazonaws.com' } },
      },
      {
        why: 'another secret',
        name: 'webhook',
        authorization: { ...readSecret, resource: foreignSecret },
      },
      {
        why: 'another secret (launcher)',
        name: 'launcher',
        authorization: { ...readSecret, resource: foreignSecret },
      },
      {
        why: 'another queue',
        name: 'webhook',
        authorization: {
          ...sendLaunch,
          resource: `arn:aws:sqs:${REGION}:${ACCOUNT}:someone-elses-queue`,
        },
      },
      {
        why: 'the webhook sends no tick',
        name: 'webhook',
        authorization: {
          ...sendLaunch,
          resource: sendLaunch.resource.replace('LaunchQueue', 'TickQueue'),
        },
      },
      { why: 'the reporter never runs a task', name: 'reporter', authorization: runTask },
      { why: 'the webhook never stops a task', name: 'webhook', authorization: stopTask },
      {
        why: 'the poller never registers a task definition',
        name: 'poller',
        authorization: { action: 'ecs:RegisterTaskDefinition', resource: '*', context: {} },
      },
      { why: 'the poller never passes a role', name: 'poller', authorization: passRole },
      {
        why: 'TagResource outside a create action',
        name: 'launcher',
        authorization: {
          ...tagOnRun,
          context: { ...tagOnRun.context, 'ecs:CreateAction': 'TagResource' },
        },
      },
      {
        why: 'TagResource with no create action',
        name: 'launcher',
        authorization: Object.fromEntries(
          Object.entries(tagOnRun).map(([key, value]) =>
            key === 'context'
              ? [
                  key,
                  Object.fromEntries(
                    Object.entries(value as object).filter(([k]) => k !== 'ecs:CreateAction')
                  ),
                ]
              : [key, value]
          )
        ) as unknown as Authorization,
      },
      ...(['poller', 'launcher', 'reporter'] as const).map((name) => ({
        why: `StopTask of a task without our tags (${name})`,
        name,
        authorization: untagged,
      })),
    ];
  };

  it('denies every request of the must-deny table', async () => {
    // Act
    const allowed: string[] = [];
    const table = mustDeny();
    for (const { why, name, authorization } of table) {
      const { result } = await simulate(ROLES[name], policiesOf[name], authorization);
      if (result === 'Allowed') allowed.push(`${why}: ${JSON.stringify(authorization)}`);
    }
    // Assess
    expect(table.length).toBeGreaterThanOrEqual(17);
    expect(allowed).toEqual([]);
  });

  it('denies StopTask of an untagged task because of the tag condition, not something else', async () => {
    // Arrange: the poller's role as packaged, and the same role without the tag condition
    const stopTask = authorizationsBy('poller').find((item) => item.action === 'ecs:StopTask');
    if (!stopTask) throw new Error('The poller stopped no task');
    const untagged: Authorization = {
      ...stopTask,
      context: { 'ecs:cluster': stopTask.context['ecs:cluster'] as string },
    };
    const withoutTagCondition: Policies = policiesOf.poller.map(({ name, policy }) => ({
      name,
      policy: {
        ...policy,
        Statement: policy.Statement.map((statement) => {
          const { Null: _tagCondition, ...condition } = (statement.Condition ?? {}) as Record<
            string,
            unknown
          >;
          return statement.Condition === undefined
            ? statement
            : { ...statement, Condition: condition };
        }),
      },
    }));
    // Act
    const asPackaged = await simulate(ROLES.poller, policiesOf.poller, untagged);
    const loosened = await simulate(ROLES.poller, withoutTagCondition, untagged);
    // Assess
    expect(asPackaged.result).not.toBe('Allowed');
    expect(loosened.result).toBe('Allowed');
  });

  it('ships no @cloud-copilot code in any bundle (AGPL-3.0, dev only)', async () => {
    // Prepare: string literals of @cloud-copilot/iam-simulate and iam-policy that minification keeps
    // (the source maps list our own code only, infra/esbuild-plugins.cjs, so package paths are gone)
    const markers = [
      'wildcardOnlyActionSpecificResource',
      'unresolvablePolicyVariable',
      'Condition operator is invalid',
    ];
    // Act
    const found: string[] = [];
    let seesBundledPackages = true;
    for (const name of FUNCTION_NAMES) {
      const files = await readZip(join(packaged.outDir, `${name}.zip`));
      for (const [path, content] of files) {
        const marker = markers.find((text) => content.includes(text));
        if (path.includes('@cloud-copilot') || marker !== undefined) {
          found.push(`${name}: ${path} (${marker ?? 'path'})`);
        }
      }
      // The scan would see a bundled package by such a literal: the AWS SDK's user agent
      seesBundledPackages &&= [...files.values()].some((content) => content.includes('aws-sdk-js'));
    }
    // Assess
    expect(seesBundledPackages).toBe(true);
    expect(found).toEqual([]);
  });
});
