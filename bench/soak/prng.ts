/**
 * Seeded pseudo-random numbers for the soak (never `Math.random`): the same seed gives the same
 * fault schedule. Every decision draws from a stream of its own, named by a key (`run/17/faults`,
 * `event/17/1/STOPPED/2`), so one decision never shifts another: a run's schedule does not depend
 * on how many runs or events came before it, or in what order the stand-ins produced them.
 *
 * The generator is sfc32 seeded from a 128-bit string hash (cyrb128): small, fast, and good
 * enough to spread faults; nothing here is cryptographic.
 */

/** A stream of numbers, uniform in [0, 1), and the draws built on it. */
export interface Random {
  next(): number;
  /** An integer in [min, max], both included. */
  int(min: number, max: number): number;
  /** True with probability `p`. */
  chance(p: number): boolean;
  pick<T>(items: readonly T[]): T;
  /** One of `entries`, each as likely as its weight. */
  weighted<T>(entries: readonly (readonly [T, number])[]): T;
}

/** cyrb128: four 32-bit words from a string. */
const hash128 = (text: string): [number, number, number, number] => {
  let h1 = 1779033703;
  let h2 = 3144134277;
  let h3 = 1013904242;
  let h4 = 2773480762;
  for (let index = 0; index < text.length; index += 1) {
    const code = text.charCodeAt(index);
    h1 = h2 ^ Math.imul(h1 ^ code, 597399067);
    h2 = h3 ^ Math.imul(h2 ^ code, 2869860233);
    h3 = h4 ^ Math.imul(h3 ^ code, 951274213);
    h4 = h1 ^ Math.imul(h4 ^ code, 2716044179);
  }
  h1 = Math.imul(h3 ^ (h1 >>> 18), 597399067);
  h2 = Math.imul(h4 ^ (h2 >>> 22), 2869860233);
  h3 = Math.imul(h1 ^ (h3 >>> 17), 951274213);
  h4 = Math.imul(h2 ^ (h4 >>> 19), 2716044179);
  h1 ^= h2 ^ h3 ^ h4;
  h2 ^= h1;
  h3 ^= h1;
  h4 ^= h1;
  return [h1 >>> 0, h2 >>> 0, h3 >>> 0, h4 >>> 0];
};

/** sfc32 over the four words. */
const sfc32 = (seed: [number, number, number, number]): (() => number) => {
  let [a, b, c, d] = seed;
  return () => {
    a >>>= 0;
    b >>>= 0;
    c >>>= 0;
    d >>>= 0;
    let t = (a + b) | 0;
    a = b ^ (b >>> 9);
    b = (c + (c << 3)) | 0;
    c = (c << 21) | (c >>> 11);
    d = (d + 1) | 0;
    t = (t + d) | 0;
    c = (c + t) | 0;
    return (t >>> 0) / 4294967296;
  };
};

/**
 * The stream named `key` under `seed`.
 *
 * @example
 * const random = createRandom(42, 'run', 17, 'faults');
 * random.chance(0.1); // the same answer for seed 42 every time
 */
export const createRandom = (seed: string | number, ...key: (string | number)[]): Random => {
  const next = sfc32(hash128(`${seed}/${key.join('/')}`));
  // Discard the first outputs: sfc32 mixes its state in the first dozen rounds.
  for (let round = 0; round < 12; round += 1) next();
  const random: Random = {
    next,
    int: (min, max) => min + Math.floor(next() * (max - min + 1)),
    chance: (p) => next() < p,
    pick: (items) => {
      if (items.length === 0) throw new Error('pick from an empty list');
      return items[Math.floor(next() * items.length)] as (typeof items)[number];
    },
    weighted: (entries) => {
      const total = entries.reduce((sum, [, weight]) => sum + weight, 0);
      let point = next() * total;
      for (const [item, weight] of entries) {
        point -= weight;
        if (point < 0) return item;
      }
      const last = entries.at(-1);
      if (!last) throw new Error('weighted pick from an empty list');
      return last[0];
    },
  };
  return random;
};
