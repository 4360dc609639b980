import type { ClusterStore } from './clusters.ts';
import { isArn, parseEcsArn } from './ecs-arns.ts';
import { invalidParameter, resourceNotFound } from './ecs-errors.ts';
import { checkTags, mergeTags, type Tag } from './tags.ts';
import type { TaskDefinitionStore } from './task-definitions.ts';
import type { TaskRecord } from './tasks.ts';

interface Tagged {
  tags: Tag[];
}

export interface Tagging {
  tagResource(input: { resourceArn: string; tags: { key?: string; value?: string }[] }): object;
  untagResource(input: { resourceArn: string; tagKeys: string[] }): object;
  listTagsForResource(input: { resourceArn: string }): { tags: Tag[] };
}

/** TagResource / UntagResource / ListTagsForResource on clusters, task definitions and tasks. */
export const createTagging = (
  clusters: ClusterStore,
  taskDefinitions: TaskDefinitionStore,
  tasks: Map<string, TaskRecord>
): Tagging => {
  const resolve = (resourceArn: string): Tagged => {
    const arn = isArn(resourceArn) ? parseEcsArn(resourceArn) : undefined;
    if (!arn)
      throw invalidParameter(`The ARN ${resourceArn} is not a valid Amazon ECS resource ARN.`);
    const found =
      arn.resourceType === 'cluster'
        ? clusters.byArn(resourceArn)
        : arn.resourceType === 'task-definition'
          ? taskDefinitions.byArn(resourceArn)
          : arn.resourceType === 'task'
            ? tasks.get(resourceArn)
            : undefined;
    if (!found) throw resourceNotFound('The specified resource could not be found.');
    return found;
  };

  return {
    tagResource(input) {
      const resource = resolve(input.resourceArn);
      const merged = mergeTags(resource.tags, checkTags(input.tags));
      if (merged.length > 50) throw invalidParameter('The number of tags exceeds the limit of 50.');
      resource.tags = merged;
      return {};
    },
    untagResource(input) {
      const resource = resolve(input.resourceArn);
      resource.tags = resource.tags.filter((tag) => !input.tagKeys.includes(tag.key));
      return {};
    },
    listTagsForResource(input) {
      return { tags: resolve(input.resourceArn).tags };
    },
  };
};
