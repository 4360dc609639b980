/** The worker's slug as python-slugify's defaults make it (every value checked with python-slugify 9.0.0). */
import { describe, expect, it } from 'vitest';
import { workerNameSlug } from '../../../../shared/events/worker-name-slug.ts';

describe('workerNameSlug', () => {
  it.each([
    ['prefect-ecs-serverless', 'prefect-ecs-serverless'],
    ["Data Team's ECS (prod)", 'data-team-s-ecs-prod'],
    ['Café Zürich', 'cafe-zurich'],
    ['  --My__Worker--  ', 'my-worker'],
    ['Straße Øst', 'strasse-ost'],
    ['pool 1,000 & more', 'pool-1000-more'],
    ['R&amp;D', 'r-d'],
    ['ecs.worker/v2', 'ecs-worker-v2'],
  ])('%j → %j', (name, slug) => {
    // Act / Assess
    expect(workerNameSlug(name)).toBe(slug);
  });
});
