import { describe, expect, it } from 'vitest';
import {
  crashMessage,
  diagnoseStoppedTask,
} from '../../../../shared/report/diagnose-stopped-task.ts';
import type { TaskStateChangeEvent } from '../../../../shared/report/task-state-change-event.ts';
import { rawEvent, stoppedWith, syntheticEvent, withDetail } from './fixtures.ts';

const TASK = 'ECS task 0f1e2d3c4b5a69788796a5b4c3d2e1f0';

/** An official Spot fragment's stop code and reason, on the synthetic Spot event. */
const officialSpot = (file: string): TaskStateChangeEvent => {
  const fragment = rawEvent(`official/${file}`) as {
    detail: { stopCode: string; stoppedReason: string };
  };
  return withDetail(syntheticEvent('stopped-spot-interruption'), {
    stopCode: fragment.detail.stopCode,
    stoppedReason: fragment.detail.stoppedReason,
  });
};

const sidecar = (exitCode: number, reason?: string) => ({
  containerArn: 'arn:aws:ecs:eu-west-1:123456789012:container/prefect/0f1e/sidecar',
  lastStatus: 'STOPPED',
  name: 'otel-collector',
  taskArn: 'arn:aws:ecs:eu-west-1:123456789012:task/prefect/0f1e2d3c4b5a69788796a5b4c3d2e1f0',
  exitCode,
  ...(reason ? { reason } : {}),
});

describe('diagnoseStoppedTask: the synthetic and official fixture events', () => {
  it.each<[string, TaskStateChangeEvent, string, string, string]>([
    [
      'synthetic/lifecycle-4-stopped-exit0',
      syntheticEvent('lifecycle-4-stopped-exit0'),
      'exited-without-final-state',
      `${TASK}: the container exited without the flow reporting a final state (exit code 0 from 'prefect').`,
      'prefect flow-run execute',
    ],
    [
      'synthetic/stopped-essential-container-exit1',
      syntheticEvent('stopped-essential-container-exit1'),
      'non-zero-exit',
      `${TASK}: the flow container 'prefect' exited with code 1, a general error: the process failed (EssentialContainerExited: Essential container in task exited).`,
      'CloudWatch log stream',
    ],
    [
      'synthetic/stopped-oom-exit137',
      syntheticEvent('stopped-oom-exit137'),
      'out-of-memory',
      `${TASK} ran out of memory: container 'prefect' was killed (exit code 137, OutOfMemoryError: Container killed due to memory usage). The task had 2048 MiB.`,
      'e.g. memory: 4096',
    ],
    [
      'synthetic/stopped-spot-interruption',
      syntheticEvent('stopped-spot-interruption'),
      'spot-interruption',
      `${TASK} was stopped because AWS reclaimed its Spot capacity (SpotInterruption: Your Spot Task was interrupted).`,
      'PREFECT_FLOW_RUN_EXECUTE_SIGTERM_BEHAVIOR=reschedule',
    ],
    [
      'official/fragment-fargate-spot-interruption.awsdocs-current',
      officialSpot('fragment-fargate-spot-interruption.awsdocs-current.json'),
      'spot-interruption',
      `${TASK} was stopped because AWS reclaimed its Spot capacity (SpotInterruption: Your Spot Task was interrupted).`,
      'FARGATE_SPOT',
    ],
    [
      'official/fragment-fargate-spot-termination-notice.awsdocs-2023 (the older stop code)',
      officialSpot('fragment-fargate-spot-termination-notice.awsdocs-2023.json'),
      'spot-interruption',
      `${TASK} was stopped because AWS reclaimed its Spot capacity (TerminationNotice: Your Spot Task was interrupted).`,
      'FARGATE_SPOT',
    ],
    [
      'synthetic/stopped-taskfailedtostart-cannotpull',
      syntheticEvent('stopped-taskfailedtostart-cannotpull'),
      'image-pull',
      `${TASK} could not pull the image of container 'prefect' (prefecthq/prefect:3-python3.12): CannotPullContainerError: pull image manifest has been retried 7 time(s): failed to resolve ref docker.io/prefecthq/prefect:does-not-exist: not found.`,
      'the `image` job variable',
    ],
    [
      'synthetic/stopped-taskfailedtostart-resourceinit',
      syntheticEvent('stopped-taskfailedtostart-resourceinit'),
      'resource-initialization',
      `${TASK} failed to start: ECS could not fetch the secrets the task definition references: ResourceInitializationError: unable to pull secrets or registry auth: execution resource retrieval failed: unable to retrieve secret from asm: AccessDeniedException.`,
      'secretsmanager:GetSecretValue',
    ],
    [
      'synthetic/stopped-user-initiated',
      syntheticEvent('stopped-user-initiated'),
      'stopped-by-user',
      `${TASK} was stopped by a StopTask call (UserInitiated: Task stopped by user).`,
      'cancel it in Prefect instead',
    ],
  ])('%s', (_file, event, cause, message, fix) => {
    // Act
    const diagnosis = diagnoseStoppedTask(event);
    // Assess
    expect(diagnosis.cause).toBe(cause);
    expect(diagnosis.message).toBe(message);
    expect(diagnosis.fix).toContain(fix);
    expect(crashMessage(diagnosis)).toBe(`${message} ${diagnosis.fix}`);
  });
});

