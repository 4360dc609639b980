import type { Tag } from '@aws-sdk/client-ecs';
import { slugifyTag } from './slugify-tag.ts';

/** The tag ECS events are matched by: the flow run the task runs. */
export const FLOW_RUN_ID_TAG_KEY = 'prefect.io/flow-run-id';

/**
 * The tag asking for the task definition to be deregistered once the task stops. The typo
 * (`degregister`) is in prefect-aws itself; we write and read this exact key so that Prefect's
 * observer and ours treat each other's tasks the same way.
 */
export const DEREGISTER_TAG_KEY = 'prefect.io/degregister-task-definition';

/** ECS limits per resource: 50 tags, keys 1–128 characters, values 0–256. */
export const TAG_LIMITS = { count: 50, keyLength: 128, valueLength: 256 } as const;

export interface TaskTagsInput {
  /** The templated `task_run_request.tags`: a `{key: value}` object or a `[{key, value}]` list. */
  templateTags: unknown;
  /** `configuration.labels` (the `prefect.io/*` labels, then the user's); they win over the template. */
  labels: Readonly<Record<string, string | null>>;
  /** Add the deregister tag (a task definition was registered for this run and auto-deregister is on). */
  deregister: boolean;
}

/**
 * RunTask `tags` as prefect-aws builds them (template tags minus keys the labels set, then the
 * labels, keys and values through {@link slugifyTag}, then the deregister tag), then cut to what
 * ECS accepts instead of letting RunTask fail: no empty or `aws:` keys, keys ≤ 128 and values ≤ 256
 * characters (truncated), one tag per key (the later wins), and at most 50 tags, keeping
 * `prefect.io/flow-run-id` and the other `prefect.io/*` tags before the user's. Every change is
 * reported in `warnings`.
 *
 * @example
 * ```ts
 * buildTaskTags({ templateTags: {}, labels: { 'prefect.io/flow-run-id': id, team: 'Data & ML' }, deregister: false });
 * // { tags: [{ key: 'prefect.io/flow-run-id', value: id }, { key: 'team', value: 'Data-ML' }], warnings: [] }
 * ```
 */
export const buildTaskTags = (input: TaskTagsInput): { tags: Tag[]; warnings: string[] } => {
  const warnings: string[] = [];
  const labelKeys = new Set(Object.keys(input.labels));
  const raw = [
    ...templateTagList(input.templateTags, warnings).filter((tag) => !labelKeys.has(tag.key)),
    ...Object.entries(input.labels).flatMap(([key, value]) =>
      value === null || value === undefined ? [] : [{ key, value: String(value) }]
    ),
  ];
  const byKey = new Map<string, string>();
  for (const tag of raw) {
    const key = fitKey(slugifyTag(tag.key), tag.key, warnings);
    if (key === undefined) continue;
    byKey.set(key, fitValue(slugifyTag(tag.value), key, warnings));
  }
  if (input.deregister) byKey.set(DEREGISTER_TAG_KEY, 'true');
  return { tags: keepWithinCount([...byKey], warnings), warnings };
};

const templateTagList = (tags: unknown, warnings: string[]): { key: string; value: string }[] => {
  if (tags === null || tags === undefined) return [];
  if (Array.isArray(tags)) {
    return tags.flatMap((tag: unknown) => {
      const { key, value } = (tag ?? {}) as { key?: unknown; value?: unknown };
      if (typeof key !== 'string') {
        warnings.push(
          `Ignored a task_run_request tag without a string key: ${JSON.stringify(tag)}`
        );
        return [];
      }
      return [{ key, value: value === null || value === undefined ? '' : String(value) }];
    });
  }
  if (typeof tags === 'object') {
    return Object.entries(tags).flatMap(([key, value]) =>
      value === null || value === undefined ? [] : [{ key, value: String(value) }]
    );
  }
  warnings.push(`Ignored task_run_request.tags: expected an object or a list, got ${typeof tags}`);
  return [];
};

const fitKey = (key: string, original: string, warnings: string[]): string | undefined => {
  if (key === '') {
    warnings.push(`Dropped the tag ${JSON.stringify(original)}: its key is empty once slugified`);
    return undefined;
  }
  if (key.toLowerCase().startsWith('aws:')) {
    warnings.push(`Dropped the tag ${JSON.stringify(key)}: the aws: prefix is reserved by AWS`);
    return undefined;
  }
  if (key.length <= TAG_LIMITS.keyLength) return key;
  const cut = key.slice(0, TAG_LIMITS.keyLength);
  warnings.push(
    `Truncated the tag key ${JSON.stringify(key)} to ${TAG_LIMITS.keyLength} characters: ${JSON.stringify(cut)}`
  );
  return cut;
};

const fitValue = (value: string, key: string, warnings: string[]): string => {
  if (value.length <= TAG_LIMITS.valueLength) return value;
  warnings.push(
    `Truncated the value of the tag ${JSON.stringify(key)} from ${value.length} to ${TAG_LIMITS.valueLength} characters`
  );
  return value.slice(0, TAG_LIMITS.valueLength);
};

/** 0: the flow-run id tag; 1: other `prefect.io/*` tags; 2: everything else. */
const priority = (key: string): number =>
  key === FLOW_RUN_ID_TAG_KEY ? 0 : key.startsWith('prefect.io/') ? 1 : 2;

const keepWithinCount = (entries: [string, string][], warnings: string[]): Tag[] => {
  const tags = entries.map(([key, value]) => ({ key, value }));
  if (tags.length <= TAG_LIMITS.count) return tags;
  const kept = new Set(
    tags
      .map((tag, index) => ({ tag, index }))
      .sort((a, b) => priority(a.tag.key) - priority(b.tag.key) || a.index - b.index)
      .slice(0, TAG_LIMITS.count)
      .map(({ tag }) => tag)
  );
  const dropped = tags.filter((tag) => !kept.has(tag)).map((tag) => tag.key);
  warnings.push(
    `ECS allows ${TAG_LIMITS.count} tags per task; dropped ${dropped.length} label(s): ${dropped.join(', ')}`
  );
  return tags.filter((tag) => kept.has(tag));
};
