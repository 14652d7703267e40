/**
 * Who may do what on the embedded (demo) broker: the same rules as the Mosquitto ACL the real
 * install uses (fleet/broker/acl), so the demo behaves like a store. Anonymous clients get nothing.
 *
 *   device  (username "{storeId}/{deviceId}"): writes its own status, telemetry, events, result,
 *           update/request and update/state; reads its own cmd/# and update/offer|chunk|cancel.
 *   fleet   (username "fleet-service"): reads mirror/v1/#; writes cmd/# and update/offer|chunk|cancel.
 */
import { TOPIC_ROOT, TOPIC_VERSION } from '../../../fleet/protocol/topics.ts';

export type BrokerRole = 'device' | 'fleet';

export interface BrokerUser {
  username: string;
  password: string;
  role: BrokerRole;
}

export const FLEET_USERNAME = 'fleet-service';

const PREFIX = `${TOPIC_ROOT}/${TOPIC_VERSION}/`;
const DEVICE_WRITES = ['status', 'telemetry', 'events', 'result', 'update/request', 'update/state'];
const DEVICE_READS = ['update/offer', 'update/chunk', 'update/cancel'];
const SEGMENT = /^[A-Za-z0-9_-]{1,64}$/;

/** `{store}/{device}/{rest}` of a topic under mirror/v1/, or undefined. */
function split(topic: string): { store: string; device: string; rest: string } | undefined {
  if (!topic.startsWith(PREFIX)) return undefined;
  const [store, device, ...rest] = topic.slice(PREFIX.length).split('/');
  if (store === undefined || device === undefined || rest.length === 0) return undefined;
  return { store, device, rest: rest.join('/') };
}

function isCmd(rest: string, allowTrailingHash: boolean): boolean {
  const segs = rest.split('/');
  if (segs[0] !== 'cmd' || segs.length < 2) return false;
  return segs.slice(1).every((s, i) => SEGMENT.test(s) || (allowTrailingHash && s === '#' && i === segs.length - 2));
}

export function canPublish(user: Pick<BrokerUser, 'username' | 'role'>, topic: string): boolean {
  const t = split(topic);
  if (t === undefined || !SEGMENT.test(t.store) || !SEGMENT.test(t.device)) return false;
  if (user.role === 'device') return `${t.store}/${t.device}` === user.username && DEVICE_WRITES.includes(t.rest);
  return DEVICE_READS.includes(t.rest) || isCmd(t.rest, false);
}

export function canSubscribe(user: Pick<BrokerUser, 'username' | 'role'>, filter: string): boolean {
  if (user.role === 'fleet') return filter === `${PREFIX}#` || (filter.startsWith(PREFIX) && filter.length > PREFIX.length);
  const t = split(filter);
  if (t === undefined || `${t.store}/${t.device}` !== user.username) return false;
  return DEVICE_READS.includes(t.rest) || isCmd(t.rest, true);
}
