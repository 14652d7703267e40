// A row of per-cell values (one channel, `stride` floats apart) spread over the pixels between
// cell centres, as skin-grid.ts and face-layers.ts interpolate them: cell centre j lies at pixel
// f·(j + 0.5) − 0.5; between centres j and j + 1 the value is a ramp, before the first and after
// the last it is flat.

/**
 * Writes the values for columns xa..xb - 1 at `out` (float per pixel; `width` + 4 floats: stores
 * go 4 lanes at a time in increasing x, a segment's last store may run past its end and the next
 * segment overwrites it). `row`: gw cells, `stride` floats apart.
 */
@inline
export function rampRow(row: usize, stride: i32, gw: i32, f: i32, width: i32, xa: i32, xb: i32, out: usize): void {
  const inv: f32 = 1.0 / <f32>f;
  const lanes = f32x4(0, inv, 2 * inv, 3 * inv);
  const step4 = f32x4.splat(4 * inv);
  // The segment holding column xa.
  const first = max(-1, <i32>Mathf.floor((<f32>xa + 0.5) * inv - 0.5));
  for (let j = first; j < gw; j++) {
    const s = max(xa, j < 0 ? 0 : <i32>Mathf.ceil(<f32>f * (<f32>j + 0.5) - 0.5));
    const e = min(xb, j + 1 >= gw ? width : min(width, <i32>Mathf.ceil(<f32>f * (<f32>j + 1.5) - 0.5)));
    if (s >= xb) break;
    if (s >= e) continue;
    const a = load<f32>(row + (<usize>(max(0, j) * stride) << 2));
    const d = f32x4.splat(load<f32>(row + (<usize>((j < 0 ? 0 : min(gw - 1, j + 1)) * stride) << 2)) - a);
    const va = f32x4.splat(a);
    let t = f32x4.add(f32x4.splat((<f32>s + 0.5) * inv - 0.5 - <f32>max(0, j)), lanes);
    for (let x = s; x < e; x += 4) {
      v128.store(out + (<usize>x << 2), f32x4.add(va, f32x4.mul(t, d)));
      t = f32x4.add(t, step4);
    }
  }
}
