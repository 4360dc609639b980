/**
 * With `task_definition_arn` set, the template's `task_definition` is not used: nothing is registered,
 * and RunTask cannot override the image. prefect-aws warns about this; so do we, naming what is ignored.
 */

const MAX_LISTED = 10;

const isEmpty = (value: unknown): boolean =>
  value === null ||
  value === undefined ||
  value === '' ||
  (Array.isArray(value) && value.every(isEmpty)) ||
  (typeof value === 'object' &&
    !Array.isArray(value) &&
    Object.values(value as Record<string, unknown>).every(isEmpty));

/** Paths of the set leaves of `value`, e.g. `containerDefinitions[0].image`. */
const setPaths = (value: unknown, path: string, into: string[]): void => {
  if (isEmpty(value)) return;
  if (Array.isArray(value)) {
    value.forEach((item, index) => {
      setPaths(item, `${path}[${index}]`, into);
    });
    return;
  }
  if (typeof value === 'object' && value !== null) {
    for (const [key, item] of Object.entries(value)) {
      setPaths(item, path ? `${path}.${key}` : key, into);
    }
    return;
  }
  into.push(path);
};

/**
 * The warning for a run whose `task_definition_arn` makes template settings moot, or undefined when the
 * templated `task_definition` sets nothing.
 *
 * @example
 * ignoredTaskDefinitionWarning('arn:…:task-definition/etl:3', { containerDefinitions: [{ image: 'x' }] });
 * // "task_definition_arn is set (arn:…:task-definition/etl:3), so these task_definition settings of the
 * //  template are ignored: containerDefinitions[0].image. …"
 */
export const ignoredTaskDefinitionWarning = (
  arn: string,
  taskDefinition: Record<string, unknown>
): string | undefined => {
  const paths: string[] = [];
  setPaths(taskDefinition, '', paths);
  if (paths.length === 0) return undefined;
  const listed = paths.slice(0, MAX_LISTED).join(', ');
  const more = paths.length > MAX_LISTED ? ` and ${paths.length - MAX_LISTED} more` : '';
  return `task_definition_arn is set (${arn}), so these task_definition settings of the template are ignored: ${listed}${more}. RunTask cannot change a task definition's image; cpu, memory, command, env and the task role still apply as overrides. Unset task_definition_arn to have the launcher register a task definition from the template.`;
};
