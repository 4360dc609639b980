/**
 * Work pools in other accounts and regions (docs/deploy.md, "Pools in other accounts and
 * regions"), the deploy side, without an osls run:
 * - the stack parameters `assumeRoleArns` and `eventSourceAccounts` as infra/parameters.cjs reads
 *   and refuses them, the functions' `ASSUME_ROLE_ARNS`, and the fragments they emit
 *   (infra/assume-roles.cjs, infra/event-bus-policy.cjs);
 * - the central task-state rule matches events forwarded from any account and region;
 * - the member templates (infra/member-account/*.yml): the forwarding rule has exactly the central
 *   rule's pattern, targets the central default bus with a role allowed nothing but PutEvents there,
 *   and dead-letters; the functions' role trusts exactly the central function roles.
 * cfn-lint.test.ts lints the member templates; iam-simulation.test.ts proves their IAM.
 */
// biome-ignore-all lint/suspicious/noTemplateCurlyInString: CloudFormation Fn::Sub strings
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { matchesEventPattern } from '../integration/end-to-end-fixtures.ts';
import {
  type CfnResource,
  type CfnTemplate,
  type IamStatement,
  resourceOf,
} from './cfn-template.ts';
import {
  FORWARD_TASK_EVENTS,
  FUNCTIONS_ROLE,
  loadMemberTemplate,
  type MemberTarget,
  resolveMemberTemplate,
} from './member-templates.ts';
import { SERVICE_DIR } from './osls-package.ts';
import { infraModule, oslsFileContext } from './stack-parameters.ts';

interface Fragment {
  Resources?: Record<string, CfnResource>;
}
interface Resolved {
  assumeRoleArns: string;
  assumeRoleArnList: string[];
  eventSourceAccounts: string[];
  eventBusPolicyStatementId: string;
  taskStateEventDetail: unknown;
}

const parameters = infraModule<Resolved>('parameters.cjs');
const assumeRoles = infraModule<Fragment>('assume-roles.cjs');
const eventBusPolicy = infraModule<Fragment>('event-bus-policy.cjs');

const CENTRAL = '123456789012';
const MEMBER = '210987654321';
const OTHER_MEMBER = '333344445555';
const MEMBER_ROLE = `arn:aws:iam::${MEMBER}:role/prefect-ecs-serverless-pools`;
const OTHER_ROLE = `arn:aws:iam::${OTHER_MEMBER}:role/ops/prefect-pools`;
const LOCAL_ROLE = `arn:aws:iam::${CENTRAL}:role/prefect-eu-central-1`;

const refused = async (params: Record<string, string>) =>
  parameters(await oslsFileContext(params)).then(
    () => 'accepted',
    (error: Error) => error.message
  );

