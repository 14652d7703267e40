/**
 * "Save my look": the look id itself carries the items (product, shade, intensity), so nothing
 * about the shopper is stored anywhere and any mirror (or the retailer's site) holding the catalog
 * can read it back. Never an image, never anything about the face: only catalog references.
 *
 *   v1:  "1." + base64url( item × n  +  check )
 *        item  = ref (6 bytes: the first 48 bits of SHA-256("productId/shadeId")) + intensity (1 byte, %)
 *        check = the first 4 bytes of SHA-256("1." + the item bytes)
 *
 * Hashed references keep the id short whatever the ids' lengths (13 items: 129 characters, a
 * small QR code), and survive catalog updates that keep the ids. The check refuses an id that was
 * edited or cut; a forged one can only name catalog products anyway. The "N." prefix cannot be a
 * catalog look id ("." is outside the id alphabet), so one `lookId` field takes both.
 */
import { createHash } from 'node:crypto';
import { CATEGORIES, type CatalogV2 } from './catalog/schema.ts';

export const SAVED_LOOK_VERSION = 1;
const PREFIX = `${SAVED_LOOK_VERSION}.`;
const REF_BYTES = 6;
const ITEM_BYTES = REF_BYTES + 1;
const CHECK_BYTES = 4;
/** The longest a v1 id can be (one item per category). */
export const MAX_SAVED_LOOK_ID = PREFIX.length + Math.ceil(((CATEGORIES.length * ITEM_BYTES + CHECK_BYTES) * 4) / 3);

export interface LookItemRef {
  productId: string;
  shadeId: string;
  /** 0..1 in 1 % steps (the id stores whole percent). */
  intensity: number;
}

export type DecodedLook = { ok: true; items: LookItemRef[] } | { ok: false; message: string };

const sha256 = (data: string | Buffer) => createHash('sha256').update(data).digest();
const refOf = (productId: string, shadeId: string) => sha256(`${productId}/${shadeId}`).subarray(0, REF_BYTES).toString('hex');
const checkOf = (items: Buffer) => sha256(Buffer.concat([Buffer.from(PREFIX), items])).subarray(0, CHECK_BYTES);

/** Whether `lookId` is a saved look's id (any version) rather than a catalog look's. */
export function isSavedLookId(lookId: string): boolean {
  return /^\d+\./.test(lookId);
}

export function encodeSavedLook(items: readonly LookItemRef[]): string {
  const body = Buffer.alloc(items.length * ITEM_BYTES);
  items.forEach((item, i) => {
    Buffer.from(refOf(item.productId, item.shadeId), 'hex').copy(body, i * ITEM_BYTES);
    body[i * ITEM_BYTES + REF_BYTES] = Math.round(item.intensity * 100);
  });
  return PREFIX + Buffer.concat([body, checkOf(body)]).toString('base64url');
}

/** Every product/shade ref of a catalog (built once per catalog: catalogs are immutable once served). */
const refIndex = new WeakMap<CatalogV2, Map<string, { productId: string; shadeId: string } | 'ambiguous'>>();

function refsOf(catalog: CatalogV2) {
  let refs = refIndex.get(catalog);
  if (!refs) {
    refs = new Map();
    for (const p of catalog.products) {
      for (const s of p.shades) {
        const ref = refOf(p.id, s.id);
        // Two shades with the same 48-bit ref (never seen in practice): neither can be read back.
        refs.set(ref, refs.has(ref) ? 'ambiguous' : { productId: p.id, shadeId: s.id });
      }
    }
    refIndex.set(catalog, refs);
  }
  return refs;
}

/** Reads a saved look id back against `catalog`; says what is wrong with it otherwise. */
export function decodeSavedLook(catalog: CatalogV2, lookId: string): DecodedLook {
  if (!lookId.startsWith(PREFIX)) return { ok: false, message: `not a version ${SAVED_LOOK_VERSION} saved look id` };
  const b64 = lookId.slice(PREFIX.length);
  if (lookId.length > MAX_SAVED_LOOK_ID || !/^[A-Za-z0-9_-]+$/.test(b64)) return { ok: false, message: 'is not a saved look id (bad characters or too long)' };
  const bytes = Buffer.from(b64, 'base64url');
  const n = (bytes.length - CHECK_BYTES) / ITEM_BYTES;
  if (!Number.isInteger(n) || n < 1 || bytes.toString('base64url') !== b64) return { ok: false, message: 'is cut or padded (wrong length)' };
  const body = bytes.subarray(0, bytes.length - CHECK_BYTES);
  if (!checkOf(body).equals(bytes.subarray(bytes.length - CHECK_BYTES))) return { ok: false, message: 'fails its check (edited or mistyped)' };
  const refs = refsOf(catalog);
  const items: LookItemRef[] = [];
  for (let i = 0; i < n; i++) {
    const found = refs.get(body.subarray(i * ITEM_BYTES, i * ITEM_BYTES + REF_BYTES).toString('hex'));
    const percent = body[i * ITEM_BYTES + REF_BYTES];
    if (!found) return { ok: false, message: `item ${i + 1} names a shade that catalog ${catalog.version} does not sell` };
    if (found === 'ambiguous') return { ok: false, message: `item ${i + 1} matches two shades of catalog ${catalog.version}` };
    if (percent > 100) return { ok: false, message: `item ${i + 1} has intensity ${percent} %` };
    items.push({ ...found, intensity: percent / 100 });
  }
  return { ok: true, items };
}
