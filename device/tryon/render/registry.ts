/**
 * Category → renderer. A new category is a new file in this folder plus one line here (and its
 * catalog entries); the try-on stage looks renderers up by the product's category.
 */
import type { Category } from '../catalog/schema.ts';
import { blushRenderer } from './blush.ts';
import { browsRenderer } from './brows.ts';
import { bronzerRenderer } from './bronzer.ts';
import { concealerRenderer } from './concealer.ts';
import { contourRenderer } from './contour.ts';
import { eyelinerRenderer } from './eyeliner.ts';
import { eyeshadowRenderer } from './eyeshadow.ts';
import { foundationRenderer } from './foundation.ts';
import { hairColourRenderer } from './hair-colour.ts';
import { highlighterRenderer } from './highlighter.ts';
import { lipLinerRenderer } from './lip-liner.ts';
import { lipstickRenderer } from './lipstick.ts';
import { mascaraRenderer } from './mascara.ts';
import type { CategoryRenderer } from './renderer.ts';

const ALL: readonly CategoryRenderer[] = [
  foundationRenderer,
  concealerRenderer,
  contourRenderer,
  bronzerRenderer,
  blushRenderer,
  highlighterRenderer,
  eyeshadowRenderer,
  eyelinerRenderer,
  mascaraRenderer,
  browsRenderer,
  lipLinerRenderer,
  lipstickRenderer,
  hairColourRenderer,
];

export const RENDERERS: ReadonlyMap<Category, CategoryRenderer> = new Map(ALL.map((r) => [r.category, r]));