describe('assumeRoleArns', () => {
  it('is empty by default: ASSUME_ROLE_ARNS is "" and the template holds no STS permission', async () => {
    // Act
    const context = await oslsFileContext();
    const resolved = await parameters(context);
    // Assess
    expect(resolved.assumeRoleArns).toBe('');
    expect(await assumeRoles(context)).toEqual({});
  });

  it('reaches the functions as exactly the listed ARNs, comma-separated, duplicates dropped', async () => {
    // Act
    const resolved = await parameters(
      await oslsFileContext({ assumeRoleArns: ` ${MEMBER_ROLE}, ${OTHER_ROLE},${MEMBER_ROLE} ` })
    );
    // Assess
    expect(resolved.assumeRoleArns).toBe(`${MEMBER_ROLE},${OTHER_ROLE}`);
  });

  it('lets the poller, launcher and reporter assume and tag sessions of exactly those roles', async () => {
    // Act
    const fragment = await assumeRoles(
      await oslsFileContext({ assumeRoleArns: `${MEMBER_ROLE},${OTHER_ROLE}` })
    );
    // Assess
    const policy = fragment.Resources?.FunctionsAssumePoolRolesPolicy?.Properties as {
      Roles: { Ref: string }[];
      PolicyDocument: { Statement: IamStatement[] };
    };
    expect(policy.Roles.map((role) => role.Ref)).toEqual([
      'PollerRole',
      'LauncherRole',
      'ReporterRole',
    ]);
    expect(policy.PolicyDocument.Statement).toEqual([
      {
        Sid: 'AssumeListedPoolRoles',
        Effect: 'Allow',
        Action: ['sts:AssumeRole', 'sts:TagSession', 'sts:SetSourceIdentity'],
        Resource: [MEMBER_ROLE, OTHER_ROLE],
      },
    ]);
  });

  it.each([
    ['a wildcard role name', `arn:aws:iam::${MEMBER}:role/prefect-*`, 'has a wildcard'],
    ['a wildcard account', 'arn:aws:iam::*:role/prefect', 'has a wildcard'],
    ['a bare role name', 'prefect-pools', 'is not an IAM role ARN'],
    ['a user ARN', `arn:aws:iam::${MEMBER}:user/prefect`, 'is not an IAM role ARN'],
    ['a short account id', 'arn:aws:iam::2109876543:role/prefect', 'is not an IAM role ARN'],
  ])('refuses %s, naming the parameter and the expected form', async (_what, arn, problem) => {
    // Act
    const message = await refused({ assumeRoleArns: `${MEMBER_ROLE},${arn}` });
    // Assess
    expect(message).toContain(`assumeRoleArns: "${arn}" ${problem}`);
    expect(message).toContain('arn:aws:iam::<12-digit account>:role/<path/name>');
    expect(message).not.toContain(MEMBER_ROLE);
  });
});

describe('eventSourceAccounts', () => {
  const policyOf = (fragment: Fragment) =>
    fragment.Resources?.TaskStateEventsFromOtherAccountsPolicy?.Properties as
      | { EventBusName: string; StatementId: string; Statement: Record<string, unknown> }
      | undefined;

  it('defaults to the accounts of assumeRoleArns, each once (our own among them is harmless)', async () => {
    // Act
    const resolved = await parameters(
      await oslsFileContext({
        assumeRoleArns: `${MEMBER_ROLE},${LOCAL_ROLE},arn:aws:iam::${MEMBER}:role/other`,
      })
    );
    // Assess
    expect(resolved.eventSourceAccounts).toEqual([MEMBER, CENTRAL]);
  });

  it('emits no bus policy by default, nor with "none"', async () => {
    // Act
    const none = await eventBusPolicy(await oslsFileContext());
    const optedOut = await eventBusPolicy(
      await oslsFileContext({ assumeRoleArns: MEMBER_ROLE, eventSourceAccounts: 'none' })
    );
    // Assess
    expect(none).toEqual({});
    expect(optedOut).toEqual({});
  });

  it('lets exactly those accounts put ECS task state changes, nothing else, on the default bus', async () => {
    // Act: accounts given without roles (pools with static keys of those accounts)
    const fragment = await eventBusPolicy(
      await oslsFileContext({ eventSourceAccounts: `${MEMBER}, ${OTHER_MEMBER}` })
    );
    // Assess
    expect(policyOf(fragment)).toEqual({
      EventBusName: 'default',
      StatementId: 'prefect-ecs-serverless-dev-ecs-task-events',
      Statement: {
        Effect: 'Allow',
        Principal: {
          AWS: [MEMBER, OTHER_MEMBER].map((account) => ({
            'Fn::Sub': `arn:\${AWS::Partition}:iam::${account}:root`,
          })),
        },
        Action: 'events:PutEvents',
        Resource: {
          'Fn::Sub':
            'arn:${AWS::Partition}:events:${AWS::Region}:${AWS::AccountId}:event-bus/default',
        },
        Condition: {
          'ForAllValues:StringEquals': {
            'events:source': ['aws.ecs'],
            'events:detail-type': ['ECS Task State Change'],
          },
        },
      },
    });
  });

  it('refuses what is not a 12-digit account id', async () => {
    // Act
    const message = await refused({ eventSourceAccounts: `${MEMBER},21098765432x` });
    // Assess
    expect(message).toContain(
      'eventSourceAccounts: "21098765432x" is not a 12-digit AWS account id'
    );
  });

  it('refuses a stage whose statement id would pass EventBridge’s 64 characters', async () => {
    // Act
    const context = await oslsFileContext({ eventSourceAccounts: MEMBER }, 'x'.repeat(40));
    const message = await parameters(context).then(
      () => 'accepted',
      (error: Error) => error.message
    );
    // Assess
    expect(message).toContain('use a shorter stage name');
  });
});

