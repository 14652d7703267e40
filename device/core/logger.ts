/**
 * The logging surface every stage needs: a subset of pino's, so the daemon passes its pino logger
 * (or a child) straight in and tests pass a recorder.
 */
export interface Logger {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}
