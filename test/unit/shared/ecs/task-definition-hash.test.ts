import type { RegisterTaskDefinitionCommandInput } from '@aws-sdk/client-ecs';
import { describe, expect, it } from 'vitest';
import { normalizeTaskDefinition } from '../../../../shared/ecs/normalize-task-definition.ts';
import {
  CONTENT_HASH_TAG_KEY,
  canonicalJson,
  contentHashFromTags,
  contentHashTag,
  hashTaskDefinition,
} from '../../../../shared/ecs/task-definition-hash.ts';

const registered: RegisterTaskDefinitionCommandInput = {
  family: 'prefect_ecs-pool_a1b2',
  cpu: '1024',
  memory: '2048',
  networkMode: 'awsvpc',
  requiresCompatibilities: ['FARGATE'],
  executionRoleArn: 'arn:aws:iam::123456789012:role/exec',
  containerDefinitions: [
    {
      name: 'prefect',
      image: 'prefecthq/prefect:3-python3.12',
      environment: [
        { name: 'B', value: '2' },
        { name: 'A', value: '1' },
      ],
      secrets: [
        { name: 'Z', valueFrom: 'arn:z' },
        { name: 'PREFECT_API_KEY', valueFrom: 'arn:key' },
      ],
      portMappings: [{ containerPort: 8080 }],
    },
  ],
};

/** What DescribeTaskDefinition answers for `registered` (fields ECS adds, lists reordered). */
const described = {
  taskDefinitionArn: 'arn:aws:ecs:us-east-1:123456789012:task-definition/prefect_ecs-pool_a1b2:3',
  family: 'prefect_ecs-pool_a1b2',
  revision: 3,
  status: 'ACTIVE',
  cpu: '1024',
  memory: '2048',
  networkMode: 'awsvpc',
  requiresCompatibilities: ['FARGATE'],
  compatibilities: ['EC2', 'FARGATE'],
  requiresAttributes: [{ name: 'ecs.capability.task-eni' }],
  executionRoleArn: 'arn:aws:iam::123456789012:role/exec',
  volumes: [],
  placementConstraints: [],
  registeredAt: new Date('2026-08-21T12:00:00Z'),
  registeredBy: 'arn:aws:iam::123456789012:root',
  enableFaultInjection: false,
  containerDefinitions: [
    {
      name: 'prefect',
      image: 'prefecthq/prefect:3-python3.12',
      cpu: 0,
      essential: true,
      environment: [
        { name: 'A', value: '1' },
        { name: 'B', value: '2' },
      ],
      secrets: [
        { name: 'PREFECT_API_KEY', valueFrom: 'arn:key' },
        { name: 'Z', valueFrom: 'arn:z' },
      ],
      portMappings: [{ containerPort: 8080, hostPort: 8080, protocol: 'tcp' }],
      mountPoints: [],
      volumesFrom: [],
      systemControls: [],
    },
  ],
};

describe('normalizeTaskDefinition / hashTaskDefinition', () => {
  it('a described task definition hashes like the input that registered it', () => {
    // Act / Assess
    expect(normalizeTaskDefinition(described)).toEqual(normalizeTaskDefinition(registered));
    expect(hashTaskDefinition(described)).toBe(hashTaskDefinition(registered));
    expect(hashTaskDefinition(registered)).toMatch(/^[0-9a-f]{64}$/);
  });

  it.each([
    [
      'the image',
      { containerDefinitions: [{ ...registered.containerDefinitions?.[0], image: 'etl:2' }] },
    ],
    ['the execution role', { executionRoleArn: 'arn:aws:iam::123456789012:role/other' }],
    ['the cpu', { cpu: '2048', memory: '4096' }],
    ['the family', { family: 'other' }],
    [
      'an environment value',
      {
        containerDefinitions: [
          { ...registered.containerDefinitions?.[0], environment: [{ name: 'A', value: '9' }] },
        ],
      },
    ],
  ])('changing %s changes the hash', (_name, change) => {
    expect(hashTaskDefinition({ ...registered, ...change })).not.toBe(
      hashTaskDefinition(registered)
    );
  });

  it.each<
    [
      string,
      Partial<RegisterTaskDefinitionCommandInput>,
      Partial<RegisterTaskDefinitionCommandInput>?,
    ]
  >([
    ['"1 vCPU" / "2 GB" vs "1024" / "2048"', { cpu: '1 vCPU', memory: '2 GB' }],
    ['a numeric cpu', { cpu: 1024 as unknown as string }],
    ['no networkMode vs bridge', { networkMode: undefined }, { networkMode: 'bridge' }],
    ['tags (our hash lives there)', { tags: [{ key: CONTENT_HASH_TAG_KEY, value: 'x' }] }],
  ])('ignores %s', (_name, left, right = {}) => {
    expect(hashTaskDefinition({ ...registered, ...left })).toBe(
      hashTaskDefinition({ ...registered, ...right })
    );
  });

  it('fills ECS defaults: essential true, bridge mode, no hostPort 0', () => {
    // Act
    const normalized = normalizeTaskDefinition({
      family: 'f',
      containerDefinitions: [
        { name: 'c', image: 'i', portMappings: [{ containerPort: 80, hostPort: 0 }] },
      ],
    });
    // Assess
    expect(normalized).toEqual({
      family: 'f',
      networkMode: 'bridge',
      containerDefinitions: [
        {
          name: 'c',
          image: 'i',
          essential: true,
          portMappings: [{ containerPort: 80, protocol: 'tcp' }],
        },
      ],
    });
  });

  it('keeps false', () => {
    expect(
      normalizeTaskDefinition({
        family: 'f',
        containerDefinitions: [{ name: 'c', essential: false }],
      })
    ).toMatchObject({ containerDefinitions: [{ essential: false }] });
  });

  it('canonical JSON sorts keys at every level', () => {
    expect(canonicalJson({ b: 1, a: [{ d: 2, c: undefined, e: null }] })).toBe(
      '{"a":[{"d":2,"e":null}],"b":1}'
    );
  });

  it('reads and writes the hash tag', () => {
    // Act
    const tag = contentHashTag('abc');
    // Assess
    expect(CONTENT_HASH_TAG_KEY).toBe('prefect-ecs-serverless/content-hash');
    expect(tag).toEqual({ key: CONTENT_HASH_TAG_KEY, value: 'abc' });
    expect(contentHashFromTags([{ key: 'x', value: 'y' }, tag])).toBe('abc');
    expect(contentHashFromTags(undefined)).toBeUndefined();
  });
});
