/** The occlusion gate the try-on stage builds once per frame (see gate.ts). */
export { createOcclusionGate } from './gate.ts';
