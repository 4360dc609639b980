/**
 * A clock tests move by hand, for the stand-in's `now` option (heartbeats, statuses, schedules).
 *
 * @example
 * const clock = createManualClock('2026-08-21T12:00:00Z');
 * const prefect = await startPrefectStandin({ now: clock.now });
 * clock.advance(91); // the worker that heartbeated at 12:00:00 is now OFFLINE
 */
export interface ManualClock {
  /** The current time (a copy). */
  now: () => Date;
  /** Moves the clock forward by `seconds` (may be fractional or negative). */
  advance: (seconds: number) => void;
  /** Sets the clock. */
  set: (time: Date | string) => void;
  /** `now + seconds` as an ISO string, e.g. for a `scheduled_time`. */
  isoIn: (seconds: number) => string;
}

export const createManualClock = (start: Date | string = '2026-08-21T12:00:00Z'): ManualClock => {
  let current = new Date(start).getTime();
  return {
    now: () => new Date(current),
    advance: (seconds) => {
      current += seconds * 1000;
    },
    set: (time) => {
      current = new Date(time).getTime();
    },
    isoIn: (seconds) => new Date(current + seconds * 1000).toISOString(),
  };
};
