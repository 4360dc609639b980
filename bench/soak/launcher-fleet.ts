/**
 * The launch queue's event source mapping with several launcher containers at once, as Lambda
 * scales out: each consumer long-polls the queue, invokes its container with up to `batchSize`
 * records, deletes what succeeded and leaves the failures to come back after their visibility
 * timeout. Consumers race on duplicates and redeliveries like concurrent Lambda containers do.
 *
 * A container can be *killed* while launching a run (the schedule's `kill` point): right after its
 * RunTask answered, just before its `infrastructure_pid` PATCH is sent, or right after that PATCH
 * was answered. A killed container sends no request any more (not even the SDK's or the Prefect
 * client's retries) and sees no answer to one already sent (each call hangs, as in a Lambda
 * stopped by its timeout or a crash); its invocation counts as failed, none of its records is
 * deleted, and the consumer starts a fresh container (a cold start) for its next batch.
 */
import {
  DeleteMessageBatchCommand,
  type Message,
  ReceiveMessageCommand,
} from '@aws-sdk/client-sqs';
import { flowRunIdFromStartedBy } from '../../shared/ecs/started-by.ts';
import {
  type EndToEndWorld,
  type LauncherContainer,
  toSqsRecord,
} from '../../test/integration/end-to-end-fixtures.ts';
import type { Journal } from './journal.ts';
import type { KillPoint } from './run-script.ts';

/** What the fleet asks the soak's director. */
export interface LaunchHooks {
  /** A consumer received the run's launch message (before invoking the launcher). */
  onReceive(runId: string, body: string, receiveCount: number): void;
  /** A container is about to call RunTask for the run; the call waits for this. */
  beforeRunTask(runId: string): Promise<void>;
  /** Whether to kill the container at `point` of the run's launch (true once at most). */
  takeKill(runId: string, point: KillPoint): boolean;
}

export interface LauncherFleet {
  /** Launcher invocations made, and how many were killed. */
  stats: { invocations: number; killed: number; failedRecords: number; containers: number };
  /** Stops polling; waits for the invocations in progress (not the killed ones). */
  stop(): Promise<void>;
}

const never = (): Promise<never> => new Promise<never>(() => {});

const PID_PATCH = /\/flow_runs\/([0-9a-f-]{36})$/;

const runIdOfBody = (body: string): string => {
  try {
    const parsed = JSON.parse(body) as { flow_run_id?: unknown };
    return typeof parsed.flow_run_id === 'string' ? parsed.flow_run_id : '';
  } catch {
    return '';
  }
};

interface Killable {
  container: LauncherContainer;
  whenKilled: Promise<void>;
}

export const startLauncherFleet = (
  world: EndToEndWorld,
  journal: Journal,
  hooks: LaunchHooks,
  options: { consumers: number; batchSize: number }
): LauncherFleet => {
  const stats = { invocations: 0, killed: 0, failedRecords: 0, containers: 0 };
  const queue = world.launchQueue;
  let stopping = false;

  const startContainer = async (batch: () => string[]): Promise<Killable> => {
    let killed = false;
    let markKilled: () => void = () => {};
    const whenKilled = new Promise<void>((resolve) => {
      markKilled = resolve;
    });
    const kill = (runId: string, point: KillPoint): void => {
      if (killed) return;
      killed = true;
      journal.kills.push({ at: Date.now(), runId, point, batch: batch() });
      markKilled();
    };
    const container = await world.startLauncherContainer({
      fetch: async (input, init) => {
        if (killed) return never();
        const method = (init?.method ?? 'GET').toUpperCase();
        const url = input instanceof Request ? input.url : String(input);
        const pidRun = method === 'PATCH' ? PID_PATCH.exec(new URL(url).pathname)?.[1] : undefined;
        if (pidRun && hooks.takeKill(pidRun, 'before-pid-write')) {
          kill(pidRun, 'before-pid-write');
          return never();
        }
        const response = await fetch(input, init);
        if (killed) return never();
        if (pidRun && hooks.takeKill(pidRun, 'after-pid-write')) {
          kill(pidRun, 'after-pid-write');
          return never();
        }
        return response;
      },
      beforeAwsRequest: async () => {
        if (killed) await never();
      },
      aroundAwsCall: async (call, proceed) => {
        if (killed) return never();
        const runId =
          call.operation === 'RunTask'
            ? flowRunIdFromStartedBy((call.input as { startedBy?: string }).startedBy)
            : undefined;
        if (runId) await hooks.beforeRunTask(runId);
        const output = await proceed();
        if (killed) return never();
        if (runId && hooks.takeKill(runId, 'after-run-task')) {
          kill(runId, 'after-run-task');
          return never();
        }
        return output;
      },
    });
    stats.containers += 1;
    return { container, whenKilled };
  };

  const consume = async (): Promise<void> => {
    let current: Killable | undefined;
    let batch: string[] = [];
    while (!stopping) {
      let messages: Message[];
      try {
        ({ Messages: messages = [] } = await world.sqsClient.send(
          new ReceiveMessageCommand({
            QueueUrl: queue.url,
            MaxNumberOfMessages: options.batchSize,
            WaitTimeSeconds: 1,
            MessageSystemAttributeNames: ['All'],
          })
        ));
      } catch {
        continue;
      }
      if (messages.length === 0) continue;
      for (const message of messages) {
        hooks.onReceive(
          runIdOfBody(message.Body ?? ''),
          message.Body ?? '',
          Number(message.Attributes?.ApproximateReceiveCount ?? '1')
        );
      }
      batch = messages.map((message) => runIdOfBody(message.Body ?? ''));
      current ??= await startContainer(() => batch);
      const records = messages.map((message) => toSqsRecord(message, queue));
      stats.invocations += 1;
      const outcome = await Promise.race([
        current.container.handler({ Records: records }).then(
          (response) => ({ kind: 'answered' as const, response }),
          (error: unknown) => ({ kind: 'threw' as const, error })
        ),
        current.whenKilled.then(() => ({ kind: 'killed' as const })),
      ]);
      if (outcome.kind === 'killed') {
        stats.killed += 1;
        stats.failedRecords += records.length;
        current = undefined;
        continue;
      }
      const failed = new Set(
        outcome.kind === 'answered'
          ? outcome.response.batchItemFailures.map((item) => item.itemIdentifier)
          : records.map((record) => record.messageId)
      );
      stats.failedRecords += failed.size;
      const done = records.filter((record) => !failed.has(record.messageId));
      if (done.length === 0) continue;
      try {
        await world.sqsClient.send(
          new DeleteMessageBatchCommand({
            QueueUrl: queue.url,
            Entries: done.map((record, index) => ({
              Id: `r${index}`,
              ReceiptHandle: record.receiptHandle,
            })),
          })
        );
      } catch {
        // as the mapping: the records come back and the launcher finds them done
      }
    }
  };

  const consumers = Array.from({ length: options.consumers }, () => consume());
  return {
    stats,
    stop: async () => {
      stopping = true;
      await Promise.all(consumers);
    },
  };
};
