/**
 * What the soak's own actors did, as they did it: the engine in each container, the user, the
 * EventBridge deliveries, the launcher kills and the faults that fired. The audit reads it next to
 * what the stand-ins recorded (Prefect's state history, ECS's tasks and calls, the Lambdas' logs).
 */

/** One thing the flow engine (or its container) did in a task. */
export interface EngineEntry {
  at: number;
  runId: string;
  taskArn: string;
  /** The task's attempt marker (`PREFECT_ECS_SERVERLESS_ATTEMPT`). */
  attempt: string | undefined;
  /**
   * `start` (RUNNING proposed), `complete`, `fail`, `cancelled` (the runner saw CANCELLING and
   * proposed CANCELLED), `reschedule` (Spot SIGTERM), `exit` (the container exited, `detail`:
   * the code), `failed-to-start`, `killed` (StopTask stopped it first), `error`.
   */
  action: string;
  /** Prefect's answer to a proposal: ACCEPT, REJECT, ABORT, WAIT, or the HTTP error. */
  answer?: string;
  /** The state Prefect answered with (for REJECT: the run's current state). */
  state?: string;
  detail?: string;
}

/** One thing the user did in the UI. */
export interface UserEntry {
  at: number;
  runId: string;
  action: 'cancel' | 'retry';
  /** What the user saw just before: the run's state type. */
  seen: string;
  answer: string;
}

/** One delivery of an ECS event to the reporter. */
export interface DeliveryEntry {
  at: number;
  runId: string;
  eventId: string;
  taskArn: string;
  status: string;
  /** 0 for the first delivery, 1 for EventBridge's duplicate. */
  copy: number;
  late: boolean;
  /** Invocations it took (Lambda retries an asynchronous invoke twice). */
  invocations: number;
  error?: string;
}

/** A launcher container killed while launching a run. */
export interface KillEntry {
  at: number;
  runId: string;
  point: string;
  /**
   * The runs of the killed invocation's records (they come back after the visibility timeout):
   * every launch in flight in that container stops where it was.
   */
  batch: string[];
}

/** A fault of the schedule that was armed (it fires on the next matching call). */
export interface FaultEntry {
  at: number;
  runId: string;
  what: string;
}

export interface Journal {
  engine: EngineEntry[];
  user: UserEntry[];
  deliveries: DeliveryEntry[];
  kills: KillEntry[];
  faults: FaultEntry[];
  /** Task ARN → its run and attempt marker, from the first event ECS emitted for it. */
  tasks: Map<string, { runId: string; attempt: string | undefined; firstSeen: number }>;
  /** Run id → the attempt markers of its tasks, in the order their first tasks appeared. */
  attemptsSeen: Map<string, string[]>;
}

export const createJournal = (): Journal => ({
  engine: [],
  user: [],
  deliveries: [],
  kills: [],
  faults: [],
  tasks: new Map(),
  attemptsSeen: new Map(),
});

/**
 * Registers a task the first time it is seen; returns its attempt's index among the run's
 * attempts that have tasks (0 for the first), which picks its fate in the run's script.
 */
export const noteTask = (
  journal: Journal,
  taskArn: string,
  runId: string,
  attempt: string | undefined
): number => {
  if (!journal.tasks.has(taskArn)) {
    journal.tasks.set(taskArn, { runId, attempt, firstSeen: Date.now() });
  }
  const seen = journal.attemptsSeen.get(runId) ?? [];
  const key = attempt ?? '(no marker)';
  if (!seen.includes(key)) seen.push(key);
  journal.attemptsSeen.set(runId, seen);
  return seen.indexOf(key);
};
