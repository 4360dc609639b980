import { describe, expect, it } from 'vitest';
import {
  checkOperationInput,
  loadServiceModel,
  type ServiceModel,
  standinModelPath,
  validateOperationInput,
  validateShape,
} from './model-validator.ts';

const ecs = (): ServiceModel => loadServiceModel(standinModelPath('ecs.json'));
const secrets = (): ServiceModel =>
  loadServiceModel(standinModelPath('secretsmanager.subset.json'));
const logs = (): ServiceModel => loadServiceModel(standinModelPath('logs.subset.json'));

/** A tiny model for the shape types the vendored subsets do not exercise. */
const tiny: ServiceModel = {
  metadata: { apiVersion: '1', endpointPrefix: 'tiny', protocol: 'json', serviceId: 'Tiny' },
  operations: { Put: { name: 'Put', input: { shape: 'PutRequest' } }, Ping: { name: 'Ping' } },
  shapes: {
    PutRequest: {
      type: 'structure',
      members: {
        labels: { shape: 'Labels' },
        payload: { shape: 'Payload' },
        at: { shape: 'When' },
        size: { shape: 'Size' },
        ratio: { shape: 'Ratio' },
        password: { shape: 'Password' },
        enabled: { shape: 'Flag' },
        doc: { shape: 'Doc' },
        node: { shape: 'Node' },
      },
    },
    Node: { type: 'structure', members: { child: { shape: 'Node' } } },
    Labels: { type: 'map', key: { shape: 'LabelKey' }, value: { shape: 'LabelValue' }, max: 2 },
    LabelKey: { type: 'string', min: 1, max: 5 },
    LabelValue: { type: 'string', max: 3 },
    Payload: { type: 'blob', min: 1, max: 4 },
    When: { type: 'timestamp' },
    Size: { type: 'long', min: 0 },
    Ratio: { type: 'double', max: 1 },
    Password: { type: 'string', min: 8, sensitive: true },
    Flag: { type: 'boolean' },
    Doc: { type: 'structure', members: {}, document: true },
  },
};

