/**
 * Device clocks lie (a dead RTC battery, a bad NTP answer): a timestamp from a device is bounded
 * against the fleet's own clock before anything is ordered by it. One ten years ahead would
 * otherwise sort first forever and freeze the device's dashboard ("the latest sample wins").
 */

/** How far ahead of the fleet's clock a device's timestamp may be and still be believed. */
export const MAX_CLOCK_AHEAD_MS = 5 * 60_000;

/** The time to order a message by: the device's, unless it is in the future; then the receive time. */
export function orderingTs(deviceTs: number, receivedAt: number, maxAheadMs = MAX_CLOCK_AHEAD_MS): number {
  return deviceTs > receivedAt + maxAheadMs ? receivedAt : deviceTs;
}
