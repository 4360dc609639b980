import { afterEach, describe, expect, it } from 'vitest';
import { createPrefectClient } from '../../../shared/prefect/client.ts';
import { seed } from './actors.ts';
import { rawCall } from './raw-http.ts';
import { type PrefectStandin, startPrefectStandin } from './server.ts';

describe('Prefect stand-in: POST /deployments/filter', () => {
  let prefect: PrefectStandin;
  afterEach(async () => {
    await prefect.close();
  });

  it("answers a pool's deployments by name, page after page, through the client", async () => {
    // Prepare
    prefect = await startPrefectStandin();
    await seed.workPool(prefect.apiUrl, { name: 'ecs' });
    await seed.workPool(prefect.apiUrl, { name: 'other' });
    for (const name of ['b', 'a', 'c']) {
      await seed.deployment(prefect.apiUrl, { name, workPoolName: 'ecs' });
    }
    await seed.deployment(prefect.apiUrl, { name: 'elsewhere', workPoolName: 'other' });
    await seed.deployment(prefect.apiUrl, { name: 'no-pool' });
    const client = createPrefectClient({ apiUrl: prefect.apiUrl });
    // Act
    const all = await client.readWorkPoolDeployments('ecs');
    const second = await client.readDeployments({ workPoolNames: ['ecs'], limit: 1, offset: 1 });
    const newest = await client.readDeployments({
      workPoolNames: ['ecs', 'other'],
      sort: 'NAME_DESC',
    });
    const none = await client.readWorkPoolDeployments('missing');
    // Assess
    expect(all.map((deployment) => deployment.name)).toEqual(['a', 'b', 'c']);
    expect(all.every((deployment) => deployment.work_pool_name === 'ecs')).toBe(true);
    expect(second.map((deployment) => deployment.name)).toEqual(['b']);
    expect(newest.map((deployment) => deployment.name)).toEqual(['elsewhere', 'c', 'b', 'a']);
    expect(none).toEqual([]);
  });

  it('answers 501 for a filter it does not evaluate, and 422 for an unknown field', async () => {
    // Prepare
    prefect = await startPrefectStandin();
    // Act
    const flows = await rawCall(prefect.apiUrl, 'POST', '/deployments/filter', {
      body: { flows: { name: { any_: ['f'] } } },
    });
    const operator = await rawCall(prefect.apiUrl, 'POST', '/deployments/filter', {
      body: { work_pools: { name: { like_: 'e' } } },
    });
    const unknown = await rawCall(prefect.apiUrl, 'POST', '/deployments/filter', {
      body: { work_pools: { nickname: { any_: ['e'] } } },
    });
    // Assess
    expect(flows.status).toBe(501);
    expect(operator.status).toBe(422);
    expect(unknown.status).toBe(422);
  });
});