describe('model-validator', () => {
  describe('loadServiceModel', () => {
    it('loads a vendored model once and serves the same object afterwards', () => {
      // Prepare / Act
      const first = loadServiceModel(standinModelPath('ecs.json'));
      const second = loadServiceModel(standinModelPath('ecs.json'));
      // Assess
      expect(second).toBe(first);
      expect(first.metadata.targetPrefix).toBe('AmazonEC2ContainerServiceV20141113');
    });

    it('fails with a clear message when the file is missing', () => {
      // Prepare / Act / Assess
      expect(() => loadServiceModel('/nonexistent/ecs.json')).toThrow(/model not found/);
    });
  });

  describe('structures', () => {
    it('reports a missing required member with the AWS wording', () => {
      // Prepare / Act
      const message = validateOperationInput(ecs(), 'RunTask', { cluster: 'prefect' });
      // Assess
      expect(message).toBe(
        "1 validation error detected: Value null at 'taskDefinition' failed to satisfy constraint: Member must not be null"
      );
    });

    it('treats null as absent and ignores members the model does not know', () => {
      // Prepare / Act
      const missing = checkOperationInput(ecs(), 'RunTask', { taskDefinition: null });
      const unknown = checkOperationInput(ecs(), 'RunTask', { taskDefinition: 'x', bogus: [1] });
      // Assess
      expect(missing?.issues.map((issue) => issue.path)).toEqual(['taskDefinition']);
      expect(unknown).toBeNull();
    });

    it('lists every violation, with AWS paths into lists', () => {
      // Prepare
      const input = {
        taskDefinition: 'x',
        launchType: 'LAMBDA',
        tags: [
          { key: 'ok', value: 'fine' },
          { key: 'bad key!', value: 'v'.repeat(257) },
        ],
      };
      // Act
      const problem = checkOperationInput(ecs(), 'RunTask', input);
      // Assess
      expect(problem?.kind).toBe('validation');
      expect(problem?.issues.map((issue) => [issue.kind, issue.path])).toEqual([
        ['enum', 'launchType'],
        ['pattern', 'tags.2.member.key'],
        ['length', 'tags.2.member.value'],
      ]);
      expect(problem?.message).toMatch(
        /^3 validation errors detected: Value 'LAMBDA' at 'launchType'/
      );
      expect(problem?.message).toContain(
        'Member must satisfy enum value set: [EC2, FARGATE, EXTERNAL, MANAGED_INSTANCES]'
      );
      expect(problem?.message).toContain(
        "Value 'bad key!' at 'tags.2.member.key' failed to satisfy constraint: Member must satisfy regular expression pattern: ([\\p{L}\\p{Z}\\p{N}_.:/=+\\-@]*)"
      );
    });

    it('checks list length (at most 50 tags)', () => {
      // Prepare
      const tags = Array.from({ length: 51 }, (_, i) => ({ key: `k${i}`, value: 'v' }));
      // Act
      const problem = checkOperationInput(ecs(), 'TagResource', { resourceArn: 'a', tags });
      // Assess
      expect(problem?.issues).toHaveLength(1);
      expect(problem?.issues[0]?.message).toMatch(
        /Member must have length less than or equal to 50$/
      );
    });
  });

  describe('type mismatches', () => {
    it('classifies a string for an integer as a serialization problem', () => {
      // Prepare / Act
      const problem = checkOperationInput(ecs(), 'RunTask', { taskDefinition: 'x', count: '2' });
      // Assess
      expect(problem).toEqual({
        kind: 'serialization',
        message: "VALUE_STRING at 'count' can not be converted to an Integer",
        issues: [expect.objectContaining({ kind: 'type', path: 'count' })],
      });
    });

    it('rejects an object where a list belongs, a fraction for an integer, a top-level array', () => {
      // Prepare / Act
      const list = checkOperationInput(ecs(), 'DescribeTasks', { tasks: { a: 1 } });
      const fraction = checkOperationInput(ecs(), 'RunTask', { taskDefinition: 'x', count: 1.5 });
      const overflow = checkOperationInput(ecs(), 'RunTask', {
        taskDefinition: 'x',
        count: 2 ** 31,
      });
      const root = checkOperationInput(ecs(), 'RunTask', ['taskDefinition']);
      // Assess
      expect(list?.message).toBe("START_OBJECT at 'tasks' can not be converted to a List");
      expect(fraction?.kind).toBe('serialization');
      expect(overflow?.kind).toBe('serialization');
      expect(root?.message).toBe("START_ARRAY at '<root>' can not be converted to a Structure");
    });

    it('survives absurdly deep nesting without a stack overflow', () => {
      // Prepare
      let deep: unknown = {};
      for (let i = 0; i < 10_000; i++) deep = { child: deep };
      // Act
      const problem = checkOperationInput(tiny, 'Put', { node: deep });
      // Assess
      expect(problem?.kind).toBe('serialization');
    });
  });

  describe('other services and shape types', () => {
    it('checks string length (Secrets Manager SecretId, VersionId)', () => {
      // Prepare / Act
      const empty = validateOperationInput(secrets(), 'GetSecretValue', { SecretId: '' });
      const shortVersion = checkOperationInput(secrets(), 'GetSecretValue', {
        SecretId: 'prefect/api-key',
        VersionId: 'x'.repeat(31),
      });
      // Assess
      expect(empty).toBe(
        "1 validation error detected: Value '' at 'SecretId' failed to satisfy constraint: Member must have length greater than or equal to 1"
      );
      expect(shortVersion?.issues[0]?.message).toMatch(/greater than or equal to 32$/);
    });

    it('anchors patterns and checks integer ranges (CloudWatch Logs)', () => {
      // Prepare
      const input = { logGroupName: 'prefect', logStreamName: 'a:b', limit: 0 };
      // Act
      const problem = checkOperationInput(logs(), 'GetLogEvents', input);
      // Assess
      expect(problem?.issues.map((issue) => [issue.kind, issue.path])).toEqual([
        ['pattern', 'logStreamName'],
        ['range', 'limit'],
      ]);
      expect(
        checkOperationInput(logs(), 'GetLogEvents', {
          logGroupName: 'prefect',
          logStreamName: 'ok',
        })
      ).toBeNull();
    });

    it('checks map sizes, map keys and values', () => {
      // Prepare / Act
      const tooMany = validateShape(tiny, 'PutRequest', { labels: { a: '1', b: '2', c: '3' } });
      const badKey = validateShape(tiny, 'PutRequest', { labels: { toolong: 'v' } });
      const badValue = validateShape(tiny, 'PutRequest', { labels: { k: 'long' } });
      // Assess
      expect(tooMany.map((issue) => issue.kind)).toEqual(['length']);
      expect(badKey[0]?.message).toBe(
        "Value '{toolong=v}' at 'labels' failed to satisfy constraint: Map keys must satisfy constraint: [Member must have length less than or equal to 5]"
      );
      expect(badValue[0]?.path).toBe('labels.k');
    });

    it('checks blobs as base64 with decoded length, timestamps as epoch numbers, longs and doubles', () => {
      // Prepare / Act
      const ok = validateShape(tiny, 'PutRequest', {
        payload: 'AAEC',
        at: 1764300000.123,
        size: 2 ** 40,
        ratio: 0.5,
        enabled: false,
        doc: { anything: [1, 'two'] },
      });
      const tooLong = validateShape(tiny, 'PutRequest', { payload: 'AAECAwQ=' });
      const notBase64 = validateShape(tiny, 'PutRequest', { payload: 'not base64!' });
      const isoDate = validateShape(tiny, 'PutRequest', { at: '2026-01-15T10:00:00Z' });
      const ranges = validateShape(tiny, 'PutRequest', { size: -1, ratio: 1.5, enabled: 'yes' });
      // Assess
      expect(ok).toEqual([]);
      expect(tooLong.map((issue) => issue.kind)).toEqual(['length']);
      expect(notBase64.map((issue) => issue.kind)).toEqual(['type']);
      expect(isoDate.map((issue) => issue.kind)).toEqual(['type']);
      expect(ranges.map((issue) => [issue.kind, issue.path])).toEqual([
        ['range', 'size'],
        ['range', 'ratio'],
        ['type', 'enabled'],
      ]);
    });

    it('leaves sensitive values out of the message', () => {
      // Prepare / Act
      const message = validateOperationInput(tiny, 'Put', { password: 'hunter2' });
      // Assess
      expect(message).toBe(
        "1 validation error detected: Value at 'password' failed to satisfy constraint: Member must have length greater than or equal to 8"
      );
    });

    it('accepts scalars written as strings when asked to (query protocol)', () => {
      // Prepare
      const input = { size: '5', enabled: 'true', at: '2026-01-15T10:00:00Z' };
      // Act
      const strict = validateShape(tiny, 'PutRequest', input);
      const query = validateShape(tiny, 'PutRequest', input, '', { scalarsAsStrings: true });
      // Assess
      expect(strict).toHaveLength(3);
      expect(query).toEqual([]);
    });

    it('accepts any object for an operation without input and throws on an unknown operation', () => {
      // Prepare / Act / Assess
      expect(checkOperationInput(tiny, 'Ping', { x: 1 })).toBeNull();
      expect(() => checkOperationInput(tiny, 'Nope', {})).toThrow(/no operation Nope/);
    });
  });
});
