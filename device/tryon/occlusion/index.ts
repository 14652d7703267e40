/** The occlusion gate the try-on stage builds once per frame (see gate.ts). */
export { createOcclusionGate, newGateScratch, type GateScratch } from './gate.ts';
