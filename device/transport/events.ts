/**
 * Every socket.io event between the daemon and the kiosk, declared once and imported by both.
 * Frames are flow-controlled per client: the kiosk acknowledges each frame on receipt (before it
 * decodes it) and the daemon sends that client its next frame only once the last one was
 * acknowledged (or after FRAME_ACK_TIMEOUT_MS), so a slow client gets the newest frame at its own
 * pace and never a backlog queued in socket buffers;
 * commands from the kiosk are acknowledged.
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

export interface FrameMessage extends EmittedFrameInfo {
  /** The encoded image with the try-on already rendered into it (not mirrored: the kiosk flips). */
  image: Uint8Array;
  faces: FaceMessage[];
  /** Faces seen besides the shopper's (bystanders: counted, never rendered). */
  otherFaces?: number;
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

export interface ServerToClientEvents {
  /** Call `received` as soon as the frame arrives: it releases the next frame to this client. */
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

export interface ClientToServerEvents {
  /** The kiosk tells which frame it painted, for capture-to-paint latency. */
  painted: (msg: PaintedMessage) => void;
}
