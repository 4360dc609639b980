/**
 * Small in-memory fakes of the launch ports (Prefect, ECS, EC2, queue) that record calls, for
 * `launchFlowRun` and `processLaunchRecord` unit tests. The pure modules (rendering, builders) run
 * for real.
 */
import { readFileSync } from 'node:fs';
import type { Ec2Api } from '../../../../shared/ecs/ec2-api.ts';
import type {
  DescribedTaskDefinition,
  EcsApi,
  EcsTaskControl,
  RunTaskInput,
  RunTaskResult,
} from '../../../../shared/ecs/ecs-api.ts';
import { createLaunchCaches } from '../../../../shared/launch/launch-caches.ts';
import type { LaunchDeps, LaunchPrefectApi } from '../../../../shared/launch/launch-deps.ts';
import type { LaunchLogger } from '../../../../shared/launch/launch-logger.ts';
import type { LaunchMessage } from '../../../../shared/launch/launch-message.ts';
import type { QueueApi } from '../../../../shared/launch/queue-api.ts';
import {
  PrefectApiError,
  PrefectNotFoundError,
} from '../../../../shared/prefect/prefect-api-error.ts';
import {
  DeploymentSchema,
  type FlowRun,
  FlowRunSchema,
  FlowSchema,
  OrchestrationResultSchema,
  StateSchema,
  WorkPoolSchema,
} from '../../../../shared/prefect/schemas.ts';

export const RUN_ID = '0b6c0e4e-8c4f-4f53-9d0e-7f6f3c1d2a10';
export const FLOW_ID = '11111111-1111-4111-8111-111111111111';
export const DEPLOYMENT_ID = '22222222-2222-4222-8222-222222222222';
export const POOL_ID = '33333333-3333-4333-8333-333333333333';
export const CLAIM = '2d9f0c1e-1111-4222-8333-444455556666';
export const CLUSTER_ARN = 'arn:aws:ecs:us-east-1:123456789012:cluster/prefect';
export const SCHEDULED = '2026-08-21T12:00:00.000Z';

const template = JSON.parse(
  readFileSync(
    new URL('../../../fixtures/prefect/ecs-base-job-template.current.json', import.meta.url),
    'utf8'
  )
) as Record<string, unknown>;

export const message: LaunchMessage = {
  flow_run_id: RUN_ID,
  work_pool: 'ecs',
  transition_id: CLAIM,
  scheduled_time: SCHEDULED,
  claimed_at: SCHEDULED,
};

/** The same launch as the previous release's poller wrote it (no `claimed_at`). */
export const legacyMessage: LaunchMessage = {
  flow_run_id: RUN_ID,
  work_pool: 'ecs',
  transition_id: CLAIM,
  scheduled_time: SCHEDULED,
};

export const notFound = (path: string) =>
  new PrefectNotFoundError(
    { operation: 'read', method: 'GET', path, attempts: 1 },
    { status: 404, statusText: 'Not Found', detail: 'Not found', retryable: false }
  );

export const apiError = (status: number, retryable: boolean) =>
  new PrefectApiError(
    { operation: 'call', method: 'PATCH', path: `/flow_runs/${RUN_ID}`, attempts: 1 },
    { status, statusText: '', detail: 'injected', retryable }
  );

/** A flow run in the given state (default: this message's claim). */
export const flowRun = (
  overrides: Record<string, unknown> = {},
  state: Record<string, unknown> = {}
): FlowRun =>
  FlowRunSchema.parse({
    id: RUN_ID,
    name: 'brave-fox',
    flow_id: FLOW_ID,
    deployment_id: DEPLOYMENT_ID,
    work_pool_name: 'ecs',
    infrastructure_pid: null,
    state: {
      id: '44444444-4444-4444-8444-444444444444',
      type: 'PENDING',
      name: 'Pending',
      timestamp: SCHEDULED,
      state_details: { transition_id: CLAIM },
      ...state,
    },
    ...overrides,
  });

