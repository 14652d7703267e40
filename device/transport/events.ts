/**
 * Every socket.io event between the daemon and the kiosk, declared once and imported by both.
 * Frames are flow-controlled per client: the kiosk acknowledges each frame once it is ready for
 * the next (the browser kiosk: once the frame is painted, or let go unpainted) and the daemon sends
 * that client its next frame only once the last one was acknowledged (or after
 * FRAME_ACK_TIMEOUT_MS), so a slow client gets the newest frame at its own pace, never a backlog
 * queued in socket buffers, and no frame it would not paint;
 * commands from the kiosk are acknowledged (tryon:* and look:save: transport/tryon-commands.ts).
 * A refused command answers `{ ok: false, error: { field, message } }`, `field` naming the command's
 * field, `(payload)` for a payload that is not an object, an unknown field's own name, or `(rate)`
 * for a client sending more commands than a shopper can tap.
 */
import type { EmittedFrameInfo } from '../core/frame.ts';
import type { StatsSnapshot } from '../core/pipeline-stats.ts';
import type { SourceStatus } from '../source/source.ts';
import type { Box } from '../vision/face.ts';

export interface FaceMessage {
  box: Box;
  score: number;
  /** 468 points, [x, y, z] in image pixels of the frame they came with. */
  landmarks: Array<[number, number, number]>;
  /** Head pose in degrees (yaw > 0: nose towards the image's left; pitch > 0: chin down; roll > 0: clockwise). */
  pose?: { yaw: number; pitch: number; roll: number };
  /** Iris centres and radii in image pixels, when iris refinement is on (subject's right and left eye). */
  iris?: { right: { center: [number, number]; radius: number }; left: { center: [number, number]; radius: number } };
}

/**
 * How the frame was framed (device/framing, when `framing.enabled`): the image is the crop `crop`
 * of the upright camera image `camera`, scaled to `width` x `height` (never more than the display);
 * faces are already in the image's pixels. The kiosk still mirrors (`mirror`); `magnification` is
 * glass pixels per camera pixel once the kiosk fits the image to `display`.
 */
export interface FramingMessage {
  camera: { width: number; height: number };
  crop: { x: number; y: number; width: number; height: number };
  display: { width: number; height: number };
  /** Clockwise degrees the camera's image was turned to stand upright (a camera mounted on its side). */
  rotation: 0 | 90 | 180 | 270;
  mirror: boolean;
  magnification: number;
}

export interface FrameMessage extends EmittedFrameInfo {
  /** The encoded image with the try-on already rendered into it (not mirrored: the kiosk flips). */
  image: Uint8Array;
  faces: FaceMessage[];
  /** Faces seen besides the shopper's (bystanders: counted, never rendered). */
  otherFaces?: number;
  /** Present when the daemon frames the picture (virtual-mirror crop); absent: the whole camera frame. */
  framing?: FramingMessage;
}

/** The daemon's numbers, once a second (a message; core/pipeline-stats.ts measures them). */
export interface StatsMessage extends Pick<StatsSnapshot, 'fps' | 'latencyP50Ms' | 'latencyP95Ms' | 'droppedFrames' | 'processedFrames'> {
  /** Inference backend per model, e.g. { detector: 'tfjs-wasm', mesh: 'tfjs-wasm' }. */
  backends: Record<string, string>;
  source: string;
}

/** Whether the camera delivers (`lost`: the kiosk shows a service message instead of a frozen shopper). */
export type SourceStatusMessage = SourceStatus;

export interface PaintedMessage {
  id: number;
  /** When the kiosk painted it, ms since the epoch. */
  paintedAt: number;
}

/** A client that has not acknowledged its last frame within this gets a fresh one anyway. */
export const FRAME_ACK_TIMEOUT_MS = 1000;

/** A question for the staff at the mirror (debug capture consent, device/control/capture.ts). */
export interface ConfirmRequest {
  id: string;
  kind: 'debug-capture';
  title: string;
  detail: string;
  timeoutMs: number;
}

export interface ConfirmAnswer {
  id: string;
  allow: boolean;
}

/** A shade as the kiosk shows it (catalog/schema.ts Shade, minus nothing the kiosk needs). */
export interface CatalogShadeMessage {
  id: string;
  name: string;
  hex: string;
  lab: [number, number, number];
  opacity: number;
  finish: string;
  style?: Record<string, unknown>;
}

export interface CatalogProductMessage {
  id: string;
  category: string;
  brand: string;
  line: string;
  name: string;
  sku: string;
  price: { amount: number; currency: string };
  shades: CatalogShadeMessage[];
}

/** The serving catalog, sent on connect and whenever a catalog update switches it. */
export interface CatalogMessage {
  version: string;
  products: CatalogProductMessage[];
  looks: Array<{ id: string; name: string; items: Array<{ productId: string; shadeId: string; intensity: number }> }>;
}

