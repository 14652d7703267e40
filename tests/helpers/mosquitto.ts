/** The loopback test broker now lives with the fleet simulator (the bench uses it too); kept for branches in flight. */
export * from '../../fleet/sim/broker.ts';
