/** Messages between the daemon and the embedded broker's process (./child.ts), validated on receipt. */
import { z } from 'zod';

export const BrokerLimitsSchema = z.object({
  maxPacketBytes: z.int().min(1024),
  maxConnections: z.int().min(1),
  publishPerSecond: z.number().positive(),
  publishBurst: z.int().min(1),
});
export type BrokerLimits = z.infer<typeof BrokerLimitsSchema>;

export const StartMessageSchema = z.object({
  type: z.literal('start'),
  host: z.string(),
  port: z.int().min(0).max(65535),
  users: z.array(z.object({ username: z.string().min(1), password: z.string().min(16), role: z.enum(['device', 'fleet']) })).min(1),
  limits: BrokerLimitsSchema,
});
export type StartMessage = z.infer<typeof StartMessageSchema>;

export const ChildMessageSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('listening'), port: z.int().min(1).max(65535) }),
  z.object({ type: z.literal('failed'), code: z.string().optional(), message: z.string() }),
  z.object({ type: z.literal('log'), level: z.enum(['info', 'warn', 'error']), obj: z.record(z.string(), z.unknown()), msg: z.string() }),
]);
export type ChildMessage = z.infer<typeof ChildMessageSchema>;
