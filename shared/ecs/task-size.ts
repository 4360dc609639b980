/**
 * CPU and memory as ECS reads them: integers (`1024`), numeric strings (`"1024"`), or with units
 * (`"1 vCPU"`, `"0.5 vcpu"`, `"2 GB"`, `"512 MiB"`), which ECS converts to CPU units and MiB when it
 * registers a task definition.
 */

/**
 * CPU units, or undefined when `value` is not a positive whole number of units.
 *
 * @example
 * ```ts
 * cpuUnits('1 vCPU'); // 1024
 * cpuUnits(512); // 512
 * ```
 */
export const cpuUnits = (value: unknown): number | undefined =>
  parseSize(value, /^\s*(\d+(?:\.\d+)?)\s*(vcpus?)?\s*$/i, () => 1024);

/**
 * Memory in MiB, or undefined when `value` is not a positive whole number of MiB.
 *
 * @example
 * ```ts
 * memoryMiB('2 GB'); // 2048
 * memoryMiB('4096'); // 4096
 * ```
 */
export const memoryMiB = (value: unknown): number | undefined =>
  parseSize(value, /^\s*(\d+(?:\.\d+)?)\s*(gb|gib|mb|mib)?\s*$/i, (unit) =>
    unit.toLowerCase().startsWith('g') ? 1024 : 1
  );

const parseSize = (
  value: unknown,
  pattern: RegExp,
  multiplier: (unit: string) => number
): number | undefined => {
  if (typeof value === 'number') {
    return Number.isInteger(value) && value > 0 ? value : undefined;
  }
  if (typeof value !== 'string') return undefined;
  const match = pattern.exec(value);
  if (!match?.[1]) return undefined;
  const amount = Number(match[1]) * (match[2] ? multiplier(match[2]) : 1);
  return Number.isInteger(amount) && amount > 0 ? amount : undefined;
};
