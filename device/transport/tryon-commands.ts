/**
 * The shopper's control of the try-on over socket.io: `tryon:set|remove|clear|look|compare` and
 * `look:save` from the kiosk, `catalog` and `tryon:state` to it (shapes in transport/events.ts).
 *
 * Every payload is validated with zod before it reaches the selection; a refusal names the field
 * (an unknown field by its own name, a payload that is not an object as `(payload)`) and changes
 * nothing. A client without an ack callback still gets its command applied; a handler never
 * throws into socket.io. Each client has a token bucket sized for a shopper's fingers: a flood is
 * refused with field `(rate)` before any work is done, so it cannot slow the frame path.
 */
import { z } from 'zod';
import type { Logger } from '../core/logger.ts';
import { toCatalogMessage } from '../tryon/catalog/message.ts';
import { encodeSavedLook } from '../tryon/saved-look.ts';
import type { Selection } from '../tryon/selection.ts';
import type { CatalogMessage, LookSaveAck, TryOnAck } from './events.ts';
import type { KioskSocket } from './kiosk-server.ts';

/** Sustained commands a second per client, and the burst on top (a slider drag, fast taps). */
export const COMMAND_RATE = { perSecond: 15, burst: 30 };

const id = z.string({ error: 'must be a string id' }).regex(/^[A-Za-z0-9_-]{1,64}$/, { error: 'must be 1-64 letters, digits, "_" or "-"' });
const unit = (what: string) => z.number({ error: `must be a number from 0 to 1 (${what})` }).min(0, { error: 'must be >= 0' }).max(1, { error: 'must be <= 1' });

const Commands = {
  'tryon:set': z.strictObject({ productId: id, shadeId: id.optional(), intensity: unit('1 = full strength').optional() }),
  'tryon:remove': z.strictObject({ productId: id.optional(), category: z.string({ error: 'must be a category name' }).max(32, { error: 'must be a category name' }).optional() }),
  'tryon:clear': z.strictObject({}),
  'tryon:look': z.strictObject({ lookId: z.string({ error: 'must be a look id' }).min(1, { error: 'must be a look id' }).max(256, { error: 'is too long for a look id' }) }),
  'tryon:compare': z.strictObject({ split: unit('the bare part of the displayed width').nullable() }),
  'look:save': z.strictObject({}),
} as const;
type CommandName = keyof typeof Commands;
/** Commands that take no arguments may be sent without a payload. */
const NO_ARGUMENTS = new Set<CommandName>(['tryon:clear', 'look:save']);

export interface TryOnCommandDeps {
  selection: Selection;
  /** A shopper's accepted touch (it keeps their session going; called before the change applies). */
  onActivity: (at: number) => void;
  /** A saved look, for telemetry (`look.saved`). */
  onLookSaved: (lookId: string, productIds: string[], at: number) => void;
  /** The retailer's URL pattern for a saved look, with `{lookId}` (config `tryon.saveUrl`). */
  saveUrl: () => string;
  logger: Logger;
  now?: () => number;
}

type Refusal = { ok: false; error: { field: string; message: string } };
const refuse = (field: string, message: string): Refusal => ({ ok: false, error: { field, message } });

/** The first zod issue as a refusal naming the field. */
function refusalOf(error: z.ZodError): Refusal {
  const issue = error.issues[0];
  if (issue.code === 'unrecognized_keys') return refuse(String(issue.keys[0]).slice(0, 64), 'is not a field of this command');
  return refuse(issue.path.map(String).join('.') || '(payload)', issue.path.length ? issue.message : 'must be an object');
}

/** A per-client token bucket. */
function rateLimiter(now: () => number): () => boolean {
  let tokens = COMMAND_RATE.burst;
  let at = now();
  return () => {
    const t = now();
    tokens = Math.min(COMMAND_RATE.burst, tokens + ((t - at) / 1000) * COMMAND_RATE.perSecond);
    at = t;
    if (tokens < 1) return false;
    tokens -= 1;
    return true;
  };
}

/** Sends `catalog` and `tryon:state` to every kiosk and handles their commands. */
export function registerTryOnCommands(kiosk: { onClient(setup: (socket: KioskSocket) => void): void }, deps: TryOnCommandDeps): void {
  const { selection, logger } = deps;
  const now = deps.now ?? Date.now;
  const sockets = new Set<KioskSocket>();
  // Built once per catalog, not per connection: a catalog is immutable once served.
  let catalogMessage: { for: unknown; message: CatalogMessage } | null = null;
  const currentCatalog = () => {
    if (catalogMessage?.for !== selection.catalog) catalogMessage = { for: selection.catalog, message: toCatalogMessage(selection.catalog) };
    return catalogMessage.message;
  };
  let lastRejectLogAt = 0;
  const logRefusal = (event: string, error: Refusal['error']) => {
    if (now() - lastRejectLogAt < 10_000) return;
    lastRejectLogAt = now();
    logger.warn({ event, field: error.field, problem: error.message }, 'socket event rejected');
  };

  selection.onChange((state, cause) => {
    for (const socket of sockets) {
      // The kiosk reads the state's ids against the catalog, so a new catalog goes first.
      if (cause === 'catalog') socket.emit('catalog', currentCatalog());
      socket.emit('tryon:state', state);
    }
  });

  const handlers: { [K in CommandName]: (cmd: z.infer<(typeof Commands)[K]>) => TryOnAck | LookSaveAck } = {
    'tryon:set': (c) => selection.set(c),
    'tryon:remove': (c) => selection.remove(c),
    'tryon:clear': () => selection.clear(),
    'tryon:look': (c) => selection.look(c.lookId),
    'tryon:compare': (c) => selection.compare(c.split),
    'look:save': () => saveLook(),
  };

  const apply = (name: CommandName, payload: unknown): TryOnAck | LookSaveAck => {
    const parsed = Commands[name].safeParse(payload === undefined && NO_ARGUMENTS.has(name) ? {} : payload);
    if (!parsed.success) return refusalOf(parsed.error);
    deps.onActivity(now());
    return (handlers[name] as (cmd: unknown) => TryOnAck | LookSaveAck)(parsed.data);
  };

  function saveLook(): LookSaveAck {
    const refs = selection.refs();
    if (refs.length === 0) return refuse('items', 'nothing to save: the shopper has nothing on');
    const lookId = encodeSavedLook(refs);
    deps.onLookSaved(lookId, refs.map((r) => r.productId), now());
    return { ok: true, lookId, url: deps.saveUrl().replace('{lookId}', encodeURIComponent(lookId)) };
  }

  kiosk.onClient((socket) => {
    sockets.add(socket);
    socket.once('disconnect', () => sockets.delete(socket));
    const allowed = rateLimiter(now);
    for (const name of Object.keys(Commands) as CommandName[]) {
      socket.on(name, (...args: unknown[]) => {
        const ack = typeof args.at(-1) === 'function' ? (args.at(-1) as (result: TryOnAck | LookSaveAck) => void) : undefined;
        const payload = args[0] === ack ? undefined : args[0];
        let result: TryOnAck | LookSaveAck;
        try {
          result = allowed() ? apply(name, payload) : refuse('(rate)', `more than ${COMMAND_RATE.perSecond} commands a second`);
        } catch (err) {
          logger.error({ event: name, err: (err as Error).message }, 'try-on command failed');
          result = refuse('(internal)', 'the mirror could not apply this; nothing changed');
        }
        if (!result.ok) logRefusal(name, result.error);
        ack?.(result);
      });
    }
    socket.emit('catalog', currentCatalog());
    socket.emit('tryon:state', selection.state());
  });
}

