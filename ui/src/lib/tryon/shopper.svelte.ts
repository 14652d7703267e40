/**
 * The shopper's side of the try-on: which category they browse, what they put on (through the
 * daemon: the kiosk never renders makeup itself), undo, before/after, saving, and the idle reset
 * that leaves nothing of them behind for the next person.
 */
import type { CatalogProductMessage, CatalogShadeMessage, TryOnAck, TryOnStateMessage } from '../../../../device/transport/events.ts';
import type { Connection } from '../connection.svelte.ts';
import { shopCategories } from './labels.ts';
import { LatestSender } from './latest.ts';
import { sameItems, stepsToReach, type Step } from './undo.ts';

export const LOOKS = 'looks';
const UNDO_DEPTH = 30;
const NOTICE_MS = 4000;
/** A drag sends at most this often: smooth on the glass, under the daemon's 15 commands/s. */
const DRAG_SEND_MS = 80;
const EMPTY: Pick<TryOnStateMessage, 'items' | 'lookId'> = { items: [], lookId: null };

export interface AppliedView {
  category: string;
  product: CatalogProductMessage;
  shade: CatalogShadeMessage;
  intensity: number;
}

export class Shopper {
  readonly #connection: Connection;
  /** A category id, or LOOKS for the ready-made looks. */
  #chosen = $state<string | null>(null);
  /** States before each change the shopper made, newest last. */
  history = $state.raw<Array<Pick<TryOnStateMessage, 'items' | 'lookId'>>>([]);
  /** The last thing that went wrong, in plain words (cleared after a few seconds). */
  notice = $state<string | null>(null);
  saved = $state.raw<{ lookId: string; url: string } | null>(null);
  saving = $state(false);
  /** First-use privacy notice; shown again for each new shopper. */
  privacyOpen = $state(true);
  /** Someone touched the glass within the idle timeout. */
  engaged = $state(false);
  /** Before/after split while the handle is being dragged. */
  draftSplit = $state<number | null>(null);
  /** Intensity while a drag is in progress (the daemon's answer lags behind the finger). */
  draftIntensity = $state<number | null>(null);

