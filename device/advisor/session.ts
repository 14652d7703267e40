/**
 * One mirror's advisor over time: which frames are analysed, when the reading is sent to the kiosk,
 * and when it is wiped. Fed every frame by the daemon (daemon/advisor.ts) with the frame's camera
 * pixels, after colour correction and before the try-on paints them.
 *
 *  - A face's frames are analysed every `everyFrames`-th frame (the rest cost one comparison).
 *  - Nothing is sent before a face has been present for `settleMs` (and at least MIN_FRAMES
 *    analysed; the message's `faceSince` says since when, on the frames' capture clock); then the reading once, and again whenever tone, undertone or face shape change and
 *    hold for CHANGE_CONFIRM analyses in a row, the tone only once its score is HOLD_LEVELS past the
 *    boundary (monk.ts monkHolding: a reading on a boundary does not flicker), or when
 *    the catalog or the trends artifact serving changed (other shades to match and suggest). The
 *    matches are those of the skin colour when the reading is sent: small drifts of the colour
 *    between frames do not reorder the shades on the shopper's screen.
 *  - No face for `leaveMs`: `null` is sent (if anything was) and every sample is dropped. `wipe()`
 *    does the same at once (the session ended: idle or shutdown).
 * Nothing here is written anywhere: the samples and the reading live in this object only.
 */
import type { AdvisorMessage, AdvisorEventMessage } from '../transport/events.ts';
import type { CatalogV2 } from '../tryon/catalog/schema.ts';
import type { Face } from '../vision/face.ts';
import type { RgbImage } from '../vision/image-ops.ts';
import { monkHolding } from './monk.ts';
import { ReadingWindow, type SkinReading } from './reading.ts';
import { recommend } from './recommend.ts';
import { matchShades } from './shade-match.ts';
import { sampleSkin } from './skin-sample.ts';
import type { TrendArtifact } from './trends.ts';

export const MIN_FRAMES = 3;
export const CHANGE_CONFIRM = 3;

export interface AdvisorSessionOptions {
  everyFrames: number;
  settleMs: number;
  leaveMs: number;
  catalog: () => CatalogV2;
  trends: () => { artifact: TrendArtifact | null; storeId: string; minSessions: number };
  emit: (message: AdvisorEventMessage) => void;
}

const keyOf = (r: Pick<SkinReading, 'monk' | 'undertone' | 'faceShape'>): string => `${r.monk}/${r.undertone}/${r.faceShape}`;

export class AdvisorSession {
  readonly #options: AdvisorSessionOptions;
  readonly #window = new ReadingWindow();
  #faceSince: number | null = null;
  #lastFaceAt = 0;
  #faceFrames = 0;
  #sent: AdvisorMessage | null = null;
  /** Catalog and trends versions the sent message was made from. */
  #sentFrom = '';
  #pending: { key: string; count: number } | null = null;

  constructor(options: AdvisorSessionOptions) {
    this.#options = options;
  }

  /** The reading the kiosk has now (a kiosk that connects later gets it), or null. */
  get current(): AdvisorMessage | null {
    return this.#sent;
  }

  /** Reading held in memory right now (for the privacy tests and /healthz): analysed frames. */
  get heldFrames(): number {
    return this.#window.frames;
  }

  /** One frame: `image` is the camera's corrected pixels, `faces[0]` the shopper. Returns whether it was analysed. */
  observe(image: RgbImage, faces: readonly Face[], at: number): boolean {
    const face = faces[0];
    if (!face) {
      if (this.#faceSince !== null && at - this.#lastFaceAt >= this.#options.leaveMs) this.wipe();
      return false;
    }
    this.#faceSince ??= at;
    this.#lastFaceAt = at;
    const analyse = this.#faceFrames % this.#options.everyFrames === 0;
    this.#faceFrames++;
    if (!analyse) return false;
    const sample = sampleSkin(image, face);
    if (sample) this.#window.add(sample);
    if (at - this.#faceSince >= this.#options.settleMs && this.#window.frames >= MIN_FRAMES) this.#maybeSend(this.#faceSince);
    return true;
  }

  /** The shopper is gone: forget everything, tell the kiosk (null) if it had a reading. */
  wipe(): void {
    this.#window.clear();
    this.#faceSince = null;
    this.#faceFrames = 0;
    this.#pending = null;
    if (this.#sent) {
      this.#sent = null;
      this.#options.emit(null);
    }
  }

  #message(reading: SkinReading, faceSince: number): AdvisorMessage {
    const catalog = this.#options.catalog();
    return {
      monk: reading.monk,
      ita: reading.ita,
      undertone: reading.undertone,
      confidence: reading.confidence,
      faceShape: reading.faceShape,
      skin: reading.skin,
      matches: matchShades(catalog, reading.lab),
      recommendations: recommend(catalog, reading, this.#options.trends()),
      faceSince,
    };
  }

  #maybeSend(faceSince: number): void {
    const measured = this.#window.reading();
    if (!measured) return;
    const reading = this.#sent ? { ...measured, monk: monkHolding(measured.monkScore, this.#sent.monk) } : measured;
    if (this.#sent === null) {
      this.#send(this.#message(reading, faceSince));
      return;
    }
    const key = keyOf(reading);
    if (key === keyOf(this.#sent)) {
      this.#pending = null;
      if (this.#sources() !== this.#sentFrom) this.#send(this.#message(reading, faceSince));
      return;
    }
    this.#pending = this.#pending?.key === key ? { key, count: this.#pending.count + 1 } : { key, count: 1 };
    if (this.#pending.count >= CHANGE_CONFIRM) this.#send(this.#message(reading, faceSince));
  }

  #sources(): string {
    return `${this.#options.catalog().version}|${this.#options.trends().artifact?.version ?? ''}`;
  }

  #send(message: AdvisorMessage): void {
    this.#sent = message;
    this.#sentFrom = this.#sources();
    this.#pending = null;
    this.#options.emit(message);
  }
}