// ---------------------------------------------------------------------------------------------
// The central rule and the forwarding rule

/** osls's YAML reader, as it reads infra/events.yml for the stack. */
const parseYaml = createRequire(import.meta.url)('osls/lib/utils/fs/parse.js') as (
  path: string,
  contents: string
) => Record<string, Record<string, CfnResource>>;

/**
 * The central TaskStateChangeRule's EventPattern as osls writes it for `params`: infra/events.yml
 * with each `${file(infra/parameters.cjs):name}` replaced by that value of infra/parameters.cjs.
 */
const centralRulePattern = async (params: Record<string, string> = {}): Promise<unknown> => {
  const events = parseYaml(
    'infra/events.yml',
    readFileSync(join(SERVICE_DIR, 'infra/events.yml'), 'utf8')
  );
  const resolved = (await parameters(await oslsFileContext(params))) as unknown as Record<
    string,
    unknown
  >;
  const substitute = (value: unknown): unknown => {
    if (typeof value === 'string') {
      const name = /^\$\{file\(infra\/parameters\.cjs\):(\w+)\}$/.exec(value)?.[1];
      if (name === undefined) return value;
      if (!(name in resolved)) throw new Error(`parameters.cjs has no ${name}`);
      return resolved[name];
    }
    if (Array.isArray(value)) return value.map(substitute);
    if (typeof value === 'object' && value !== null) {
      return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, substitute(v)]));
    }
    return value;
  };
  return substitute(events.Resources?.TaskStateChangeRule?.Properties?.EventPattern);
};

const forwardTemplate = loadMemberTemplate(FORWARD_TASK_EVENTS);
const forwardPattern = () =>
  forwardTemplate.Resources.ForwardTaskStateChanges?.Properties?.EventPattern;

/** A task state change of ours in a member account and region. */
const forwardedEvent = () => {
  const event = JSON.parse(
    readFileSync(
      join(SERVICE_DIR, 'test/fixtures/aws-events/synthetic/lifecycle-3-running.json'),
      'utf8'
    )
  );
  return {
    ...event,
    account: MEMBER,
    region: 'ap-southeast-2',
    detail: {
      ...event.detail,
      clusterArn: `arn:aws:ecs:ap-southeast-2:${MEMBER}:cluster/prefect`,
      startedBy: 'prefect/7a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d',
    },
  };
};

describe('the central task-state rule', () => {
  it('filters on no account and no region, so forwarded events match it', async () => {
    // Act
    const pattern = (await centralRulePattern()) as Record<string, unknown>;
    // Assess
    expect(Object.keys(pattern).sort()).toEqual(['detail', 'detail-type', 'source']);
    expect(pattern).not.toHaveProperty('account');
    expect(pattern).not.toHaveProperty('region');
    expect(matchesEventPattern(pattern as never, forwardedEvent())).toBe(true);
  });

  it('drops a forwarded event of a member cluster when taskEventClusters names clusters (list its ARN)', async () => {
    // Arrange: a name resolves to this stack's account and region (deployed in us-east-1)
    const deployedHere = (pattern: unknown) =>
      JSON.parse(
        JSON.stringify(pattern).replace(/\{"Fn::Sub":"([^"]*)"\}/g, (_match, text: string) =>
          JSON.stringify(
            text
              .replace('${AWS::Partition}', 'aws')
              .replace('${AWS::Region}', 'us-east-1')
              .replace('${AWS::AccountId}', CENTRAL)
          )
        )
      );
    // Act
    const byName = deployedHere(await centralRulePattern({ taskEventClusters: 'prefect' }));
    const byArn = deployedHere(
      await centralRulePattern({
        taskEventClusters: `prefect,arn:aws:ecs:ap-southeast-2:${MEMBER}:cluster/prefect`,
      })
    );
    // Assess
    expect(matchesEventPattern(byName, forwardedEvent())).toBe(false);
    expect(matchesEventPattern(byArn, forwardedEvent())).toBe(true);
  });
});

