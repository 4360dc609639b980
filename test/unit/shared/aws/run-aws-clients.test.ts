import { describe, expect, it } from 'vitest';
import { createRunAwsClients } from '../../../../shared/aws/run-aws-clients.ts';
import type { FlowRun, WorkPool } from '../../../../shared/prefect/schemas.ts';

const MEMBER = '210987654321';
const STACK = '123456789012';
const ROLE = `arn:aws:iam::${MEMBER}:role/prefect-member`;

/** A pool whose job configuration takes aws_credentials from the job variable of that name. */
const pool = {
  id: 'pool-id',
  name: 'member',
  type: 'ecs',
  base_job_template: {
    job_configuration: { aws_credentials: '{{ aws_credentials }}' },
    variables: { type: 'object', properties: { aws_credentials: { type: 'object' } } },
  },
} as unknown as WorkPool;

const setup = () => {
  const built: string[] = [];
  const clientsOf = createRunAwsClients<string>({
    config: {
      awsRegion: 'us-east-1',
      assumeRoleArns: undefined,
      stackAccountId: STACK,
      templateEnvironment: {},
      templateEnvAllowlist: [],
    },
    prefect: {
      readWorkPool: async () => pool,
      readDeployment: async () => {
        throw new Error('no deployment read expected');
      },
      readVariableByName: async () => undefined,
      readBlockDocument: async () => {
        throw new Error('no block');
      },
      readBlockDocumentByName: async () => {
        throw new Error('no block');
      },
    } as never,
    logger: { warn: () => {} },
    home: 'home',
    homeCredentials: async () => ({ accessKeyId: 'AKID', secretAccessKey: 'secret' }),
    build: (scope) => {
      built.push(scope.key);
      return `clients of ${scope.region}`;
    },
  });
  return { clientsOf, built };
};

const runWith = (awsCredentials: unknown) =>
  ({
    id: 'run-1',
    work_pool_name: 'member',
    deployment_id: null,
    job_variables: { aws_credentials: awsCredentials },
  }) as unknown as FlowRun;

const taskIn = (account: string, region: string) => ({
  taskArn: `arn:aws:ecs:${region}:${account}:task/prefect/0123`,
  account,
  region,
});

describe('createRunAwsClients', () => {
  it("answers the clients of the run's credentials when its task is where they reach", async () => {
    // Prepare
    const { clientsOf } = setup();
    const run = runWith({ assume_role_arn: ROLE, region_name: 'eu-west-1' });
    // Act / Assess
    await expect(clientsOf(run, undefined, taskIn(MEMBER, 'eu-west-1'))).rejects.toThrow(
      // The role is never assumed in a unit test: STS is not there. Reaching STS proves the check passed.
      /Could not assume/
    );
  });

  it.each([
    [
      'another account',
      { assume_role_arn: ROLE, region_name: 'eu-west-1' },
      taskIn(STACK, 'eu-west-1'),
    ],
    [
      'another region',
      { assume_role_arn: ROLE, region_name: 'eu-west-1' },
      taskIn(MEMBER, 'ap-south-1'),
    ],
    ['the stack’s own credentials now', null, taskIn(MEMBER, 'us-east-1')],
  ])(
    'refuses, retryably, a task in %s than the run’s credentials reach (its pool changed while it ran)',
    async (_, awsCredentials, task) => {
      // Prepare
      const { clientsOf, built } = setup();
      // Act
      const act = clientsOf(runWith(awsCredentials), undefined, task);
      // Assess
      await expect(act).rejects.toMatchObject({ retryable: true });
      await expect(act).rejects.toThrow(
        /credentials changed while it ran\): the task is left alone/
      );
      expect(built).toEqual([]);
    }
  );

  it('gives a task of the stack’s own account and region the home clients', async () => {
    // Prepare
    const { clientsOf } = setup();
    // Act / Assess
    expect(await clientsOf(runWith(null), undefined, taskIn(STACK, 'us-east-1'))).toBe('home');
  });
});
