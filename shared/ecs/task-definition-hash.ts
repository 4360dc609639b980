import { createHash } from 'node:crypto';
import type { RegisterTaskDefinitionCommandInput, Tag, TaskDefinition } from '@aws-sdk/client-ecs';
import { isRecord } from './json-values.ts';
import { normalizeTaskDefinition } from './normalize-task-definition.ts';

/**
 * The tag key under which a revision we register carries its content hash, so the registry can
 * reuse the family's latest ACTIVE revision when the hash matches instead of registering again.
 */
export const CONTENT_HASH_TAG_KEY = 'prefect-ecs-serverless/content-hash';

/**
 * Bumped whenever {@link normalizeTaskDefinition} changes meaning, so that hashes computed by an
 * older release never match by accident (the revision is registered once more instead).
 */
export const CONTENT_HASH_VERSION = 1;

/**
 * The content hash of a task definition: SHA-256 (hex, 64 characters) of the canonical JSON
 * (object keys sorted, no whitespace) of `{v: CONTENT_HASH_VERSION, taskDefinition: normalized}`.
 * A built RegisterTaskDefinition input and the DescribeTaskDefinition answer for the revision it
 * registered hash the same; any change of content (image, roles, sizes, env, …) changes it.
 *
 * @example
 * ```ts
 * hashTaskDefinition(input) === hashTaskDefinition(described.taskDefinition); // true
 * ```
 */
export const hashTaskDefinition = (
  taskDefinition: RegisterTaskDefinitionCommandInput | TaskDefinition | Record<string, unknown>
): string =>
  createHash('sha256')
    .update(
      canonicalJson({
        v: CONTENT_HASH_VERSION,
        taskDefinition: normalizeTaskDefinition(taskDefinition),
      })
    )
    .digest('hex');

/**
 * The `{key, value}` tag recording `hash` on a revision.
 *
 * @example
 * ```ts
 * contentHashTag('9f2c…'); // { key: 'prefect-ecs-serverless/content-hash', value: '9f2c…' }
 * ```
 */
export const contentHashTag = (hash: string): Tag => ({ key: CONTENT_HASH_TAG_KEY, value: hash });

/**
 * The content hash recorded in a revision's tags (DescribeTaskDefinition `include: ['TAGS']`).
 *
 * @example
 * ```ts
 * contentHashFromTags(described.tags) === hashTaskDefinition(input); // reuse the revision
 * ```
 */
export const contentHashFromTags = (tags: readonly Tag[] | undefined): string | undefined =>
  tags?.find((tag) => tag.key === CONTENT_HASH_TAG_KEY)?.value;

/**
 * JSON with object keys sorted at every level and `undefined` members left out; dates as ISO text.
 *
 * @example
 * ```ts
 * canonicalJson({ b: 1, a: [{ d: 2, c: 3 }] }); // '{"a":[{"c":3,"d":2}],"b":1}'
 * ```
 */
export const canonicalJson = (value: unknown): string => {
  if (value instanceof Date) return JSON.stringify(value.toISOString());
  if (Array.isArray(value)) {
    return `[${value.map((item) => (item === undefined ? 'null' : canonicalJson(item))).join(',')}]`;
  }
  if (isRecord(value)) {
    const members = Object.keys(value)
      .filter((key) => value[key] !== undefined)
      .sort()
      .map((key) => `${JSON.stringify(key)}:${canonicalJson(value[key])}`);
    return `{${members.join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
};