describe('the member forwarding rule (infra/member-account/forward-task-events.yml)', () => {
  const target: MemberTarget = { accountId: MEMBER, region: 'ap-southeast-2', partition: 'aws' };
  const deployed = () =>
    resolveMemberTemplate(
      forwardTemplate,
      { CentralAccountId: CENTRAL, CentralRegion: 'us-east-1' },
      target
    );

  it('has exactly the central rule’s pattern (default parameters)', async () => {
    // Act
    const central = await centralRulePattern();
    // Assess
    expect(forwardPattern()).toEqual(central);
  });

  it('would be caught diverging: a status more or less, another prefix', async () => {
    // Arrange
    const central = (await centralRulePattern()) as {
      detail: { lastStatus: string[]; startedBy: unknown };
    };
    // Act
    const variants = [
      { ...central, detail: { ...central.detail, lastStatus: central.detail.lastStatus.slice(1) } },
      {
        ...central,
        detail: { ...central.detail, lastStatus: [...central.detail.lastStatus, 'STOPPING'] },
      },
      { ...central, detail: { ...central.detail, startedBy: [{ prefix: 'prefect-' }] } },
    ];
    // Assess
    for (const variant of variants) expect(forwardPattern()).not.toEqual(variant);
    expect(matchesEventPattern(forwardPattern() as never, forwardedEvent())).toBe(true);
  });

  it('targets the central default bus with a role that may only put events there, and dead-letters', () => {
    // Act
    const template = deployed();
    const rule = template.Resources.ForwardTaskStateChanges?.Properties as {
      Targets: Record<string, unknown>[];
    };
    const role = template.Resources.ForwardTaskStateChangesRole?.Properties as {
      AssumeRolePolicyDocument: { Statement: IamStatement[] };
      Policies: { PolicyDocument: { Statement: IamStatement[] } }[];
    };
    const centralBus = `arn:aws:events:us-east-1:${CENTRAL}:event-bus/default`;
    // Assess
    expect(rule.Targets).toEqual([
      {
        Id: 'central-event-bus',
        Arn: centralBus,
        RoleArn: `arn:aws:iam::${MEMBER}:role/member-ForwardTaskStateChangesRole`,
        DeadLetterConfig: {
          Arn: `arn:aws:sqs:ap-southeast-2:${MEMBER}:ForwardDeadLetterQueue`,
        },
      },
    ]);
    expect(role.Policies.flatMap((policy) => policy.PolicyDocument.Statement)).toEqual([
      {
        Sid: 'PutEventsOnTheCentralDefaultBus',
        Effect: 'Allow',
        Action: 'events:PutEvents',
        Resource: centralBus,
      },
    ]);
    expect(role.AssumeRolePolicyDocument.Statement).toEqual([
      {
        Effect: 'Allow',
        Principal: { Service: 'events.amazonaws.com' },
        Action: 'sts:AssumeRole',
        Condition: { StringEquals: { 'aws:SourceAccount': MEMBER } },
      },
    ]);
  });

  it('lets only its own rule write to its dead-letter queue', () => {
    // Act
    const policy = deployed().Resources.ForwardDeadLetterQueuePolicy?.Properties as {
      PolicyDocument: { Statement: IamStatement[] };
    };
    // Assess
    expect(policy.PolicyDocument.Statement[0]?.Condition).toEqual({
      ArnEquals: {
        'aws:SourceArn': `arn:aws:events:ap-southeast-2:${MEMBER}:rule/ForwardTaskStateChanges`,
      },
    });
  });

  it('refuses a central account or region that is not one', () => {
    // Act
    const declared = forwardTemplate.Parameters as Record<string, { AllowedPattern: string }>;
    const accepts = (name: string, value: string) =>
      new RegExp(declared[name]?.AllowedPattern ?? '$^').test(value);
    // Assess
    expect(accepts('CentralAccountId', CENTRAL)).toBe(true);
    expect(accepts('CentralAccountId', '12345678901')).toBe(false);
    expect(accepts('CentralRegion', 'eu-central-1')).toBe(true);
    expect(accepts('CentralRegion', 'us-gov-west-1')).toBe(true);
    expect(accepts('CentralRegion', 'Frankfurt')).toBe(false);
  });
});

