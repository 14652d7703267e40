/**
 * Catalog v2: what the mirror sells and how each shade is drawn. Every field accepted here changes
 * what is rendered (device/tryon/render/) or shown (the kiosk); nothing is accepted and ignored.
 *
 *   { "schema": 2, "version": "2026.2.0",
 *     "products": [ { "id", "brand", "line", "name", "category", "sku", "price": { "amount", "currency" },
 *                     "shades": [ { "id", "name", "hex", "lab", "opacity", "finish", "style"? } ] } ],
 *     "looks": [ { "id", "name", "items": [ { "productId", "shadeId", "intensity" } ] } ],
 *     "default"?: { "productId", "shadeId" },
 *     "advisor"?: { "rules": [ { "depth"?, "undertone"?, "faceShape"?, "suggest": [ { "productId", "shadeId" } ], "reason" } ] } }
 *
 * `lab` is CIELAB (D65, the space culori's differenceCiede2000 works in) of `hex`; a catalog whose
 * `lab` disagrees with its `hex` by more than ΔE2000 1 is refused (the two would render differently
 * from what the merchandiser reads). `style` holds the category's own parameters (STYLE_SCHEMAS).
 * Catalog v1 (one colour per product, lipstick only) is migrated by catalog/migrate.ts.
 */
import { z } from 'zod';
import { FACE_SHAPES } from '../../advisor/face-shape.ts';
import { TONE_BANDS, UNDERTONES } from '../../advisor/trends.ts';

export const CATALOG_SCHEMA_VERSION = 2;

/** Drawing order too: skin first, then colour on it, lips and hair last. */
export const CATEGORIES = [
  'foundation',
  'concealer',
  'contour',
  'bronzer',
  'blush',
  'highlighter',
  'eyeshadow',
  'eyeliner',
  'mascara',
  'brows',
  'lipLiner',
  'lipstick',
  'hairColour',
] as const;
export type Category = (typeof CATEGORIES)[number];

/** Materials (Perfect Corp's lip finishes); face products use the same set. */
export const FINISHES = ['matte', 'satin', 'sheer', 'gloss', 'metallic', 'shimmer', 'holographic'] as const;
export type Finish = (typeof FINISHES)[number];

