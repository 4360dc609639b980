import {
  AccessDeniedException,
  ClientException,
  ClusterNotFoundException,
  type ECSClient,
  ECSServiceException,
  InvalidParameterException,
  ServerException,
} from '@aws-sdk/client-ecs';
import { describe, expect, it } from 'vitest';
import { createEcsClient } from '../../../../shared/ecs/ecs-client.ts';
import { EcsApiError } from '../../../../shared/errors/ecs-api-error.ts';

const meta = (httpStatusCode: number) => ({ httpStatusCode, requestId: 'req-1' });

/** An ECSClient whose `send` answers with `outcome` (thrown when it is an error). */
const clientAnswering = (outcome: unknown): ECSClient =>
  ({
    send: async () => {
      if (outcome instanceof Error) throw outcome;
      return outcome;
    },
  }) as unknown as ECSClient;

const failureOf = async (call: Promise<unknown>): Promise<EcsApiError> => {
  try {
    await call;
  } catch (error) {
    if (error instanceof EcsApiError) return error;
    throw error;
  }
  throw new Error('did not fail');
};

describe('createEcsClient: errors', () => {
  it.each([
    [
      'throttling',
      new ECSServiceException({
        name: 'ThrottlingException',
        $fault: 'client',
        message: 'Rate exceeded',
        $metadata: meta(400),
      }),
      true,
      /ThrottlingException: Rate exceeded/,
    ],
    [
      'a 5xx',
      new ServerException({ message: 'Service unavailable', $metadata: meta(500) }),
      true,
      /ServerException/,
    ],
    [
      'a network failure',
      Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1'), { code: 'ECONNREFUSED' }),
      true,
      /NetworkError/,
    ],
    [
      'a missing cluster',
      new ClusterNotFoundException({ message: 'Cluster not found.', $metadata: meta(400) }),
      false,
      /ECS cluster 'prod' was not found in us-east-1\. Create it, or set .*`cluster` job variable/,
    ],
    [
      'a role that cannot be passed',
      new AccessDeniedException({
        message:
          'User: arn:aws:sts::1:assumed-role/launcher is not authorized to perform: iam:PassRole',
        $metadata: meta(400),
      }),
      false,
      /may not pass the task or execution role \(iam:PassRole\)/,
    ],
    [
      'a bad subnet',
      new InvalidParameterException({
        message:
          "Error retrieving subnet information for [subnet-1]: The subnet ID 'subnet-1' does not exist",
        $metadata: meta(400),
      }),
      false,
      /Check the `network_configuration` .* and `vpc_id`/,
    ],
    [
      'an inactive task definition',
      new InvalidParameterException({
        message: 'TaskDefinition is inactive',
        $metadata: meta(400),
      }),
      true,
      /TaskDefinition is inactive/,
    ],
  ])('runTask: %s → retryable %s', async (_name, error, retryable, message) => {
    // Prepare
    const ecs = createEcsClient(clientAnswering(error), { region: 'us-east-1' });
    // Act
    const failure = await failureOf(ecs.runTask({ cluster: 'prod', taskDefinition: 'f:1' }));
    // Assess
    expect(failure.retryable).toBe(retryable);
    expect(failure.operation).toBe('runTask');
    expect(failure.message).toMatch(message);
    expect(failure.cause).toBe(error);
  });

  it.each([
    [
      'concurrent registrations',
      'Too many concurrent attempts to create a new revision of the specified family.',
      true,
    ],
    ['an invalid definition', 'Container.image should not be null or empty.', false],
  ])('registerTaskDefinition: %s → retryable %s', async (_name, text, retryable) => {
    // Prepare
    const ecs = createEcsClient(
      clientAnswering(new ClientException({ message: text, $metadata: meta(400) }))
    );
    // Act
    const failure = await failureOf(
      ecs.registerTaskDefinition({ family: 'f', containerDefinitions: [] })
    );
    // Assess
    expect(failure.retryable).toBe(retryable);
    expect(failure.code).toBe('ClientException');
    expect(failure.message).toContain(text);
  });

  it('describeTaskDefinition: a missing family is undefined, not an error', async () => {
    // Prepare
    const ecs = createEcsClient(
      clientAnswering(
        new ClientException({
          message: 'Unable to describe task definition.',
          $metadata: meta(400),
        })
      )
    );
    // Act / Assess
    expect(await ecs.describeTaskDefinition('nope', { includeTags: true })).toBeUndefined();
  });
});

describe('createEcsClient: answers', () => {
  it('maps RunTask tasks and failures', async () => {
    // Prepare
    const ecs = createEcsClient(
      clientAnswering({
        tasks: [{ taskArn: 'arn:task', clusterArn: 'arn:cluster', desiredStatus: 'RUNNING' }],
        failures: [{ arn: 'arn:cluster', reason: 'RESOURCE:MEMORY' }],
      })
    );
    // Act
    const result = await ecs.runTask({ taskDefinition: 'f:1' });
    // Assess
    expect(result.tasks[0]).toMatchObject({
      taskArn: 'arn:task',
      clusterArn: 'arn:cluster',
      desiredStatus: 'RUNNING',
    });
    expect(result.failures).toEqual([
      { arn: 'arn:cluster', reason: 'RESOURCE:MEMORY', detail: undefined },
    ]);
  });

  it('maps a described definition and its tags', async () => {
    // Prepare
    const ecs = createEcsClient(
      clientAnswering({
        taskDefinition: { taskDefinitionArn: 'arn:td:1', family: 'f', status: 'ACTIVE' },
        tags: [{ key: 'k', value: 'v' }, { key: 'empty' }],
      })
    );
    // Act
    const described = await ecs.describeTaskDefinition('f', { includeTags: true });
    // Assess
    expect(described).toEqual({
      taskDefinition: { taskDefinitionArn: 'arn:td:1', family: 'f', status: 'ACTIVE' },
      tags: [
        { key: 'k', value: 'v' },
        { key: 'empty', value: '' },
      ],
    });
  });
});