/** Prefect with one run, its deployment, flow and pool; every call recorded; failures scriptable. */
export const fakePrefect = (run: FlowRun = flowRun()) => {
  const calls: string[] = [];
  const failures = new Map<string, Error[]>();
  const states: { type: string; message?: string | null; force: boolean }[] = [];
  const logs: { level: number; message: string }[] = [];
  let infrastructurePid: string | null | undefined;
  let labels: Record<string, unknown> = { ...run.labels };
  let jobVariables: Record<string, unknown> = { cluster: 'prefect', image: 'etl:1' };
  const fail = (name: string) => {
    const error = failures.get(name)?.shift();
    if (error) throw error;
  };
  const api: LaunchPrefectApi = {
    async readFlowRun(id) {
      calls.push('readFlowRun');
      fail('readFlowRun');
      return FlowRunSchema.parse({
        ...run,
        id,
        infrastructure_pid: infrastructurePid ?? run.infrastructure_pid,
        labels,
      });
    },
    async readFlowRunStates() {
      calls.push('readFlowRunStates');
      fail('readFlowRunStates');
      // The history: this message's claim, then the run's current state (when it is another).
      const claim = StateSchema.parse({
        id: '55555555-5555-4555-8555-555555555555',
        type: 'PENDING',
        name: 'Pending',
        timestamp: SCHEDULED,
        state_details: { transition_id: CLAIM },
      });
      return run.state && run.state.id !== claim.id ? [claim, run.state] : [claim];
    },
    async readDeployment(id) {
      calls.push('readDeployment');
      fail('readDeployment');
      return DeploymentSchema.parse({
        id,
        name: 'etl',
        flow_id: FLOW_ID,
        job_variables: jobVariables,
        work_pool_name: 'ecs',
      });
    },
    async readFlow(id) {
      calls.push('readFlow');
      fail('readFlow');
      return FlowSchema.parse({ id, name: 'etl-flow' });
    },
    async readWorkPool(name) {
      calls.push('readWorkPool');
      fail('readWorkPool');
      return WorkPoolSchema.parse({ id: POOL_ID, name, type: 'ecs', base_job_template: template });
    },
    async setFlowRunState(_id, state, options) {
      calls.push(`setFlowRunState ${state.type}`);
      fail('setFlowRunState');
      states.push({ type: state.type, message: state.message, force: options?.force ?? false });
      return {
        ...OrchestrationResultSchema.parse({
          status: 'ACCEPT',
          state: null,
          details: { type: 'accept_details' },
        }),
        stateWritten: true,
        transitionId: 'generated',
      };
    },
    async updateFlowRun(_id, update) {
      calls.push('updateFlowRun');
      fail('updateFlowRun');
      infrastructurePid = update.infrastructurePid;
    },
    async updateFlowRunLabels(_id, update) {
      calls.push('updateFlowRunLabels');
      fail('updateFlowRunLabels');
      labels = { ...labels, ...update };
      return 'updated';
    },
    async createLogs(lines) {
      calls.push('createLogs');
      fail('createLogs');
      logs.push(...lines.map((line) => ({ level: line.level, message: line.message })));
    },
  };
  return {
    api,
    calls,
    states,
    logs,
    failOn(name: string, ...errors: Error[]) {
      failures.set(name, [...(failures.get(name) ?? []), ...errors]);
    },
    /** Forgets the recorded pid (as for another run of the same deployment). */
    clearPid() {
      infrastructurePid = undefined;
    },
    setJobVariables(variables: Record<string, unknown>) {
      jobVariables = variables;
    },
    get labels() {
      return labels;
    },
    get infrastructurePid() {
      return infrastructurePid;
    },
  };
};

