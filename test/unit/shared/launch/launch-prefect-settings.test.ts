/**
 * The launcher's Prefect settings reach the flow-run container as Prefect's worker passes its own,
 * and the `prefect.io/version` tag, through `launchFlowRun` with the in-memory ports.
 */
import { describe, expect, it } from 'vitest';
import { buildTaskDefinition } from '../../../../shared/ecs/task-definition.ts';
import {
  CONTENT_HASH_TAG_KEY,
  hashTaskDefinition,
} from '../../../../shared/ecs/task-definition-hash.ts';
import { DEFAULT_PREFECT_VERSION } from '../../../../shared/jobs/resolve-job-configuration.ts';
import { launchFlowRun } from '../../../../shared/launch/launch-flow-run.ts';
import {
  flowRunContext,
  jobConfiguration,
  prefectLabels,
  preparedEnv,
  REGION,
} from '../ecs/job-configuration-factory.ts';
import { launchDeps, message, RUN_ID } from './fakes.ts';

const SETTINGS = {
  PREFECT_API_URL: 'https://stale.example.com/api',
  PREFECT_LOGGING_LEVEL: 'DEBUG',
  PREFECT_CLIENT_MAX_RETRIES: '7',
};

const launchWith = async (
  prefectSettings: Record<string, string>,
  jobVariables: Record<string, unknown> = {}
) => {
  const { deps, prefect, ecs } = launchDeps();
  deps.settings = { ...deps.settings, prefectSettings };
  prefect.setJobVariables({ cluster: 'prefect', image: 'etl:1', ...jobVariables });
  const outcome = await launchFlowRun(message, deps);
  const input = ecs.runInputs[0];
  const environment = Object.fromEntries(
    (input?.overrides?.containerOverrides?.[0]?.environment ?? []).map((pair) => [
      pair.name,
      pair.value,
    ])
  );
  const tags = Object.fromEntries((input?.tags ?? []).map((tag) => [tag.key, tag.value]));
  const hash = [...ecs.revisions.values()][0]?.[0]?.tags?.find(
    (tag) => tag.key === CONTENT_HASH_TAG_KEY
  )?.value;
  return { outcome, environment, tags, hash, input, logs: prefect.logs };
};

describe('launch: the launcher Prefect settings', () => {
  it("puts them into the container's environment, under PREFECT_API_URL of the launcher", async () => {
    // Act
    const { outcome, environment } = await launchWith(SETTINGS);
    // Assess
    expect(outcome.status).toBe('launched');
    expect(environment).toMatchObject({
      PREFECT_API_URL: 'https://prefect.example.com/api',
      PREFECT_LOGGING_LEVEL: 'DEBUG',
      PREFECT_CLIENT_MAX_RETRIES: '7',
      PREFECT__FLOW_RUN_ID: RUN_ID,
    });
  });

  it('lets the env job variable win over a forwarded setting, as Prefect layers them', async () => {
    // Act
    const { environment } = await launchWith(SETTINGS, {
      env: { PREFECT_LOGGING_LEVEL: 'WARNING' },
    });
    // Assess
    expect(environment.PREFECT_LOGGING_LEVEL).toBe('WARNING');
    expect(environment.PREFECT_CLIENT_MAX_RETRIES).toBe('7');
  });

  it('never passes a credential as a plain variable, even one handed to it as a setting', async () => {
    // Act
    const { environment, input } = await launchWith({
      ...SETTINGS,
      PREFECT_API_KEY: 'pnu_never-plain',
    });
    // Assess
    expect(environment).not.toHaveProperty('PREFECT_API_KEY');
    expect(JSON.stringify(input)).not.toContain('pnu_never-plain');
  });

  it('keeps settings out of the task definition: another setting registers the same content', async () => {
    // Act
    const first = await launchWith(SETTINGS);
    const second = await launchWith({ PREFECT_LOGGING_LEVEL: 'ERROR' });
    // Assess
    expect(first.hash).toMatch(/^[0-9a-f]+$/);
    expect(second.hash).toBe(first.hash);
  });
});

describe('launch: the prefect.io/version tag', () => {
  it('carries the Prefect release whose worker we reproduce, as prefect.__version__ would', async () => {
    // Act
    const { tags } = await launchWith({});
    // Assess
    expect(DEFAULT_PREFECT_VERSION).toBe('3.8.3');
    expect(tags['prefect.io/version']).toBe('3.8.3');
    expect(tags['prefect.io/flow-run-id']).toBe(RUN_ID);
  });

  it("leaves task-definition content alone: a revision registered by the release that wrote '3' is reused", () => {
    // Prepare: what the previous release built (version '3', no forwarded settings) and what this one builds
    const options = { region: REGION };
    const previous = jobConfiguration({
      labels: { ...prefectLabels(), 'prefect.io/version': '3' },
    });
    const current = jobConfiguration({
      labels: { ...prefectLabels(), 'prefect.io/version': DEFAULT_PREFECT_VERSION },
      env: { PREFECT_LOGGING_LEVEL: 'DEBUG', ...preparedEnv() },
    });
    // Act
    const before = hashTaskDefinition(buildTaskDefinition(previous, flowRunContext(), options));
    const after = hashTaskDefinition(buildTaskDefinition(current, flowRunContext(), options));
    // Assess
    expect(after).toBe(before);
  });
});