/** What the shopper has on, in drawing order, and the before/after split (null: off). */
export interface TryOnStateMessage {
  items: Array<{ productId: string; shadeId: string; intensity: number; category: string }>;
  /** The look the items came from, while unchanged since it was applied. */
  lookId: string | null;
  /** Fraction of the displayed (mirrored) width left of which the shopper sees themselves bare. */
  compare: number | null;
  /** Bumps on every change, so a kiosk can tell the newest state. */
  revision: number;
}

export type TryOnAck = { ok: true; state: TryOnStateMessage } | { ok: false; error: { field: string; message: string } };

/** `look:save`: the saved look's id (it encodes the items) and the retailer's URL for it (what the QR carries). */
export type LookSaveAck = { ok: true; lookId: string; url: string } | { ok: false; error: { field: string; message: string } };

/** What the kiosk needs from the daemon's config, sent on connect (kiosk.* in the config). */
export interface KioskWelcomeMessage {
  /** No touch for this long and the kiosk resets everything for the next shopper. */
  idleTimeoutMs: number;
}

/** The beauty advisor's reading of the shopper in front of the mirror (device/advisor). Never stored. */
export interface AdvisorMessage {
  /** Monk Skin Tone scale, 1 (lightest) to 10 (deepest). */
  monk: number;
  /** Individual typology angle in degrees, from CIELAB L* and b* of the skin. */
  ita: number;
  undertone: 'warm' | 'neutral' | 'cool';
  /** 0..1: how settled and trustworthy the reading is (frames averaged, patch agreement). */
  confidence: number;
  faceShape: 'oval' | 'round' | 'square' | 'heart' | 'long';
  /** Each 0..1, formulas documented in device/advisor. */
  skin: { shine: number; redness: number; evenness: number; underEye: number };
  /** Nearest foundation and concealer shades in ΔE2000, nearest first. */
  matches: Array<{ productId: string; shadeId: string; deltaE: number }>;
  /** Suggestions with the reason in plain words. */
  recommendations: Array<{ productId: string; shadeId: string; reason: string }>;
  /** Capture time (ms since the epoch) of the first frame of the face the daemon is reading: nothing is sent before it is a second old. */
  faceSince: number;
}

/** `null`: nobody is being read (the shopper left); the kiosk hides the advisor. */
export type AdvisorEventMessage = AdvisorMessage | null;

export interface ServerToClientEvents {
  /** When the reading settles (after a face has been seen for a second), when it changes, and null when the shopper leaves. */
  advisor: (reading: AdvisorEventMessage) => void;
  /** The kiosk's settings, on connect. */
  welcome: (welcome: KioskWelcomeMessage) => void;
  /** The serving catalog (on connect and on every catalog switch). */
  catalog: (catalog: CatalogMessage) => void;
  /** After every try-on change, to every kiosk. */
  'tryon:state': (state: TryOnStateMessage) => void;
  /**
   * Call `received` once, when ready for the next frame (the kiosk: after painting this one): it
   * releases the next frame to this client. A client that only reads frames calls it on arrival.
   */
  frame: (frame: FrameMessage, received: () => void) => void;
  /** Once a second, for the debug HUD. */
  stats: (stats: StatsMessage) => void;
  /** On connection and whenever it changes. */
  sourceStatus: (status: SourceStatusMessage) => void;
  /** Show a confirmation; answer only on a tap on the mirror's own screen. */
  confirm: (request: ConfirmRequest, answer: (answer: ConfirmAnswer) => void) => void;
  /** The question was answered (here or on another screen) or timed out: close it. */
  confirmClosed: (msg: { id: string }) => void;
}

/**
 * The mirror's box on the kiosk's screen in device pixels (sent on connect and when it changes):
 * the most pixels a frame can show there, so a daemon that sends more is sending waste.
 */
export interface KioskDisplayMessage {
  width: number;
  height: number;
  devicePixelRatio: number;
}

export interface ClientToServerEvents {
  /** Where the kiosk paints frames (device pixels). */
  'kiosk:display': (msg: KioskDisplayMessage) => void;
  /** The kiosk tells which frame it painted, for capture-to-paint latency. */
  painted: (msg: PaintedMessage) => void;
  /** Puts a product on (replacing the same category's product); shadeId defaults to its first shade, intensity to 1. */
  'tryon:set': (cmd: { productId: string; shadeId?: string; intensity?: number }, ack: (result: TryOnAck) => void) => void;
  /** Takes one product off, by id or by category. */
  'tryon:remove': (cmd: { productId?: string; category?: string }, ack: (result: TryOnAck) => void) => void;
  'tryon:clear': (cmd: Record<string, never>, ack: (result: TryOnAck) => void) => void;
  /** Replaces everything with a catalog look, or a saved look read back from its id (`look:save`). */
  'tryon:look': (cmd: { lookId: string }, ack: (result: TryOnAck) => void) => void;
  /** Before/after: the daemon renders the left `split` of the displayed width bare; null turns it off. */
  'tryon:compare': (cmd: { split: number | null }, ack: (result: TryOnAck) => void) => void;
  /** Saves what the shopper has on; the answer carries the look id and the URL to show as a QR code. */
  'look:save': (cmd: Record<string, never>, ack: (result: LookSaveAck) => void) => void;
}