/** ECS with task-definition families and RunTask per clientToken; scripted answers first. */
export const fakeEcs = () => {
  const calls: string[] = [];
  const runInputs: RunTaskInput[] = [];
  const stopped: string[] = [];
  const scripted: (RunTaskResult | Error)[] = [];
  const tasksByToken = new Map<string, string>();
  const revisions = new Map<string, DescribedTaskDefinition[]>();
  let taskCount = 0;
  const api: EcsApi & Pick<EcsTaskControl, 'stopTask'> = {
    async registerTaskDefinition(input) {
      calls.push('registerTaskDefinition');
      const family = input.family ?? '';
      const list = revisions.get(family) ?? [];
      const described: DescribedTaskDefinition = {
        taskDefinition: {
          family,
          revision: list.length + 1,
          status: 'ACTIVE',
          taskDefinitionArn: `arn:aws:ecs:us-east-1:123456789012:task-definition/${family}:${list.length + 1}`,
        },
        tags: (input.tags ?? []).map((tag) => ({ key: tag.key ?? '', value: tag.value ?? '' })),
      };
      list.push(described);
      revisions.set(family, list);
      return described;
    },
    async describeTaskDefinition(family) {
      calls.push('describeTaskDefinition');
      return revisions.get(family)?.findLast((r) => r.taskDefinition.status === 'ACTIVE');
    },
    async runTask(input) {
      calls.push('runTask');
      runInputs.push(input);
      const answer = scripted.shift();
      if (answer instanceof Error) throw answer;
      if (answer) return answer;
      const token = input.clientToken ?? '';
      let arn = tasksByToken.get(token);
      if (!arn) {
        taskCount += 1;
        arn = `arn:aws:ecs:us-east-1:123456789012:task/prefect/task${taskCount}`;
        tasksByToken.set(token, arn);
      }
      return {
        tasks: [
          {
            taskArn: arn,
            clusterArn: CLUSTER_ARN,
            taskDefinitionArn: input.taskDefinition,
            desiredStatus: 'RUNNING',
            lastStatus: 'PROVISIONING',
            createdAt: new Date(),
          },
        ],
        failures: [],
      };
    },
    async listLiveTasksStartedBy() {
      calls.push('listTasks');
      return [];
    },
    async stopTask(_cluster, taskArn) {
      calls.push('stopTask');
      stopped.push(taskArn);
      return undefined;
    },
  };
  return {
    api,
    calls,
    runInputs,
    stopped,
    revisions,
    script(...answers: (RunTaskResult | Error)[]) {
      scripted.push(...answers);
    },
    get taskCount() {
      return taskCount;
    },
  };
};

export const fakeEc2 = (): Ec2Api & { calls: string[] } => {
  const calls: string[] = [];
  return {
    calls,
    async describeVpcs() {
      calls.push('describeVpcs');
      return [{ vpcId: 'vpc-0123456789abcdef0' }];
    },
    async describeSubnets({ vpcId }) {
      calls.push('describeSubnets');
      return [
        { subnetId: 'subnet-0aaaaaaaaaaaaaaa1', vpcId },
        { subnetId: 'subnet-0aaaaaaaaaaaaaaa2', vpcId },
      ];
    },
  };
};

export const recordingLogger = () => {
  const lines: { level: string; message: string; attributes: Record<string, unknown> }[] = [];
  const at =
    (level: string) =>
    (message: string, ...attributes: Record<string, unknown>[]) => {
      lines.push({ level, message, attributes: Object.assign({}, ...attributes) });
    };
  const logger: LaunchLogger = {
    debug: at('debug'),
    info: at('info'),
    warn: at('warn'),
    error: at('error'),
  };
  return { logger, lines };
};

export const fakeQueue = (): QueueApi & { visibility: number[] } => {
  const visibility: number[] = [];
  return {
    visibility,
    async changeVisibility(_receiptHandle, seconds) {
      visibility.push(seconds);
    },
  };
};

/** Wires the fakes into launch deps, with a clock at `now`. */
export const launchDeps = (
  options: { now?: string; deadlineSeconds?: number; run?: FlowRun } = {}
) => {
  const prefect = fakePrefect(options.run);
  const ecs = fakeEcs();
  const ec2 = fakeEc2();
  const { logger, lines } = recordingLogger();
  const queue = fakeQueue();
  const deps: LaunchDeps & { queue: QueueApi } = {
    prefect: prefect.api,
    ecs: ecs.api,
    ec2,
    queue,
    templateLookups: {
      readVariable: async () => undefined,
      readBlockDocument: async () => undefined,
      readBlockDocumentByName: async () => undefined,
    },
    caches: createLaunchCaches(),
    logger,
    now: () => new Date(options.now ?? '2026-08-21T12:00:05Z'),
    random: () => 0.5,
    sleep: async () => {},
    settings: {
      prefectApiUrl: 'https://prefect.example.com/api',
      workerName: 'prefect-ecs-serverless',
      region: 'us-east-1',
      defaultImage: 'prefecthq/prefect:3-latest',
      executionRoleArn: 'arn:aws:iam::123456789012:role/exec',
      apiKeySecretArn: 'arn:aws:secretsmanager:us-east-1:123456789012:secret:key-AbCdEf',
      retryDeadlineSeconds: options.deadlineSeconds ?? 900,
      templateEnvironment: {},
      templateEnvAllowlist: [],
    },
  };
  return { deps, prefect, ecs, ec2, lines, queue };
};
