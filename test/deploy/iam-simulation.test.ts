/**
 * IAM proven by simulation: every AWS request the four functions really make (recorded by the
 * stand-ins while the scenarios of iam-scenarios.ts run through the handlers, each function signing
 * with its own key) is mapped to the authorizations AWS performs for it (iam-authorizations.ts) and
 * evaluated with @cloud-copilot/iam-simulate against the calling function's own role, read from the
 * packaged template with intrinsics resolved (iam-role-policies.ts). Each must be allowed; a table
 * of requests no function should be able to make must be denied.
 *
 * Pools in other accounts (docs/deploy.md): the role of infra/member-account/functions-role.yml,
 * given the stack's clusters, roles and log group, must allow every ECS, EC2 and CloudWatch Logs
 * request the poller, launcher and reporter made, and refuse the same must-deny requests. A stack
 * with `assumeRoleArns` lets those three assume exactly the listed roles (through the member trust
 * policy, which names them), and its event bus policy lets the listed accounts' forwarding rules
 * (infra/member-account/forward-task-events.yml) put ECS task state changes, and nothing else; a
 * stack without it may assume no role at all.
 *
 * @cloud-copilot/iam-simulate is AGPL-3.0: a devDependency used here only; the last test checks
 * that no bundle contains it.
 */
import { join } from 'node:path';
import { runSimulation } from '@cloud-copilot/iam-simulate';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resourceOf } from './cfn-template.ts';
import {
  type Authorization,
  authorizationsOf,
  platformAuthorizationsOf,
} from './iam-authorizations.ts';
import { type PolicyDocument, resolveIntrinsics, rolePolicies } from './iam-role-policies.ts';
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
import {
  FORWARD_TASK_EVENTS,
  FUNCTIONS_ROLE,
  loadMemberTemplate,
  resolveMemberTemplate,
} from './member-templates.ts';
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

/** Who asks, with which identity policies, and the resource's own policy if it has one. */
interface Caller {
  principal: string;
  policies: Policies;
  /** The account of the resource (default: the stack's). */
  resourceAccount?: string;
  /** A resource-based policy: a role's trust policy, an event bus policy. */
  resourcePolicy?: PolicyDocument;
}