  readonly catalog = $derived.by(() => this.#connection.catalog);
  readonly categories = $derived(shopCategories(this.catalog?.products ?? []));
  readonly looks = $derived(this.catalog?.looks ?? []);
  readonly category = $derived(this.#chosen ?? (this.looks.length ? LOOKS : (this.categories[0] ?? LOOKS)));
  readonly products = $derived((this.catalog?.products ?? []).filter((p) => p.category === this.category));
  readonly state = $derived.by(() => this.#connection.tryOn ?? { items: [], lookId: null, compare: null, revision: 0 });
  /** The beauty advisor's reading (ui/src/lib/advisor), null while nobody is read. */
  readonly advisor = $derived.by(() => this.#connection.advisor);
  readonly applied = $derived(resolveItems(this.state.items, this.catalog?.products ?? []));
  /** What the category being browsed has on (intensity applies to it). */
  readonly current = $derived(this.applied.find((a) => a.category === this.category) ?? null);
  readonly compare = $derived(this.state.compare);
  /** Where the before/after handle is: under the finger while dragged, else the daemon's split. */
  readonly split = $derived(this.draftSplit ?? this.compare);

  #lastTouch = 0;
  #noticeTimer: ReturnType<typeof setTimeout> | undefined;
  #intensityBase: Pick<TryOnStateMessage, 'items' | 'lookId'> | null = null;
  readonly #intensity = new LatestSender<{ productId: string; shadeId: string; intensity: number }>((cmd) =>
    this.#run(this.#connection.command('tryon:set', cmd)),
    DRAG_SEND_MS,
  );
  readonly #split = new LatestSender<number | null>(
    (split) => this.#run(this.#connection.command('tryon:compare', { split })),
    DRAG_SEND_MS,
  );

  constructor(connection: Connection) {
    this.#connection = connection;
  }

  choose(category: string): void {
    this.#chosen = category;
  }

  async pick(product: CatalogProductMessage, shade: CatalogShadeMessage): Promise<void> {
    const existing = this.applied.find((a) => a.category === product.category);
    // A new shade keeps the strength the shopper set for this category.
    const intensity = existing?.intensity ?? 1;
    await this.#change(() => this.#connection.command('tryon:set', { productId: product.id, shadeId: shade.id, intensity }));
  }

  async applyLook(lookId: string): Promise<void> {
    await this.#change(() => this.#connection.command('tryon:look', { lookId }));
  }

  async remove(category: string): Promise<void> {
    await this.#change(() => this.#connection.command('tryon:remove', { category }));
  }

  async clearAll(): Promise<void> {
    await this.#change(() => this.#connection.command('tryon:clear', {}));
  }

  /** While dragging: sent as fast as the daemon answers, recorded for undo once. */
  dragIntensity(value: number): void {
    const current = this.current;
    if (!current) return;
    this.#intensityBase ??= snapshot(this.state);
    this.draftIntensity = value;
    this.#intensity.push({ productId: current.product.id, shadeId: current.shade.id, intensity: value });
  }

  async commitIntensity(): Promise<void> {
    await this.#intensity.settled();
    this.draftIntensity = null;
    const base = this.#intensityBase;
    this.#intensityBase = null;
    if (base && !sameItems(base.items, this.state.items)) this.#remember(base);
  }

  /** Before/after split, 0..1 of the displayed width; null turns it off. */
  setCompare(split: number | null): void {
    this.#split.push(split === null ? null : Math.min(1, Math.max(0, split)));
  }

  dragCompare(split: number): void {
    this.draftSplit = Math.min(1, Math.max(0, split));
    this.setCompare(this.draftSplit);
  }

  async endCompareDrag(): Promise<void> {
    await this.#split.settled();
    this.draftSplit = null;
  }

  async undo(): Promise<void> {
    const previous = this.history.at(-1);
    if (!previous) return;
    this.history = this.history.slice(0, -1);
    await this.#steps(stepsToReach(this.state, previous));
  }

  async save(): Promise<void> {
    if (this.saving) return;
    this.saving = true;
    try {
      const ack = await this.#connection.saveLook();
      if (ack.ok) this.saved = { lookId: ack.lookId, url: ack.url };
      else this.#tell(ack.error.message);
    } finally {
      this.saving = false;
    }
  }

  closeSaved(): void {
    this.saved = null;
  }

  dismissPrivacy(): void {
    this.privacyOpen = false;
  }

  /** Any touch or key: the shopper is here. */
  touch = (): void => {
    this.#lastTouch = performance.now();
    this.engaged = true;
  };

  /** Called about once a second: no touch for the idle timeout resets everything. */
  tick(now = performance.now()): void {
    if (this.engaged && now - this.#lastTouch > this.#connection.idleTimeoutMs) void this.reset();
  }

  /** The next shopper starts from nothing: bare face, no split, no history, notice shown again. */
  async reset(): Promise<void> {
    this.engaged = false;
    this.#chosen = null;
    this.history = [];
    this.saved = null;
    this.draftIntensity = null;
    this.draftSplit = null;
    this.#intensityBase = null;
    this.privacyOpen = true;
    this.notice = null;
    if (this.compare !== null) this.setCompare(null);
    await this.#split.settled();
    if (this.state.items.length) await this.#run(this.#connection.command('tryon:clear', {}));
  }

  async #change(send: () => Promise<TryOnAck>): Promise<void> {
    const before = snapshot(this.state);
    const ack = await this.#run(send());
    if (ack.ok && !sameItems(before.items, ack.state.items)) this.#remember(before);
  }

  async #steps(steps: Step[]): Promise<void> {
    for (const step of steps) {
      // One generic call per step: the union of events cannot be spread into a typed emit.
      const ack = await this.#run(this.#connection.command(step.event, step.payload as never));
      if (!ack.ok) return;
    }
  }

  #remember(state: Pick<TryOnStateMessage, 'items' | 'lookId'>): void {
    this.history = [...this.history, state].slice(-UNDO_DEPTH);
  }

  async #run(pending: Promise<TryOnAck>): Promise<TryOnAck> {
    const ack = await pending;
    if (!ack.ok) this.#tell(ack.error.message);
    return ack;
  }

  #tell(message: string): void {
    this.notice = message;
    clearTimeout(this.#noticeTimer);
    this.#noticeTimer = setTimeout(() => (this.notice = null), NOTICE_MS);
  }
}

function snapshot(state: Pick<TryOnStateMessage, 'items' | 'lookId'> = EMPTY): Pick<TryOnStateMessage, 'items' | 'lookId'> {
  return { items: state.items, lookId: state.lookId };
}

function resolveItems(items: TryOnStateMessage['items'], products: readonly CatalogProductMessage[]): AppliedView[] {
  const views: AppliedView[] = [];
  for (const item of items) {
    const product = products.find((p) => p.id === item.productId);
    const shade = product?.shades.find((s) => s.id === item.shadeId);
    if (product && shade) views.push({ category: product.category, product, shade, intensity: item.intensity });
  }
  return views;
}
