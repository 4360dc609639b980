/**
 * The CloudWatch stream a container of a task writes to with the `awslogs` driver:
 * `<awslogs-stream-prefix>/<container name>/<task id>` in `awslogs-group`
 * (https://docs.aws.amazon.com/AmazonECS/latest/developerguide/using_awslogs.html). Without a
 * stream prefix the stream is named after the Docker container id, which no event carries.
 */
import type { TaskDefinition } from '@aws-sdk/client-ecs';
import type { LogStreamLocation } from './log-reader.ts';
import { taskIdOf } from './task-state-change-event.ts';

/** The stream, or why there is none to read. */
export type LogStreamLookup =
  | { found: true; location: LogStreamLocation }
  | { found: false; reason: string };

/**
 * @example
 * logStreamOfContainer(taskDefinition, 'prefect', 'arn:aws:ecs:…:task/prefect/0f1e2d3c');
 * // { found: true, location: { group: 'prefect', stream: 'prefect-logs/prefect/0f1e2d3c', region: 'eu-west-1' } }
 */
export const logStreamOfContainer = (
  taskDefinition: Pick<TaskDefinition, 'containerDefinitions'>,
  containerName: string,
  taskArn: string
): LogStreamLookup => {
  const container = taskDefinition.containerDefinitions?.find(
    (definition) => definition.name === containerName
  );
  if (!container) {
    return { found: false, reason: `the task definition has no container '${containerName}'` };
  }
  const { logDriver, options = {} } = container.logConfiguration ?? {};
  if (logDriver !== 'awslogs') {
    return {
      found: false,
      reason: `container '${containerName}' logs with ${logDriver ?? 'no log driver'}, not awslogs`,
    };
  }
  const group = options['awslogs-group'];
  const prefix = options['awslogs-stream-prefix'];
  if (!group || !prefix) {
    return {
      found: false,
      reason: `container '${containerName}' has no awslogs-group or awslogs-stream-prefix`,
    };
  }
  return {
    found: true,
    location: {
      group,
      stream: `${prefix}/${containerName}/${taskIdOf(taskArn)}`,
      region: options['awslogs-region'] || undefined,
    },
  };
};