const id = z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, { error: 'must be 1-64 letters, digits, "_" or "-"' });
const text = (max: number) => z.string({ error: 'must be a string' }).min(1, { error: 'must not be empty' }).max(max, { error: `must be at most ${max} characters` });
export const HexColour = z.string().regex(/^#[0-9a-fA-F]{6}$/, { error: 'must be a colour like "#a4213f"' });
const unit = z.number({ error: 'must be a number from 0 to 1' }).min(0, { error: 'must be >= 0' }).max(1, { error: 'must be <= 1' });

/** Per-category drawing parameters of a shade (absent = the category's defaults). */
export const STYLE_SCHEMAS = {
  lipstick: z.strictObject({
    /** full: one colour; ombre: `secondHex` in the centre fading to `hex` at the edge; twoTone: `secondHex` on the lower lip. */
    style: z.enum(['full', 'ombre', 'twoTone'], { error: 'must be one of full, ombre, twoTone' }),
    secondHex: HexColour.optional(),
  }),
  lipLiner: z.strictObject({ /** Line width as a fraction of the mouth width. */ width: z.number().min(0.005).max(0.06) }),
  eyeshadow: z.strictObject({
    /** Colours for lid, crease and outer corner; 1 colour = the whole lid (the shade's `hex` is the lid colour). */
    pattern: z.enum(['lid', 'lidCrease', 'lidCreaseOuter'], { error: 'must be one of lid, lidCrease, lidCreaseOuter' }),
    creaseHex: HexColour.optional(),
    outerHex: HexColour.optional(),
  }),
  eyeliner: z.strictObject({ style: z.enum(['thin', 'winged'], { error: 'must be thin or winged' }) }),
  mascara: z.strictObject({ /** 0 = natural definition, 1 = full volume (thicker, longer lash band). */ volume: unit }),
  brows: z.strictObject({ /** fill: draws hair strokes into sparse brows; tint: recolours existing hair only. */ mode: z.enum(['fill', 'tint'], { error: 'must be fill or tint' }) }),
  foundation: z.strictObject({ /** 0 = sheer (skin tone evened a little) .. 1 = full (blemishes hidden; pores and texture kept). */ coverage: unit }),
  concealer: z.strictObject({ coverage: unit }),
  contour: z.strictObject({}),
  bronzer: z.strictObject({}),
  blush: z.strictObject({ /** apples: round on the cheek apples; lifted: swept up towards the temple. */ placement: z.enum(['apples', 'lifted'], { error: 'must be apples or lifted' }) }),
  highlighter: z.strictObject({}),
  hairColour: z.strictObject({ /** full, or roots kept natural with the colour towards the ends. */ style: z.enum(['full', 'balayage'], { error: 'must be full or balayage' }) }),
} satisfies Record<Category, z.ZodType>;

export const ShadeSchema = z.strictObject({
  id,
  name: text(128),
  hex: HexColour,
  /** CIELAB D65 of `hex`, [L, a, b]. */
  lab: z.tuple([z.number().min(0).max(100), z.number().min(-128).max(128), z.number().min(-128).max(128)], { error: 'must be [L, a, b]' }),
  /** How much of the shade covers the natural colour at 100 % intensity. */
  opacity: unit,
  finish: z.enum(FINISHES, { error: `must be one of ${FINISHES.join(', ')}` }),
  /** Validated against STYLE_SCHEMAS[product.category]. */
  style: z.record(z.string(), z.unknown()).optional(),
});
export type Shade = z.infer<typeof ShadeSchema>;

export const ProductSchema = z.strictObject({
  id,
  brand: text(64),
  line: text(64),
  name: text(128),
  category: z.enum(CATEGORIES, { error: `must be one of ${CATEGORIES.join(', ')}` }),
  sku: z.string().regex(/^[A-Za-z0-9-]{3,32}$/, { error: 'must be 3-32 letters, digits or "-"' }),
  price: z.strictObject({ amount: z.number().min(0).max(100000), currency: z.string().regex(/^[A-Z]{3}$/, { error: 'must be an ISO 4217 code like "EUR"' }) }),
  shades: z.array(ShadeSchema).min(1, { error: 'must list at least one shade' }).max(200),
});
export type Product = z.infer<typeof ProductSchema>;

export const LookItemSchema = z.strictObject({ productId: id, shadeId: id, intensity: unit });
export const LookSchema = z.strictObject({ id, name: text(128), items: z.array(LookItemSchema).min(1).max(CATEGORIES.length) });
export type Look = z.infer<typeof LookSchema>;

/**
 * The beauty advisor's suggestion rules (device/advisor/rules.ts), the merchandiser's table: a rule
 * applies to a shopper whose reading matches every condition it names (an absent condition matches
 * everyone) and suggests its shades with its `reason` shown word for word on the kiosk.
 * depth: the Monk tone band (light 1-3, medium 4-6, deep 7-10), undertone, faceShape as the advisor reads them.
 */
const oneOrMore = <T extends readonly [string, ...string[]]>(values: T) =>
  z.array(z.enum(values, { error: `must be one of ${values.join(', ')}` })).min(1, { error: 'must list at least one (or leave the condition out)' }).optional();
export const AdvisorRuleSchema = z.strictObject({
  depth: oneOrMore(TONE_BANDS),
  undertone: oneOrMore(UNDERTONES),
  faceShape: oneOrMore(FACE_SHAPES),
  suggest: z.array(z.strictObject({ productId: id, shadeId: id })).min(1, { error: 'must suggest at least one shade' }).max(10),
  /** Plain words for the shopper, e.g. "Soft corals suit warm undertones". */
  reason: text(120),
});
export type AdvisorRule = z.infer<typeof AdvisorRuleSchema>;

/** The structural schema; catalog/validate.ts adds the cross-field rules (unique ids, references, lab vs hex, styles). */
export const CatalogV2Schema = z.strictObject({
  schema: z.literal(CATALOG_SCHEMA_VERSION),
  version: text(64),
  products: z.array(ProductSchema).min(1).max(1000),
  looks: z.array(LookSchema).max(200).default([]),
  /** What is on the shopper's face before they choose (absent: nothing). */
  default: z.strictObject({ productId: id, shadeId: id }).optional(),
  /** Absent: the advisor matches foundation and concealer only and suggests nothing else from content. */
  advisor: z.strictObject({ rules: z.array(AdvisorRuleSchema).max(200) }).optional(),
});
export type CatalogV2 = z.infer<typeof CatalogV2Schema>;
