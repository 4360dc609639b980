/** Prefect objects, base job templates and an in-memory TemplateLookups for the jobs tests. */
import { readFileSync } from 'node:fs';
import type { TemplateLookups } from '../../../../shared/jobs/template-lookups.ts';
import {
  type Deployment,
  DeploymentSchema,
  type Flow,
  type FlowRun,
  FlowRunSchema,
  FlowSchema,
  type WorkPool,
  WorkPoolSchema,
} from '../../../../shared/prefect/schemas.ts';

export const IDS = {
  pool: '0b3b2d4e-1111-4aaa-8bbb-000000000001',
  flow: 'a1b22d4e-1111-4aaa-8bbb-000000000003',
  deployment: 'e5f62d4e-1111-4aaa-8bbb-000000000004',
  run: '7f0e2d4e-1111-4aaa-8bbb-000000000005',
  block: 'b3002d4e-1111-4aaa-8bbb-00000000000b',
} as const;

const readTemplate = (file: string): Record<string, unknown> =>
  JSON.parse(
    readFileSync(new URL(`../../../fixtures/prefect/${file}`, import.meta.url), 'utf8')
  ) as Record<string, unknown>;

/** A fresh copy of the current prefect-aws default base job template. */
export const currentTemplate = (): Record<string, unknown> =>
  readTemplate('ecs-base-job-template.current.json');
/** A fresh copy of the prefect-aws 0.4.x base job template older pools carry. */
export const v04Template = (): Record<string, unknown> =>
  readTemplate('ecs-base-job-template.v0.4.json');

export const workPool = (
  baseJobTemplate: Record<string, unknown> = currentTemplate(),
  name = 'ecs-serverless'
): WorkPool =>
  WorkPoolSchema.parse({
    id: IDS.pool,
    name,
    type: 'ecs',
    base_job_template: baseJobTemplate,
    is_paused: false,
    status: 'READY',
  });

export const flow = (overrides: Record<string, unknown> = {}): Flow =>
  FlowSchema.parse({ id: IDS.flow, name: 'etl', tags: ['nightly'], labels: {}, ...overrides });

export const deployment = (overrides: Record<string, unknown> = {}): Deployment =>
  DeploymentSchema.parse({
    id: IDS.deployment,
    name: 'etl-prod',
    flow_id: IDS.flow,
    job_variables: {},
    work_pool_name: 'ecs-serverless',
    updated: '2026-08-20T09:15:30.123456Z',
    ...overrides,
  });

export const flowRun = (overrides: Record<string, unknown> = {}): FlowRun =>
  FlowRunSchema.parse({
    id: IDS.run,
    name: 'crimson-otter',
    flow_id: IDS.flow,
    deployment_id: IDS.deployment,
    work_pool_name: 'ecs-serverless',
    state: null,
    job_variables: {},
    parameters: { day: '2026-08-21' },
    run_count: 0,
    ...overrides,
  });

/** What an in-memory TemplateLookups holds. */
export interface LookupData {
  variables?: Record<string, unknown>;
  /** Keyed `slug/name`. */
  blocksByName?: Record<string, Record<string, unknown>>;
  blocksById?: Record<string, Record<string, unknown>>;
}

/** An in-memory TemplateLookups that records every read. */
export const fakeLookups = (data: LookupData = {}): TemplateLookups & { reads: string[] } => {
  const reads: string[] = [];
  const variables = data.variables ?? {};
  const byName = data.blocksByName ?? {};
  const byId = data.blocksById ?? {};
  return {
    reads,
    async readVariable(name) {
      reads.push(`variable:${name}`);
      return Object.hasOwn(variables, name)
        ? { value: structuredClone(variables[name]) }
        : undefined;
    },
    async readBlockDocument(id) {
      reads.push(`block-id:${id}`);
      const found = byId[id];
      return found === undefined ? undefined : { data: structuredClone(found) };
    },
    async readBlockDocumentByName(slug, name) {
      reads.push(`block:${slug}/${name}`);
      const found = byName[`${slug}/${name}`];
      return found === undefined ? undefined : { data: structuredClone(found) };
    },
  };
};