/** No boundary, SCP or session policy applies to these roles. */
const simulateAs = async (
  caller: Caller,
  authorization: Authorization
): Promise<{ result: string; ignored: string[] }> => {
  const outcome = await runSimulation(
    {
      request: {
        principal: caller.principal,
        action: authorization.action,
        resource: {
          resource: authorization.resource,
          accountId: caller.resourceAccount ?? ACCOUNT,
        },
        contextVariables: authorization.context,
      },
      identityPolicies: caller.policies,
      serviceControlPolicies: [],
      resourceControlPolicies: [],
      ...(caller.resourcePolicy ? { resourcePolicy: caller.resourcePolicy } : {}),
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

/** A role of this stack, with its identity policies only. */
const simulate = (role: string, policies: Policies, authorization: Authorization) =>
  simulateAs(
    { principal: `arn:aws:sts::${ACCOUNT}:assumed-role/${role}/session`, policies },
    authorization
  );

/** A member account of the tests (the pools' tasks run there). */
const MEMBER = '210987654321';
/** The role infra/member-account/functions-role.yml creates (its default RoleName). */
const MEMBER_ROLE_NAME = 'prefect-ecs-serverless-pools';

/** The central role ARNs the member trust policy names (the stack's FunctionRoleArns output). */
const centralRoleArns = (names: readonly FunctionName[]) =>
  names.map((name) => `arn:aws:iam::${ACCOUNT}:role/${ROLES[name]}`).join(',');

/** The identity policies of the member functions role, deployed in `account` with `params`. */
const memberRolePolicies = (account: string, params: Record<string, string>): Policies => {
  const deployed = resolveMemberTemplate(loadMemberTemplate(FUNCTIONS_ROLE), params, {
    accountId: account,
    region: REGION,
    partition: 'aws',
  });
  const policies = resourceOf(deployed, 'FunctionsRole').Properties?.Policies as {
    PolicyName: string;
    PolicyDocument: PolicyDocument;
  }[];
  return policies.map((policy) => ({ name: policy.PolicyName, policy: policy.PolicyDocument }));
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

  it('grants no STS action at all: the stack was given no assumeRoleArns', async () => {
    // Act
    const granted = FUNCTION_NAMES.flatMap((name) =>
      policiesOf[name]
        .flatMap(({ policy }) => policy.Statement)
        .flatMap((statement) => [statement.Action].flat() as string[])
    );
    const assuming: string[] = [];
    for (const name of FUNCTION_NAMES) {
      const { result } = await simulate(ROLES[name], policiesOf[name], {
        action: 'sts:AssumeRole',
        resource: `arn:aws:iam::${ACCOUNT}:role/${MEMBER_ROLE_NAME}`,
        context: {},
      });
      if (result === 'Allowed') assuming.push(name);
    }
    // Assess
    expect(granted.filter((action) => action.startsWith('sts:'))).toEqual([]);
    expect(assuming).toEqual([]);
  });

  /**
   * The member functions role (infra/member-account/functions-role.yml), deployed in this account
   * with this variant's clusters (by name), the roles the launcher may pass, and the log group.
   */
  const memberPolicies = (): Policies => {
    const clusters = (variant.params(world).ecsClusters ?? 'default')
      .split(',')
      .map((cluster) => cluster.split('/').pop() ?? cluster);
    const passRole = policiesOf.launcher
      .flatMap(({ policy }) => policy.Statement)
      .find((statement) => [statement.Action].flat().includes('iam:PassRole'));
    return memberRolePolicies(ACCOUNT, {
      TrustedRoleArns: centralRoleArns(['poller', 'launcher', 'reporter']),
      PassRoleArns: ([passRole?.Resource].flat() as string[]).join(','),
      EcsClusters: clusters.join(','),
    });
  };
  const MEMBER_PRINCIPAL = `arn:aws:sts::${ACCOUNT}:assumed-role/${MEMBER_ROLE_NAME}/prefect-session-0a1b2c3d`;

  /** What the poller, launcher and reporter asked of ECS, EC2, CloudWatch Logs and IAM. */
  const memberAuthorizations = (): Authorization[] =>
    (['poller', 'launcher', 'reporter'] as const)
      .flatMap((name) =>
        recorded.byFunction[name].flatMap((request) => authorizationsOf(request, recorded.lookups))
      )
      .filter((item) => /^(ecs|ec2|logs|iam):/.test(item.action));

  it('lets the member functions role do all the poller, launcher and reporter did in ECS, EC2 and Logs', async () => {
    // Act
    const policies = memberPolicies();
    const authorizations = memberAuthorizations();
    const denied: string[] = [];
    for (const authorization of authorizations) {
      const { result, ignored } = await simulateAs(
        { principal: MEMBER_PRINCIPAL, policies },
        authorization
      );
      if (result !== 'Allowed' || ignored.length > 0) {
        denied.push(`${result} ${JSON.stringify(authorization)} ignored=${ignored.join(',')}`);
      }
    }
    const granted = new Set(
      policies
        .flatMap(({ policy }) => policy.Statement)
        .flatMap((statement) => [statement.Action].flat() as string[])
    );
    const used = new Set(authorizations.map((item) => item.action));
    // Assess: every request allowed, and every action granted was needed but `doctor`'s read
    // (ecs:DescribeClusters: the doctor checks each pool's cluster as this role; the functions never)
    expect(authorizations.length).toBeGreaterThan(0);
    expect(denied).toEqual([]);
    expect([...granted].filter((action) => !used.has(action)).sort()).toEqual([
      'ecs:DescribeClusters',
    ]);
  });

  it("lets the member functions role describe its account's clusters (doctor's check), and change none", async () => {
    // Prepare
    const policies = memberPolicies();
    const named = (variant.params(world).ecsClusters ?? 'default').split(',')[0]?.split('/').pop();
    const onCluster = (action: string): Authorization => ({
      action,
      resource: `arn:aws:ecs:eu-west-1:${ACCOUNT}:cluster/${named}`,
      context: {},
    });
    // Act
    const describe = await simulateAs(
      { principal: MEMBER_PRINCIPAL, policies },
      onCluster('ecs:DescribeClusters')
    );
    const update = await simulateAs(
      { principal: MEMBER_PRINCIPAL, policies },
      onCluster('ecs:UpdateCluster')
    );
    // Assess
    expect(describe.result).toBe('Allowed');
    expect(update.result).not.toBe('Allowed');
  });

  it('refuses the must-deny requests with the member functions role too', async () => {
    // Arrange: the central table's rows on ECS and IAM, and a few of the member role's own
    const reused = new Set([
      'RunTask on another cluster',
      'StopTask on another cluster',
      'ListTasks on another cluster',
      'PassRole of another role',
      'PassRole to another service',
      'TagResource outside a create action',
      'TagResource with no create action',
      'StopTask of a task without our tags (poller)',
    ]);
    const rows = mustDeny().filter((row) => reused.has(row.why));
    const runTask = rows.find((row) => row.why === 'RunTask on another cluster')?.authorization;
    const readLogs = memberAuthorizations().find((item) => item.action === 'logs:GetLogEvents');
    if (!runTask || !readLogs) throw new Error('No RunTask or GetLogEvents request to build on');
    const ownCluster = memberAuthorizations().find((item) => item.action === 'ecs:RunTask')
      ?.context['ecs:cluster'] as string;
    const table = [
      ...rows,
      {
        why: 'a cluster of the same name in another account',
        authorization: {
          ...runTask,
          context: { 'ecs:cluster': ownCluster.replace(`:${ACCOUNT}:`, ':999988887777:') },
        },
      },
      {
        why: 'the logs of another log group',
        authorization: {
          ...readLogs,
          resource: readLogs.resource.replace(/:log-group:[^:]+:/, ':log-group:billing-app:'),
        },
      },
      {
        why: 'a role the member role was not given',
        authorization: {
          action: 'sts:AssumeRole',
          resource: `arn:aws:iam::${ACCOUNT}:role/admin`,
          context: {},
        },
      },
    ];
    // Act
    const policies = memberPolicies();
    const allowed: string[] = [];
    for (const { why, authorization } of table) {
      const { result } = await simulateAs({ principal: MEMBER_PRINCIPAL, policies }, authorization);
      if (result === 'Allowed') allowed.push(`${why}: ${JSON.stringify(authorization)}`);
    }
    // Assess
    expect(table.length).toBe(reused.size + 3);
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

describe('IAM simulation, pools in other accounts (assumeRoleArns, eventSourceAccounts)', () => {
  const MEMBER_ROLE = `arn:aws:iam::${MEMBER}:role/${MEMBER_ROLE_NAME}`;
  /** A pool role in the stack's own account (another region's pools, say). */
  const LOCAL_ROLE = `arn:aws:iam::${ACCOUNT}:role/prefect-eu-central-1`;
  const CENTRAL_BUS = `arn:aws:events:${REGION}:${ACCOUNT}:event-bus/default`;
  const ASSUMING = ['poller', 'launcher', 'reporter'] as const;
  const TASK_EVENTS = {
    'events:source': ['aws.ecs'],
    'events:detail-type': ['ECS Task State Change'],
  };

  let packaged: PackagedService;
  const policiesOf = {} as Record<FunctionName, Policies>;
  let busPolicy: PolicyDocument;

  beforeAll(async () => {
    // Prepare: the stack with two pool roles; the bus policy's accounts default to theirs
    packaged = await packageService({ params: { assumeRoleArns: `${MEMBER_ROLE},${LOCAL_ROLE}` } });
    const target = { accountId: ACCOUNT, region: REGION, partition: 'aws' };
    for (const name of FUNCTION_NAMES) {
      policiesOf[name] = rolePolicies(packaged.template, ROLES[name], target);
    }
    const statement = resolveIntrinsics(
      packaged.template,
      packaged.template.Resources.TaskStateEventsFromOtherAccountsPolicy?.Properties?.Statement,
      target
    ) as Record<string, unknown>;
    busPolicy = { Version: '2012-10-17', Statement: [statement] };
  }, 180_000);

  afterAll(async () => {
    await packaged?.dispose();
  });

  /** The member role's trust policy, for the central function roles (and an ExternalId). */
  const trustPolicy = (params: Record<string, string> = {}): PolicyDocument =>
    resolveMemberTemplate(
      loadMemberTemplate(FUNCTIONS_ROLE),
      {
        TrustedRoleArns: centralRoleArns(ASSUMING),
        PassRoleArns: `arn:aws:iam::${MEMBER}:role/prefect-execution`,
        ...params,
      },
      { accountId: MEMBER, region: REGION, partition: 'aws' }
    ).Resources.FunctionsRole?.Properties?.AssumeRolePolicyDocument as PolicyDocument;

  const asFunction = (name: FunctionName, resourcePolicy?: PolicyDocument): Caller => ({
    principal: `arn:aws:sts::${ACCOUNT}:assumed-role/${ROLES[name]}/session`,
    policies: policiesOf[name],
    resourceAccount: MEMBER,
    ...(resourcePolicy ? { resourcePolicy } : {}),
  });

  const assume = (role: string, context: Authorization['context'] = {}): Authorization => ({
    action: 'sts:AssumeRole',
    resource: role,
    context,
  });

  it.each(ASSUMING)(
    'lets the %s assume the listed member role, which trusts it, with session tags and a source identity',
    async (name) => {
      // Act
      const caller = asFunction(name, trustPolicy());
      const assumed = await simulateAs(caller, assume(MEMBER_ROLE));
      const tagged = await simulateAs(caller, {
        action: 'sts:TagSession',
        resource: MEMBER_ROLE,
        context: { 'aws:RequestTag/team': 'etl', 'aws:TagKeys': ['team'] },
      });
      const sourced = await simulateAs(caller, {
        action: 'sts:SetSourceIdentity',
        resource: MEMBER_ROLE,
        context: { 'sts:SourceIdentity': 'prefect-ecs-serverless' },
      });
      const local = await simulateAs(
        { ...asFunction(name), resourceAccount: ACCOUNT },
        assume(LOCAL_ROLE)
      );
      // Assess
      expect([assumed, tagged, sourced, local]).toEqual([
        { result: 'Allowed', ignored: [] },
        { result: 'Allowed', ignored: [] },
        { result: 'Allowed', ignored: [] },
        { result: 'Allowed', ignored: [] },
      ]);
    }
  );

  it('asks for the ExternalId when the member role sets one', async () => {
    // Act
    const caller = asFunction('launcher', trustPolicy({ ExternalId: 'prefect-7f3a' }));
    const withId = await simulateAs(
      caller,
      assume(MEMBER_ROLE, { 'sts:ExternalId': 'prefect-7f3a' })
    );
    const wrongId = await simulateAs(caller, assume(MEMBER_ROLE, { 'sts:ExternalId': 'guess' }));
    const withoutId = await simulateAs(caller, assume(MEMBER_ROLE));
    // Assess
    expect([withId.result, wrongId.result, withoutId.result]).toEqual([
      'Allowed',
      'ImplicitlyDenied',
      'ImplicitlyDenied',
    ]);
  });

  it('assumes no unlisted role, never from the webhook, and the member role trusts nothing else', async () => {
    // Arrange: a principal of the stack's account whose own policy would allow any AssumeRole
    const anyRole: Policies = [
      {
        name: 'any',
        policy: {
          Version: '2012-10-17',
          Statement: [{ Effect: 'Allow', Action: 'sts:AssumeRole', Resource: '*' }],
        },
      },
    ];
    const table: { why: string; caller: Caller; authorization: Authorization }[] = [
      ...ASSUMING.map((name) => ({
        why: `the ${name}: a role of the member account not listed`,
        caller: asFunction(name, trustPolicy()),
        authorization: assume(`arn:aws:iam::${MEMBER}:role/admin`),
      })),
      {
        why: 'the webhook',
        caller: asFunction('webhook', trustPolicy()),
        authorization: assume(MEMBER_ROLE),
      },
      {
        why: 'another role of the stack account, whatever its own policy allows',
        caller: {
          principal: `arn:aws:sts::${ACCOUNT}:assumed-role/ci-deployer/session`,
          policies: anyRole,
          resourceAccount: MEMBER,
          resourcePolicy: trustPolicy(),
        },
        authorization: assume(MEMBER_ROLE),
      },
    ];
    // Act
    const allowed: string[] = [];
    for (const { why, caller, authorization } of table) {
      const { result } = await simulateAs(caller, authorization);
      if (result === 'Allowed') allowed.push(why);
    }
    // Assess
    expect(allowed).toEqual([]);
  });

  /** The forwarding rule's role of a member account, and what it may do there. */
  const forwarder = (account: string): Caller => {
    const deployed = resolveMemberTemplate(
      loadMemberTemplate(FORWARD_TASK_EVENTS),
      { CentralAccountId: ACCOUNT, CentralRegion: REGION },
      { accountId: account, region: 'eu-central-1', partition: 'aws' }
    );
    const role = deployed.Resources.ForwardTaskStateChangesRole?.Properties as {
      Policies: { PolicyName: string; PolicyDocument: PolicyDocument }[];
    };
    return {
      principal: `arn:aws:sts::${account}:assumed-role/ForwardTaskStateChangesRole/events`,
      policies: role.Policies.map((policy) => ({
        name: policy.PolicyName,
        policy: policy.PolicyDocument,
      })),
      resourceAccount: ACCOUNT,
      resourcePolicy: busPolicy,
    };
  };

  it('lets a listed account’s forwarding rule put ECS task state changes on the central bus, and nothing else', async () => {
    // Act
    const putEvents = (context: Authorization['context']): Authorization => ({
      action: 'events:PutEvents',
      resource: CENTRAL_BUS,
      context,
    });
    const taskEvents = await simulateAs(forwarder(MEMBER), putEvents(TASK_EVENTS));
    const otherSource = await simulateAs(
      forwarder(MEMBER),
      putEvents({ ...TASK_EVENTS, 'events:source': ['aws.ecs', 'com.example.orders'] })
    );
    const otherType = await simulateAs(
      forwarder(MEMBER),
      putEvents({ ...TASK_EVENTS, 'events:detail-type': ['ECS Container Instance State Change'] })
    );
    const unlisted = await simulateAs(forwarder('999988887777'), putEvents(TASK_EVENTS));
    const otherBus = await simulateAs(forwarder(MEMBER), {
      ...putEvents(TASK_EVENTS),
      resource: `arn:aws:events:${REGION}:${ACCOUNT}:event-bus/payments`,
    });
    // Assess
    expect(taskEvents).toEqual({ result: 'Allowed', ignored: [] });
    expect([otherSource, otherType, unlisted, otherBus].map((item) => item.result)).toEqual([
      'ImplicitlyDenied',
      'ImplicitlyDenied',
      'ImplicitlyDenied',
      'ImplicitlyDenied',
    ]);
  });
});
