import { describe, expect, it } from 'vitest';
import {
  accessDeniedFix,
  parseAccessDenied,
  permissionFix,
} from '../../../../shared/doctor/access-denied.ts';
import { decideCluster } from '../../../../shared/doctor/check-cluster.ts';
import { decideSecrets } from '../../../../shared/doctor/check-secret.ts';
import { SecretReadError } from '../../../../shared/secrets/secret-read-error.ts';

const LAUNCHER =
  'arn:aws:sts::123456789012:assumed-role/prefect-ecs-serverless-dev-LauncherRole-AbC/launcher';

describe('parseAccessDenied', () => {
  it('reads an implicit denial with a resource (IAM User Guide format)', () => {
    // Act
    const denied = parseAccessDenied(
      `User: ${LAUNCHER} is not authorized to perform: iam:PassRole on resource: arn:aws:iam::123456789012:role/etl-task because no identity-based policy allows the iam:PassRole action`
    );
    // Assess
    expect(denied).toEqual({
      principal: LAUNCHER,
      action: 'iam:PassRole',
      resource: 'arn:aws:iam::123456789012:role/etl-task',
      denial: 'implicit',
      policyType: 'identity-based',
    });
  });

  it('reads an explicit deny in a service control policy, and a message without a resource', () => {
    // Act
    const explicit = parseAccessDenied(
      `User: ${LAUNCHER} is not authorized to perform: ecs:RunTask on resource: arn:aws:ecs:us-east-1:123456789012:task-definition/etl:3 with an explicit deny in a service control policy`
    );
    const bare = parseAccessDenied(
      `User: ${LAUNCHER} is not authorized to perform: ecs:ListTasks because no identity-based policy allows the ecs:ListTasks action`
    );
    // Assess
    expect(explicit).toMatchObject({
      action: 'ecs:RunTask',
      resource: 'arn:aws:ecs:us-east-1:123456789012:task-definition/etl:3',
      denial: 'explicit',
      policyType: 'service control',
    });
    expect(bare).toEqual({
      principal: LAUNCHER,
      action: 'ecs:ListTasks',
      denial: 'implicit',
      policyType: 'identity-based',
    });
  });

  it('reads an older message without the reason, and refuses other errors', () => {
    // Act
    const old = parseAccessDenied(
      'User: arn:aws:iam::123456789012:user/ci is not authorized to perform: secretsmanager:GetSecretValue on resource: arn:aws:secretsmanager:us-east-1:123456789012:secret:prefect-AbCdEf'
    );
    // Assess
    expect(old).toEqual({
      principal: 'arn:aws:iam::123456789012:user/ci',
      action: 'secretsmanager:GetSecretValue',
      resource: 'arn:aws:secretsmanager:us-east-1:123456789012:secret:prefect-AbCdEf',
    });
    expect(
      parseAccessDenied('The security token included in the request is invalid.')
    ).toBeUndefined();
  });
});

describe('permissionFix', () => {
  it('names the permission to add to the role, or the Deny to change', () => {
    // Act
    const implicit = permissionFix({
      principal: LAUNCHER,
      action: 'iam:PassRole',
      resource: 'arn:aws:iam::123456789012:role/etl-task',
      denial: 'implicit',
      policyType: 'identity-based',
    });
    const explicit = permissionFix({
      principal: LAUNCHER,
      action: 'ecs:RunTask',
      denial: 'explicit',
      policyType: 'service control',
    });
    const boundary = permissionFix({
      principal: LAUNCHER,
      action: 'ecs:RunTask',
      denial: 'implicit',
      policyType: 'permissions boundary',
    });
    // Assess
    expect(implicit).toBe(
      'Allow iam:PassRole on arn:aws:iam::123456789012:role/etl-task in a policy of role prefect-ecs-serverless-dev-LauncherRole-AbC (no identity-based policy allows it).'
    );
    expect(explicit).toMatch(/^A Deny in a service control policy refuses ecs:RunTask to role /);
    expect(boundary).toMatch(/in its permissions boundary policy/);
  });

  it('finds the denial in the error a reader wrapped', () => {
    // Arrange
    const cause = Object.assign(
      new Error(
        'User: arn:aws:iam::123456789012:user/ci is not authorized to perform: ecs:DescribeClusters on resource: arn:aws:ecs:us-east-1:123456789012:cluster/prefect because no identity-based policy allows the ecs:DescribeClusters action'
      ),
      { name: 'AccessDeniedException' }
    );
    const wrapped = new SecretReadError('Could not read', 'arn', 'AccessDeniedException', false, {
      cause,
    });
    // Act / Assess
    expect(accessDeniedFix(wrapped)).toBe(
      'Allow ecs:DescribeClusters on arn:aws:ecs:us-east-1:123456789012:cluster/prefect in a policy of arn:aws:iam::123456789012:user/ci (no identity-based policy allows it).'
    );
    expect(accessDeniedFix(new Error('ClusterNotFoundException'))).toBeUndefined();
  });
});

describe('doctor checks: the missing permission in IAM’s words', () => {
  const denial = (action: string, resource: string) =>
    Object.assign(
      new Error(
        `User: arn:aws:iam::123456789012:user/ci is not authorized to perform: ${action} on resource: ${resource} because no identity-based policy allows the ${action} action`
      ),
      { name: 'AccessDeniedException' }
    );

  it('says which permission the cluster and secret checks lack, and keeps the generic fix otherwise', () => {
    // Arrange
    const clusterArn = 'arn:aws:ecs:us-east-1:123456789012:cluster/prefect';
    const secretArn = 'arn:aws:secretsmanager:us-east-1:123456789012:secret:prefect-AbCdEf';
    // Act
    const cluster = decideCluster('prefect', 'us-east-1', ['etl'], {
      ok: false,
      error: denial('ecs:DescribeClusters', clusterArn),
    });
    const other = decideCluster('prefect', 'us-east-1', ['etl'], {
      ok: false,
      error: new Error('socket hang up'),
    });
    const [secret] = decideSecrets([
      {
        variable: 'PREFECT_API_KEY_SECRET_ARN',
        arn: secretArn,
        outcome: {
          ok: false,
          error: new SecretReadError('Could not read', secretArn, 'AccessDeniedException', false, {
            cause: denial('secretsmanager:GetSecretValue', secretArn),
          }),
        },
      },
    ]);
    // Assess
    expect(cluster.fix).toBe(
      `Allow ecs:DescribeClusters on ${clusterArn} in a policy of arn:aws:iam::123456789012:user/ci (no identity-based policy allows it).`
    );
    expect(other.fix).toBe('Allow ecs:DescribeClusters to these credentials.');
    expect(secret?.fix).toBe(
      `Allow secretsmanager:GetSecretValue on ${secretArn} in a policy of arn:aws:iam::123456789012:user/ci (no identity-based policy allows it).`
    );
  });
});
