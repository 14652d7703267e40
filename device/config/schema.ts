/**
 * The daemon's one configuration contract. Unknown keys are errors (a typo must not be ignored
 * silently); every field has a default so the mirror runs with no file at all.
 */
import { z } from 'zod';
import { DEFAULT_SMOOTHING, type OneEuroParams } from '../vision/smoothing.ts';
import { DEFAULT_FOLLOW } from '../framing/follow.ts';
import { DEFAULT_POLICY } from '../framing/planner.ts';

/** An http(s) URL pattern with one `{lookId}` placeholder (the retailer's saved-look page). */
function isSaveUrlPattern(pattern: string): boolean {
  if (pattern.split('{lookId}').length !== 2) return false;
  try {
    return /^https?:$/.test(new URL(pattern.replace('{lookId}', 'x')).protocol);
  } catch {
    return false;
  }
}

const storeOrDeviceId = z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, 'must be 1-64 letters, digits, "_" or "-"');

/** One-Euro filter parameters (Hz, per face-size unit per second, Hz); defaults from the smoother's own. */
const oneEuro = ({ minCutoff, beta, dCutoff }: OneEuroParams) =>
  z
    .strictObject({
      minCutoff: z.number().min(0.01).max(30).default(minCutoff),
      beta: z.number().min(0).max(1000).default(beta),
      dCutoff: z.number().min(0.01).max(30).default(dCutoff),
    })
    .prefault({});

/** "http(s)://host[:port]" and nothing more: what a browser sends as Origin. */
function isHttpOrigin(text: string): boolean {
  try {
    const url = new URL(text);
    return /^https?:$/.test(url.protocol) && url.origin === text.replace(/\/$/, '');
  } catch {
    return false;
  }
}

export const SOURCE_SPEC = /^(auto|clip:.+|v4l2:\/dev\/video\d+|webcam(:\/dev\/video\d+)?)$/;

