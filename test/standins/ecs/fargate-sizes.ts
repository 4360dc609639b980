/**
 * Task-level CPU and memory as ECS reads them, and the CPU/memory pairs Fargate accepts (the
 * RegisterTaskDefinition `memory` documentation in the ECS model lists the same table).
 */

interface MemoryRange {
  min: number;
  max: number;
  step: number;
}

/** CPU units → the memory (MiB) Fargate pairs with them. 256 allows only 512, 1024 and 2048. */
const FARGATE_MEMORY: ReadonlyMap<number, MemoryRange | readonly number[]> = new Map<
  number,
  MemoryRange | readonly number[]
>([
  [256, [512, 1024, 2048]],
  [512, { min: 1024, max: 4096, step: 1024 }],
  [1024, { min: 2048, max: 8192, step: 1024 }],
  [2048, { min: 4096, max: 16384, step: 1024 }],
  [4096, { min: 8192, max: 30720, step: 1024 }],
  [8192, { min: 16384, max: 61440, step: 4096 }],
  [16384, { min: 32768, max: 122880, step: 8192 }],
]);

export const isFargateSize = (cpu: number, memory: number): boolean => {
  const allowed = FARGATE_MEMORY.get(cpu);
  if (!allowed) return false;
  if ('min' in allowed) {
    return (
      memory >= allowed.min && memory <= allowed.max && (memory - allowed.min) % allowed.step === 0
    );
  }
  return allowed.includes(memory);
};

/** `"1024"`, `"1 vCPU"`, `"0.25 vcpu"` → CPU units; undefined when ECS would reject the text. */
export const parseCpuUnits = (text: string): number | undefined => {
  const match = /^\s*(\d+(?:\.\d+)?)\s*(vcpus?)?\s*$/i.exec(text);
  if (!match?.[1]) return undefined;
  const units = Number(match[1]) * (match[2] ? 1024 : 1);
  return Number.isInteger(units) && units > 0 ? units : undefined;
};

/** `"2048"`, `"2 GB"`, `"2GB"`, `"0.5 GB"` → MiB; undefined when ECS would reject the text. */
export const parseMemoryMiB = (text: string): number | undefined => {
  const match = /^\s*(\d+(?:\.\d+)?)\s*(gb|mb|gib|mib)?\s*$/i.exec(text);
  if (!match?.[1]) return undefined;
  const unit = match[2]?.toLowerCase();
  const mib = Number(match[1]) * (unit === 'gb' || unit === 'gib' ? 1024 : 1);
  return Number.isInteger(mib) && mib > 0 ? mib : undefined;
};

export const fargateSizeMessage = (cpu: number, memory: number): string =>
  `No Fargate configuration exists for given values: ${cpu} CPU, ${memory} memory. See the Amazon ECS documentation for the valid values.`;
