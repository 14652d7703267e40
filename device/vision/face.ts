/** What the vision stage tells the stages after it about one face. Image pixel coordinates. */
import type { HeadPose } from './pose.ts';
import type { IrisPair } from './iris.ts';

export interface Box {
  x: number;
  y: number;
  width: number;
  height: number;
}

export interface Face {
  /** Region the mesh was computed in (tracked crop); every landmark of a good mesh lies inside it. */
  box: Box;
  /** Mesh confidence, 0..1. */
  score: number;
  /**
   * 468 MediaPipe face-mesh points, [x, y, z]; z is relative depth in pixel units. With the
   * attention mesh, 478: its refined lips and eyes in place, then 5 iris points per eye (468-472
   * the subject's right eye, 473-477 the left; centre first).
   */
  landmarks: Array<[number, number, number]>;
  /** Head pose in degrees (see pose.ts for the conventions). */
  pose?: HeadPose;
  /** Iris centres and radii, when iris refinement is on. */
  iris?: IrisPair;
}

export const MESH_POINT_COUNT = 468;
/** The attention mesh: the mesh's points plus 10 iris points. */
export const ATTENTION_POINT_COUNT = 478;
