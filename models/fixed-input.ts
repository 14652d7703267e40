/** A deterministic pseudo-random input in a model's declared range: the same bytes on every host and run. */
export function fixedInput(shape: readonly number[], range: readonly [number, number], seed = 1): Float32Array {
  const n = shape.reduce((a, b) => a * b, 1);
  const out = new Float32Array(n);
  let s = seed >>> 0;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = range[0] + ((s >>> 8) / 16777216) * (range[1] - range[0]);
  }
  return out;
}