describe('diagnoseStoppedTask: variations', () => {
  it.each<[string, TaskStateChangeEvent, string, string | RegExp, string]>([
    [
      'ServiceSchedulerInitiated',
      stoppedWith(
        { exitCode: 143 },
        {
          stopCode: 'ServiceSchedulerInitiated',
          stoppedReason: 'Scaling activity initiated by (deployment ecs-svc/1)',
        }
      ),
      'stopped-by-scheduler',
      `${TASK} was stopped by the ECS scheduler (ServiceSchedulerInitiated: Scaling activity initiated by (deployment ecs-svc/1)).`,
      'RunTask only',
    ],
    [
      'an essential sidecar exited and ECS stopped the flow container',
      withDetail(stoppedWith({ exitCode: 143 }), {
        containers: [...stoppedWith({ exitCode: 143 }).detail.containers, sidecar(2)],
      }),
      'essential-sidecar-exited',
      `${TASK} stopped because its essential container 'otel-collector' exited (exit code 2), and ECS then stopped the flow container 'prefect' (exit code 143).`,
      '`essential: false`',
    ],
    [
      'an essential sidecar ran out of memory',
      withDetail(stoppedWith({}), {
        containers: [
          ...stoppedWith({}).detail.containers,
          sidecar(137, 'OutOfMemoryError: Container killed due to memory usage'),
        ],
      }),
      'essential-sidecar-exited',
      /'otel-collector' exited \(exit code 137, OutOfMemoryError: Container killed due to memory usage\), and ECS then stopped the flow container 'prefect' \(no exit code\)/,
      'otel-collector',
    ],
    [
      'exit 137 without an OutOfMemoryError reason',
      stoppedWith({ exitCode: 137 }, { memory: '512' }),
      'out-of-memory',
      `${TASK} ran out of memory: container 'prefect' was killed (exit code 137). The task had 512 MiB.`,
      'e.g. memory: 1024',
    ],
    [
      'exit 127 (command not found)',
      stoppedWith({ exitCode: 127 }),
      'non-zero-exit',
      /exited with code 127, the command was not found/,
      'install `prefect` in the image',
    ],
    [
      'an exit code nobody explains',
      stoppedWith({ exitCode: 3, reason: 'custom' }),
      'non-zero-exit',
      /exited with code 3, an unexpected exit code \(custom\)/,
      'CloudWatch log stream',
    ],
    [
      'no exit code and no stop code we know',
      stoppedWith(
        {},
        { stopCode: 'EssentialContainerExited', stoppedReason: 'Host EC2 instance terminated' }
      ),
      'no-exit-code',
      `${TASK} stopped without an exit code for 'prefect' (EssentialContainerExited: Host EC2 instance terminated): ECS or its host ended it.`,
      'CloudTrail',
    ],
    [
      'no containers and no TaskFailedToStart',
      withDetail(stoppedWith({}), {
        containers: [],
        stopCode: undefined,
        stoppedReason: undefined,
      }),
      'no-exit-code',
      `${TASK} stopped without an exit code and without containers: ECS or its host ended it.`,
      'CloudTrail',
    ],
    [
      'two containers and no way to tell which runs the flow',
      withDetail(stoppedWith({}), {
        overrides: { containerOverrides: [] },
        containers: [
          { ...sidecar(1), name: 'app' },
          { ...sidecar(2), name: 'worker' },
        ],
      }),
      'non-zero-exit',
      `${TASK}: the containers 'app' (exit code 1), 'worker' (exit code 2) exited with non-zero codes (EssentialContainerExited: Essential container in task exited).`,
      'CloudWatch',
    ],
    [
      'exit 0 after StopTask: the stop explains it',
      stoppedWith(
        { exitCode: 0 },
        { stopCode: 'UserInitiated', stoppedReason: 'Stopped by Prefect worker' }
      ),
      'stopped-by-user',
      `${TASK} was stopped by a StopTask call (UserInitiated: Stopped by Prefect worker).`,
      'CloudTrail',
    ],
    [
      'TaskFailedToStart without containers (no capacity)',
      withDetail(syntheticEvent('stopped-taskfailedtostart-cannotpull'), {
        containers: [],
        stoppedReason: 'The capacity provider could not place the task: RESOURCE:GPU.',
      }),
      'failed-to-start',
      `${TASK} failed to start before creating its containers: The capacity provider could not place the task: RESOURCE:GPU.`,
      'capacity provider',
    ],
    [
      'TaskFailedToStart: CannotStartContainerError',
      withDetail(syntheticEvent('stopped-taskfailedtostart-cannotpull'), {
        containers: [],
        stoppedReason: 'CannotStartContainerError: failed to create shim task',
      }),
      'failed-to-start',
      /failed to start before creating its containers: CannotStartContainerError/,
      '`command` job variable',
    ],
    [
      'ResourceInitializationError: logs',
      withDetail(syntheticEvent('stopped-taskfailedtostart-resourceinit'), {
        containers: [],
        stoppedReason:
          'ResourceInitializationError: failed to validate logger args: create stream has been retried 1 times: failed to create Cloudwatch log stream: AccessDeniedException',
      }),
      'resource-initialization',
      /ECS could not set up the CloudWatch log stream/,
      'logs:CreateLogStream',
    ],
    [
      'network interface provisioning timeout',
      withDetail(syntheticEvent('stopped-taskfailedtostart-resourceinit'), {
        containers: [],
        stoppedReason: 'Timeout waiting for network interface provisioning to complete.',
      }),
      'resource-initialization',
      /ECS could not attach a network interface/,
      'free addresses',
    ],
    [
      'ResourceInitializationError: ECR credentials unreachable',
      withDetail(syntheticEvent('stopped-taskfailedtostart-resourceinit'), {
        containers: [],
        stoppedReason:
          'ResourceInitializationError: unable to pull secrets or registry auth: unable to retrieve ecr registry auth: service call has been retried 3 time(s): RequestError: send request failed caused by: Post "https://api.ecr.eu-west-1.amazonaws.com/": dial tcp 10.0.0.1:443: i/o timeout',
      }),
      'resource-initialization',
      /ECS could not fetch the registry credentials/,
      'assignPublicIp: ENABLED',
    ],
    [
      'image pull refused',
      withDetail(syntheticEvent('stopped-taskfailedtostart-cannotpull'), {
        stoppedReason:
          'CannotPullContainerError: pull access denied for private/etl, repository does not exist or may require authorization',
      }),
      'image-pull',
      /could not pull the image/,
      'ecr:BatchGetImage',
    ],
    [
      'image pull rate-limited',
      withDetail(syntheticEvent('stopped-taskfailedtostart-cannotpull'), {
        stoppedReason:
          'CannotPullContainerError: toomanyrequests: You have reached your pull rate limit.',
      }),
      'image-pull',
      /toomanyrequests/,
      'Amazon ECR',
    ],
    [
      'image pull timed out',
      withDetail(syntheticEvent('stopped-taskfailedtostart-cannotpull'), {
        stoppedReason:
          'CannotPullContainerError: ref pull has been retried 5 time(s): failed to copy: httpReadSeeker: failed open: failed to do request: Get "https://registry-1.docker.io/v2/": dial tcp 1.2.3.4:443: i/o timeout',
      }),
      'image-pull',
      /could not pull the image/,
      'NAT gateway',
    ],
  ])('%s', (_name, event, cause, message, fix) => {
    // Act
    const diagnosis = diagnoseStoppedTask(event);
    // Assess
    expect(diagnosis.cause).toBe(cause);
    if (typeof message === 'string') expect(diagnosis.message).toBe(message);
    else expect(diagnosis.message).toMatch(message);
    expect(diagnosis.fix).toContain(fix);
  });

  it('says what happened and what to do for every cause, naming the task', () => {
    // Prepare
    const events = [
      'lifecycle-4-stopped-exit0',
      'stopped-essential-container-exit1',
      'stopped-oom-exit137',
      'stopped-spot-interruption',
      'stopped-taskfailedtostart-cannotpull',
      'stopped-taskfailedtostart-resourceinit',
      'stopped-user-initiated',
    ].map(syntheticEvent);
    // Act / Assess
    for (const event of events) {
      const { message, fix } = diagnoseStoppedTask(event);
      expect(message).toContain('0f1e2d3c4b5a69788796a5b4c3d2e1f0');
      expect(message).toMatch(/[.)]$/);
      expect(fix.length).toBeGreaterThan(40);
      expect(message).not.toMatch(/\.\./);
    }
  });
});
