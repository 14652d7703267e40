/** Face regions as ordered landmark loops of the 468-point MediaPipe mesh. */

/** Outer lip contour, clockwise from the right mouth corner (61) along the lower lip. */
export const LIPS_OUTER = [61, 146, 91, 181, 84, 17, 314, 405, 321, 375, 291, 409, 270, 269, 267, 0, 37, 39, 40, 185] as const;

/** Inner lip contour (the mouth opening): teeth and tongue lie inside it and are never painted. */
export const LIPS_INNER = [78, 95, 88, 178, 87, 14, 317, 402, 318, 324, 308, 415, 310, 311, 312, 13, 82, 81, 80, 191] as const;

export type Point = readonly [number, number, ...number[]];

export const loop = (landmarks: ReadonlyArray<Point>, indices: readonly number[]): Array<[number, number]> =>
  indices.map((i) => [landmarks[i][0], landmarks[i][1]]);
