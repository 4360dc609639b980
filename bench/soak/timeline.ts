/**
 * One run's story, for explaining a non-zero count: everything the stand-ins, the Lambdas and the
 * soak's actors recorded about the run, merged in time order: Prefect requests (who made them,
 * what they proposed, what came back, whether a fault answered after the write), ECS calls and
 * events of its tasks, EventBridge deliveries to the reporter, the Lambdas' log lines, the engine,
 * the user, killed launchers and armed faults.
 */
import { isClaimTransitionIdOf } from '../../shared/poll/claim-marker.ts';
import { transitionIdFromEventId } from '../../shared/report/transition-id.ts';
import type { EndToEndWorld } from '../../test/integration/end-to-end-fixtures.ts';
import type { Journal } from './journal.ts';
import { SOAK_ACTOR_HEADER } from './people.ts';

const short = (id: string | undefined): string => (id ?? '?').split('/').at(-1)?.slice(0, 8) ?? '?';

const clip = (text: string, length = 160): string =>
  text.length > length ? `${text.slice(0, length)}…` : text;

/** Who made a Prefect request: a soak actor by its header, else a Lambda (by the transition id). */
const makeAuthorOf = (world: EndToEndWorld) => {
  const reporterIds = new Set(world.aws.events.map((event) => transitionIdFromEventId(event.id)));
  const workerName = world.env.PREFECT_WORKER_NAME ?? '';
  return (headers: Record<string, unknown>, transitionId: string | undefined): string => {
    const actor = headers[SOAK_ACTOR_HEADER];
    if (typeof actor === 'string') return actor;
    if (transitionId && reporterIds.has(transitionId)) return 'reporter';
    if (transitionId && isClaimTransitionIdOf(transitionId, workerName)) return 'poller(claim)';
    return 'lambda';
  };
};

interface Line {
  at: number;
  text: string;
}

/**
 * The run's timeline, one line per thing that happened, `+<ms>` from the run's first request.
 *
 * @example
 * timelineOf(world, journal, runId).join('\n');
 */
export const timelineOf = (world: EndToEndWorld, journal: Journal, runId: string): string[] => {
  const lines: Line[] = [];
  const authorOf = makeAuthorOf(world);
  const taskArns = new Set(
    [...journal.tasks].filter(([, task]) => task.runId === runId).map(([arn]) => arn)
  );

  for (const request of world.prefect.requests) {
    if (!request.path.includes(runId) && !request.url.includes(runId)) continue;
    const body = (request.body ?? {}) as {
      state?: { type?: string; name?: string; state_details?: { transition_id?: string } };
      force?: boolean;
      infrastructure_pid?: string;
    };
    const transitionId = body.state?.state_details?.transition_id;
    let what = `${request.method} ${request.path.replace(runId, '<run>')}`;
    if (body.state) {
      what += ` ${body.state.type}:${body.state.name ?? ''}${body.force ? ' forced' : ''}${transitionId ? ` tid ${transitionId.slice(-8)}` : ''}`;
    }
    if (body.infrastructure_pid) what += ` pid task ${short(body.infrastructure_pid)}`;
    const answer =
      request.handledStatus !== undefined
        ? `${request.handledStatus} written, answer lost (${request.status || 'dropped'})`
        : `${request.status || 'dropped'}`;
    lines.push({
      at: request.at.getTime(),
      text: `prefect  ${authorOf(request.headers, transitionId)}: ${what} → ${answer}`,
    });
  }

  for (const call of world.aws.calls) {
    const input = (call.input ?? {}) as { startedBy?: string; task?: string; tasks?: string[] };
    const mine =
      input.startedBy === `prefect/${runId}` ||
      (input.task !== undefined && taskArns.has(input.task)) ||
      (input.tasks ?? []).some((arn) => taskArns.has(arn));
    if (!mine) continue;
    const output = call.output as { tasks?: { taskArn: string }[] } | undefined;
    const result = call.error
      ? call.error.code
      : (output?.tasks ?? []).map((task) => `task ${short(task.taskArn)}`).join(', ') || 'ok';
    lines.push({
      at: call.at.getTime(),
      text: `ecs      ${call.operation}${input.task ? ` ${short(input.task)}` : ''} → ${result}`,
    });
  }

  for (const event of world.aws.events) {
    if (!taskArns.has(event.detail.taskArn)) continue;
    lines.push({
      at: Date.parse(event.detail.updatedAt),
      text: `ecs      event ${event.detail.lastStatus} (desired ${event.detail.desiredStatus}${event.detail.stopCode ? `, ${event.detail.stopCode}` : ''}) of task ${short(event.detail.taskArn)} [${event.id.slice(0, 8)} → tid ${transitionIdFromEventId(event.id).slice(-8)}]`,
    });
  }

  for (const delivery of journal.deliveries.filter((entry) => entry.runId === runId)) {
    lines.push({
      at: delivery.at,
      text: `bridge   → reporter: ${delivery.status} of task ${short(delivery.taskArn)} [${delivery.eventId.slice(0, 8)}]${delivery.copy ? ' (duplicate)' : ''}${delivery.late ? ' (late)' : ''}${delivery.invocations > 1 ? ` (${delivery.invocations} invocations)` : ''}${delivery.error ? ` failed: ${clip(delivery.error, 80)}` : ''}`,
    });
  }

  for (const line of world.lines.filter((entry) => entry.attributes.flow_run_id === runId)) {
    const {
      reason,
      outcome,
      error,
      action,
      prefect_status: status,
    } = line.attributes as Record<string, unknown>;
    const details = [
      action ? `action ${String(action)}` : '',
      status ? `prefect ${String(status)}` : '',
      reason ? `reason: ${String(reason)}` : '',
      outcome ? `outcome: ${JSON.stringify(outcome)}` : '',
      error ? `error: ${typeof error === 'string' ? error : JSON.stringify(error)}` : '',
    ]
      .filter(Boolean)
      .join('; ');
    lines.push({
      at: line.at.getTime(),
      text: `${line.lambda.padEnd(8)} ${line.level}: ${line.message}${details ? ` (${clip(details, 220)})` : ''}`,
    });
  }

  for (const entry of journal.engine.filter((candidate) => candidate.runId === runId)) {
    lines.push({
      at: entry.at,
      text: `engine   task ${short(entry.taskArn)} (attempt ${entry.attempt?.slice(-8) ?? '?'}): ${entry.action}${entry.answer ? ` → ${entry.answer}` : ''}${entry.state ? ` (${entry.state})` : ''}${entry.detail ? ` ${entry.detail}` : ''}`,
    });
  }
  for (const entry of journal.user.filter((candidate) => candidate.runId === runId)) {
    lines.push({
      at: entry.at,
      text: `user     ${entry.action} (saw ${entry.seen}) → ${entry.answer}`,
    });
  }
  for (const entry of journal.kills.filter((candidate) => candidate.batch.includes(runId))) {
    const whose = entry.runId === runId ? 'this run' : `run ${entry.runId.slice(0, 8)}`;
    lines.push({
      at: entry.at,
      text: `launcher KILLED at ${entry.point} of ${whose}; its invocation (${entry.batch.length} record(s), this run's among them) never returns`,
    });
  }
  for (const entry of journal.faults.filter((candidate) => candidate.runId === runId)) {
    lines.push({ at: entry.at, text: `fault    ${entry.what}` });
  }

  lines.sort((a, b) => a.at - b.at);
  const start = lines[0]?.at ?? 0;
  return lines.map((line) => `+${String(line.at - start).padStart(6)} ms  ${line.text}`);
};