export const MirrorConfig = z.strictObject({
  host: z.string().default('127.0.0.1'),
  port: z.number().int().min(0).max(65535).default(8080),
  /** The kiosk server: browser origins allowed besides its own (e.g. the vite dev server). */
  kiosk: z
    .strictObject({
      allowedOrigins: z
        .array(z.string().refine(isHttpOrigin, 'must be an origin like "http://127.0.0.1:5173" (no path)'))
        .default([]),
      /** No touch on the kiosk for this long resets the shopper's selection and screens. */
      idleTimeoutMs: z.number().int().min(5_000).max(600_000).default(60_000),
    })
    .prefault({}),
  /** Where frames come from: auto | clip:PATH | v4l2:/dev/videoN | webcam[:/dev/videoN]. */
  source: z
    .string()
    .regex(SOURCE_SPEC, 'must be auto, clip:PATH, v4l2:/dev/videoN or webcam[:/dev/videoN]')
    .default('auto'),
  /** The camera mode asked for (sensor orientation: a 1920x1080 camera on its side is still 1920x1080). */
  capture: z
    .strictObject({
      width: z.number().int().min(64).max(3840).default(640),
      height: z.number().int().min(64).max(2160).default(480),
      fps: z.number().min(1).max(120).default(30),
      /** Clockwise degrees that stand the camera's image upright (90 or 270: mounted on its side above a portrait glass). */
      rotation: z.union([z.literal(0), z.literal(90), z.literal(180), z.literal(270)], { error: 'must be 0, 90, 180 or 270' }).default(0),
      /**
       * Radial lens distortion to undo (ffmpeg sources), in capture pixels: centre cx, cy and ffmpeg
       * lenscorrection's k1, k2 (radius over half the diagonal). From OpenCV: k1·(r0/f)², k2·(r0/f)⁴.
       */
      lens: z
        .strictObject({
          cx: z.number().min(0),
          cy: z.number().min(0),
          k1: z.number().min(-1).max(1),
          k2: z.number().min(-1).max(1),
        })
        .optional(),
    })
    .superRefine((c, ctx) => {
      if (c.lens && c.lens.cx > c.width) ctx.addIssue({ code: 'custom', path: ['lens', 'cx'], message: `must lie inside the capture width (${c.width})` });
      if (c.lens && c.lens.cy > c.height) ctx.addIssue({ code: 'custom', path: ['lens', 'cy'], message: `must lie inside the capture height (${c.height})` });
    })
    .prefault({}),
  /** The glass the kiosk paints on, in pixels (portrait 1080x1920 by default). */
  display: z
    .strictObject({
      width: z.number().int().min(240).max(7680).default(1080),
      height: z.number().int().min(240).max(7680).default(1920),
    })
    .prefault({}),
  /**
   * The virtual mirror (device/framing): the CNNs read a small copy of the frame, the glass gets the
   * crop that keeps the shopper's face centred at mirror scale, followed smoothly, widened for a
   * second person, at no more than the display's resolution. Off: the whole frame goes to the glass.
   */
  framing: z
    .strictObject({
      enabled: z.boolean().default(false),
      /** Share of the display's width the shopper's face spans (cheek to cheek). */
      faceWidth: z.number().min(0.1).max(0.9).default(DEFAULT_POLICY.faceWidth),
      /** Where the face's centre sits, share of the height from the top. */
      faceY: z.number().min(0.2).max(0.8).default(DEFAULT_POLICY.faceY),
      /** Largest blow-up of camera pixels on the glass (the crop never gets narrower than display / this). */
      maxUpscale: z.number().min(1).max(4).default(DEFAULT_POLICY.maxUpscale),
      /** With more people in view their faces stay inside this central share of the width. */
      groupSpan: z.number().min(0.2).max(1).default(DEFAULT_POLICY.groupSpan),
      /** The CNNs' frame: the camera frame divided by a whole factor until its longer side is at most this. */
      visionMaxSide: z.number().int().min(128).max(3840).default(640),
      /** Look for other people every this many frames (0: never widen for a second person). */
      peopleEvery: z.number().int().min(0).max(300).default(15),
      follow: z
        .strictObject({
          omega: z.number().min(0.5).max(60).default(DEFAULT_FOLLOW.omega),
          deadZone: z.number().min(0).max(0.5).default(DEFAULT_FOLLOW.deadZone),
          sizeDeadZone: z.number().min(0).max(0.5).default(DEFAULT_FOLLOW.sizeDeadZone),
          maxStep: z.number().min(0.001).max(0.2).default(DEFAULT_FOLLOW.maxStep),
        })
        .prefault({}),
    })
    .prefault({}),
  vision: z
    .strictObject({
      /** auto = time every available backend per model and keep the fastest; anything else pins it. */
      backend: z.enum(['auto', 'onnx', 'tfjs-node-gpu', 'tfjs-wasm']).default('auto'),
      /** ONNX Runtime execution providers in preference order; missing ones are skipped with a log line. */
      providers: z
        .array(z.enum(['tensorrt', 'cuda', 'cpu']))
        .min(1)
        .refine((p) => new Set(p).size === p.length, 'must not repeat a provider')
        .default(['tensorrt', 'cuda', 'cpu']),
      detectorMinScore: z.number().min(0.05).max(0.99).default(0.5),
      meshMinScore: z.number().min(0.05).max(0.99).default(0.5),
      /** Landmark smoothing (vision/smoothing.ts): rigid head motion, then the shape per region. */
      smoothing: z
        .strictObject({
          enabled: z.boolean().default(true),
          motion: oneEuro(DEFAULT_SMOOTHING.motion),
          lips: oneEuro(DEFAULT_SMOOTHING.shape.lips),
          eyes: oneEuro(DEFAULT_SMOOTHING.shape.eyes),
          brows: oneEuro(DEFAULT_SMOOTHING.shape.brows),
          outline: oneEuro(DEFAULT_SMOOTHING.shape.outline),
          face: oneEuro(DEFAULT_SMOOTHING.shape.face),
        })
        .prefault({}),
      /**
       * Landmark model (vision/mesh-choice.ts): `plain` = the 468-point face mesh; `attention` = the
       * attention mesh (478 points, refined lips, eyes and irises); `auto` = the attention mesh
       * where its autotuned time is at most `attentionMaxCost` times the plain mesh's.
       */
      mesh: z.enum(['auto', 'plain', 'attention']).default('auto'),
      attentionMaxCost: z.number().min(1).max(20).default(1.3),
      /** Iris refinement (64x64 eye crops) on the shopper's face; with the attention mesh its own irises serve instead. */
      iris: z.boolean().default(false),
      /** Person segmentation: 0 = off, N = run on every Nth frame (the mask is reused in between). */
      segmentationEvery: z.number().int().min(0).max(30).default(0),
      segmentationModel: z.enum(['selfie', 'meet']).default('selfie'),
      /**
       * Model precision: `auto` lets the backend autotune (backend "auto") time the compressed ONNX
       * variants (fp16, int8) whose measured parity is within `accuracyBudget` beside float32 and
       * keep the fastest; fp32/fp16/int8 pins one where the model has it.
       */
      precision: z.enum(['auto', 'fp32', 'fp16', 'int8']).default('auto'),
      accuracyBudget: z
        .strictObject({
          /** Mean extra landmark error (mesh, iris) vs float32, frame pixels. */
          landmarkPx: z.number().min(0).max(10).default(0.5),
          /** Mean detector box IoU with float32. */
          boxIou: z.number().min(0).max(1).default(0.9),
          /** Mean person-mask difference vs float32 (probability). */
          maskAbs: z.number().min(0).max(1).default(0.02),
        })
        .prefault({}),
    })
    .prefault({}),
  tryon: z
    .strictObject({
      /**
       * Pins one catalog shade as what is on the shopper's face before they choose, instead of the
       * serving catalog's `default` (a demo or a photo shoot). Checked against the serving catalog
       * at start (an unknown product or shade stops start-up naming the key); if a later catalog
       * update drops it, the catalog's default is shown again.
       */
      pin: z
        .strictObject({
          productId: z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, 'must be a catalog product id'),
          /** Absent: the product's first shade. */
          shadeId: z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, 'must be a catalog shade id').optional(),
          intensity: z.number().min(0).max(1).default(1),
        })
        .optional(),
      /** Catalog v1's pinned colour: refused with what replaces it (an old config fails clearly, never silently). */
      lipstick: z.never({ error: 'was replaced by "tryon.pin": { "productId", "shadeId", "intensity" } naming a catalog shade (catalog v2 has no free colours)' }).optional(),
      /**
       * Where a saved look lives on the retailer's site (the kiosk shows it as a QR code): an
       * http(s) URL with `{lookId}` once, replaced by the saved look's id (tryon/saved-look.ts).
       */
      saveUrl: z
        .string()
        .refine(isSaveUrlPattern, 'must be an http(s) URL with "{lookId}" once, like "https://shop.example/look/{lookId}"')
        .default('https://shop.example/look/{lookId}'),
    })
    .prefault({}),
  /**
   * GAN try-on refinement after the renderer (device/gan): off unless `model` names a model
   * directory (manifest.json + files, models/gan/manifest.ts; e.g. "models/gan/reference").
   */
  gan: z
    .strictObject({
      model: z.string().min(1).optional(),
      /** Time the stage may add to a frame; a model slower than this runs every Nth frame in the background. */
      budgetMs: z.number().min(0.1).max(100).default(6),
      /** The most frames one refinement may serve; a model that would need more turns the stage off. */
      maxEvery: z.number().int().min(1).max(30).default(6),
    })
    .prefault({}),
  encode: z
    .strictObject({
      quality: z.number().int().min(30).max(95).default(80),
    })
    .prefault({}),
  mqtt: z
    .strictObject({
      /** Broker URL; unset means an embedded broker is started on loopback. */
      url: z.string().regex(/^mqtts?:\/\/.+/, 'must be an mqtt:// or mqtts:// URL').optional(),
      embeddedPort: z.number().int().min(0).max(65535).default(1884),
      storeId: storeOrDeviceId.default('demo-store'),
      deviceId: storeOrDeviceId.default('mirror-1'),
      metricsIntervalMs: z.number().int().min(100).max(3_600_000).default(10_000),
      username: z.string().optional(),
      password: z.string().optional(),
      /**
       * TLS client material, PEM file paths read at start-up: the fleet CA (`ca`) and this mirror's
       * certificate and key (CN `{storeId}/{deviceId}`, what the broker ACL expects).
       */
      tls: z
        .strictObject({
          ca: z.string().min(1).optional(),
          cert: z.string().min(1).optional(),
          key: z.string().min(1).optional(),
        })
        .refine((t) => (t.cert === undefined) === (t.key === undefined), 'cert and key go together')
        .optional(),
      /**
       * First-start enrolment (device/enrol): while there is no valid certificate at
       * `mqtt.tls.cert`/`key`, the daemon exchanges the operator's one-time token (a file, kept
       * out of the config) at the fleet service for one, written to `mqtt.tls.*` (0600).
       */
      enrol: z
        .strictObject({
          fleetUrl: z.string().regex(/^https?:\/\/.+/, 'must be an http:// or https:// URL'),
          tokenFile: z.string().min(1),
          /** At start, a certificate with this many days or fewer left is renewed (device/enrol renew). */
          renewBeforeDays: z.number().min(0).max(3650).default(30),
        })
        .optional(),
    })
    .refine((m) => m.enrol === undefined || (m.tls?.cert !== undefined && m.tls.key !== undefined && m.tls.ca !== undefined), {
      path: ['enrol'],
      message: 'needs mqtt.tls.ca, mqtt.tls.cert and mqtt.tls.key: where the enrolled identity is written',
    })
    .prefault({}),
  /** Shopper sessions (events): a session ends once no face has been seen for idleTimeoutMs. */
  session: z
    .strictObject({
      idleTimeoutMs: z.number().int().min(1000).max(600_000).default(10_000),
    })
    .prefault({}),
  /** Durable telemetry outbox (SQLite in stateDir): oldest telemetry dropped first when full. */
  outbox: z
    .strictObject({
      maxBytes: z.number().int().min(64 * 1024).max(1024 * 1024 * 1024).default(16 * 1024 * 1024),
    })
    .prefault({}),
  /** Model updates: pinned Ed25519 keys (keyId → base64 raw 32-byte key or SPKI PEM) and checks. */
  updates: z
    .strictObject({
      publicKeys: z.record(storeOrDeviceId, z.string().min(32).max(4096)).default({}),
      /** Smoke test: median mesh latency per golden frame must stay under this. */
      smokeLatencyBudgetMs: z.number().int().min(1).max(60_000).default(500),
      /** A requested chunk not answered within this is asked for again (5 tries). */
      chunkTimeoutMs: z.number().int().min(100).max(600_000).default(15_000),
      /** Watch window: fps below this fraction of the pre-switch fps rolls back. */
      minFpsRatio: z.number().min(0).max(1).default(0.5),
      /** Watch window: more pipeline stage errors than this fraction of frames rolls back. */
      maxStageErrorRatio: z.number().min(0).max(1).default(0.2),
      /** An application release serving under this fps after its switch is rolled back (half the 30 fps budget). */
      appMinFps: z.number().min(0).max(120).default(15),
    })
    .prefault({}),
  /**
   * Fleet commands (device/commands; fleet/protocol/commands.ts): the fleet's command keys this
   * mirror trusts (keyId → base64 raw 32-byte Ed25519 key or SPKI PEM). A key of its own, not an
   * update key: it lives in the fleet service, the update keys stay offline. None: every command
   * is refused (with a result saying so).
   */
  commands: z
    .strictObject({
      publicKeys: z.record(storeOrDeviceId, z.string().min(32).max(4096)).default({}),
    })
    .prefault({}),
  /**
   * Colour calibration (calibration/): the profile `calibrate color` wrote for this mirror's camera.
   * Unset: `<stateDir>/calibration/colour-profile.json` when it exists. A profile that does not
   * validate is not applied (the mirror runs uncorrected and /healthz says why).
   */
  calibration: z
    .strictObject({
      colourProfile: z.string().min(1).optional(),
    })
    .prefault({}),
  /**
   * The beauty advisor (device/advisor): skin tone, undertone, face shape and matched shades, read
   * in memory only and wiped when the shopper leaves or the session ends.
   */
  advisor: z
    .strictObject({
      enabled: z.boolean().default(true),
      /** Analyse every Nth frame with a face (5: 6 Hz at 30 fps). */
      everyFrames: z.number().int().min(1).max(60).default(5),
      /** Nothing is sent before a face has been in front of the mirror this long. */
      settleMs: z.number().int().min(0).max(10_000).default(1000),
      /** No face for this long: the shopper left; `advisor` null is sent and the reading wiped. */
      leaveMs: z.number().int().min(100).max(60_000).default(1500),
      /** k-anonymity: recommendation buckets with fewer sessions are never read. */
      minSessions: z.number().int().min(1).max(100_000).default(20),
      /** The retailer's choice: product.tried and look.saved carry the shopper's tone band and undertone (off: nothing of the reading leaves the mirror). */
      shareToneWithEvents: z.boolean().default(false),
    })
    .prefault({}),
  /** Writable state (connection counters, the outbox, update state and staged models). */
  stateDir: z.string().default('var/state'),
  logLevel: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace']).default('info'),
});

export type MirrorConfig = z.infer<typeof MirrorConfig>;