describe('the member functions role (infra/member-account/functions-role.yml)', () => {
  const template = loadMemberTemplate(FUNCTIONS_ROLE);
  const trusted = ['PollerRole', 'LauncherRole', 'ReporterRole'].map(
    (role) => `arn:aws:iam::${CENTRAL}:role/prefect-ecs-serverless-prod-${role}-AbC123`
  );
  /** The role's properties as deployed in the member account with `params`. */
  const roleWith = (params: Record<string, string>) =>
    resourceOf(
      resolveMemberTemplate(
        template,
        {
          TrustedRoleArns: trusted.join(','),
          PassRoleArns: `arn:aws:iam::${MEMBER}:role/prefect-execution`,
          ...params,
        },
        { accountId: MEMBER, region: 'eu-central-1', partition: 'aws' }
      ),
      'FunctionsRole'
    ).Properties as {
      AssumeRolePolicyDocument: { Statement: (IamStatement & { Principal: unknown })[] };
      Policies: { PolicyDocument: { Statement: IamStatement[] } }[];
    };
  const trustOf = (params: Record<string, string>) =>
    roleWith(params).AssumeRolePolicyDocument.Statement;

  it('trusts exactly the central poller, launcher and reporter roles, to assume and tag sessions', () => {
    // Act
    const statements = trustOf({});
    // Assess
    expect(statements.map((statement) => [statement.Action, statement.Principal])).toEqual([
      ['sts:AssumeRole', { AWS: trusted }],
      [['sts:TagSession', 'sts:SetSourceIdentity'], { AWS: trusted }],
    ]);
    expect(statements[0]?.Condition).toBeUndefined();
  });

  it('asks for the ExternalId when one is set', () => {
    // Act
    const statements = trustOf({ ExternalId: 'prefect-7f3a' });
    // Assess
    expect(statements[0]?.Condition).toEqual({
      StringEquals: { 'sts:ExternalId': 'prefect-7f3a' },
    });
  });

  it('grants the EC2 discovery only when asked, as the central stack does', () => {
    // Act
    const actionsWith = (discovery: string) =>
      roleWith({ Ec2NetworkDiscovery: discovery }).Policies.flatMap((policy) =>
        policy.PolicyDocument.Statement.flatMap((statement) => statement.Action)
      );
    // Assess
    expect(actionsWith('true')).toContain('ec2:DescribeSubnets');
    expect(actionsWith('false')).not.toContain('ec2:DescribeSubnets');
  });
});

/** The member templates and infra/events.yml parse into templates (a guard for the loaders). */
describe('loading', () => {
  it('reads both member templates with their resources', () => {
    // Assess
    const ids = (template: CfnTemplate) => Object.keys(template.Resources).sort();
    expect(ids(forwardTemplate)).toEqual([
      'ForwardDeadLetterQueue',
      'ForwardDeadLetterQueuePolicy',
      'ForwardTaskStateChanges',
      'ForwardTaskStateChangesRole',
    ]);
    expect(ids(loadMemberTemplate(FUNCTIONS_ROLE))).toEqual(['FunctionsRole']);
  });
});
