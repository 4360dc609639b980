/** Response bodies shaped like a Prefect 3.8 server's, for the client's unit tests. */

export const IDS = {
  pool: '0b3b2d4e-1111-4aaa-8bbb-000000000001',
  queue: '5c1e2d4e-1111-4aaa-8bbb-000000000002',
  flow: 'a1b22d4e-1111-4aaa-8bbb-000000000003',
  deployment: 'e5f62d4e-1111-4aaa-8bbb-000000000004',
  run: '7f0e2d4e-1111-4aaa-8bbb-000000000005',
  state: '91aa2d4e-1111-4aaa-8bbb-000000000006',
  worker: 'c0de2d4e-1111-4aaa-8bbb-000000000007',
  variable: 'fa112d4e-1111-4aaa-8bbb-000000000008',
  blockType: 'b1002d4e-1111-4aaa-8bbb-000000000009',
  blockSchema: 'b2002d4e-1111-4aaa-8bbb-00000000000a',
  blockDocument: 'b3002d4e-1111-4aaa-8bbb-00000000000b',
} as const;

const NOW = '2026-08-21T12:00:00Z';

export const stateBody = (overrides: Record<string, unknown> = {}) => ({
  id: IDS.state,
  type: 'PENDING',
  name: 'Pending',
  timestamp: NOW,
  message: null,
  data: null,
  state_details: { flow_run_id: IDS.run, transition_id: null, scheduled_time: NOW },
  ...overrides,
});

export const flowRunBody = (overrides: Record<string, unknown> = {}) => ({
  id: IDS.run,
  created: NOW,
  updated: NOW,
  name: 'crimson-otter',
  flow_id: IDS.flow,
  state_id: IDS.state,
  deployment_id: IDS.deployment,
  work_queue_id: IDS.queue,
  work_queue_name: 'default',
  work_pool_id: IDS.pool,
  work_pool_name: 'ecs-serverless',
  parameters: { x: 1 },
  context: {},
  empirical_policy: { max_retries: 0, retry_delay_seconds: 0, retry_type: null },
  tags: ['auto-scheduled'],
  labels: { 'prefect.flow.id': IDS.flow },
  state_type: 'SCHEDULED',
  state_name: 'Scheduled',
  run_count: 0,
  expected_start_time: NOW,
  next_scheduled_start_time: NOW,
  start_time: null,
  end_time: null,
  infrastructure_pid: null,
  state: stateBody({ type: 'SCHEDULED', name: 'Scheduled' }),
  job_variables: { cpu: 1024 },
  ...overrides,
});

export const workPoolBody = (overrides: Record<string, unknown> = {}) => ({
  id: IDS.pool,
  created: NOW,
  updated: NOW,
  name: 'ecs-serverless',
  description: null,
  type: 'ecs',
  base_job_template: { job_configuration: {}, variables: { type: 'object', properties: {} } },
  is_paused: false,
  concurrency_limit: null,
  status: 'READY',
  default_queue_id: IDS.queue,
  storage_configuration: { bundle_upload_step: null, bundle_execution_step: null },
  ...overrides,
});

export const workQueueBody = (overrides: Record<string, unknown> = {}) => ({
  id: IDS.queue,
  created: NOW,
  updated: NOW,
  name: 'default',
  description: '',
  is_paused: false,
  concurrency_limit: null,
  priority: 1,
  work_pool_id: IDS.pool,
  filter: null,
  last_polled: null,
  work_pool_name: 'ecs-serverless',
  status: 'NOT_READY',
  ...overrides,
});

export const deploymentBody = (overrides: Record<string, unknown> = {}) => ({
  id: IDS.deployment,
  created: NOW,
  updated: NOW,
  name: 'etl',
  flow_id: IDS.flow,
  paused: false,
  concurrency_limit: null,
  job_variables: { image: 'acct.dkr.ecr/x:1' },
  parameters: {},
  tags: [],
  labels: {},
  work_queue_name: 'default',
  work_pool_name: 'ecs-serverless',
  status: 'READY',
  ...overrides,
});

export const orchestrationBody = (
  status: 'ACCEPT' | 'REJECT' | 'ABORT' | 'WAIT',
  overrides: Record<string, unknown> = {}
) => ({
  status,
  state: stateBody(),
  details:
    status === 'WAIT'
      ? { type: 'wait_details', delay_seconds: 5, reason: 'wait' }
      : status === 'ACCEPT'
        ? { type: 'accept_details' }
        : { type: `${status.toLowerCase()}_details`, reason: 'because' },
  ...overrides,
});

export const blockDocumentBody = (overrides: Record<string, unknown> = {}) => ({
  id: IDS.blockDocument,
  created: NOW,
  updated: NOW,
  name: 'creds',
  data: { value: 's3cr3t' },
  block_schema_id: IDS.blockSchema,
  block_type_id: IDS.blockType,
  block_type_name: 'Secret',
  block_document_references: {},
  is_anonymous: false,
  ...overrides,
});
