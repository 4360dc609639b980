import { invalidParameter } from './ecs-errors.ts';

export interface Tag {
  key: string;
  value: string;
}

interface TagInput {
  key?: string;
  value?: string;
}

/**
 * The tag rules the model cannot express (it already checked count, lengths and characters): a key
 * is required, keys are unique, and the `aws:` prefix is reserved.
 */
export const checkTags = (tags: readonly TagInput[] | undefined): Tag[] => {
  const checked: Tag[] = [];
  const seen = new Set<string>();
  for (const tag of tags ?? []) {
    if (tag.key === undefined || tag.key === '') {
      throw invalidParameter('Tag keys must be between 1 and 128 characters long.');
    }
    if (tag.key.toLowerCase().startsWith('aws:')) {
      throw invalidParameter(`Tag key '${tag.key}' uses the reserved prefix 'aws:'.`);
    }
    if (seen.has(tag.key)) {
      throw invalidParameter(`Duplicate tag key '${tag.key}'. Each tag key must be unique.`);
    }
    seen.add(tag.key);
    checked.push({ key: tag.key, value: tag.value ?? '' });
  }
  return checked;
};

/** TagResource semantics: a new value replaces the old one for the same key. */
export const mergeTags = (current: readonly Tag[], added: readonly Tag[]): Tag[] => {
  const merged = new Map(current.map((tag) => [tag.key, tag.value]));
  for (const tag of added) merged.set(tag.key, tag.value);
  return [...merged].map(([key, value]) => ({ key, value }));
};
