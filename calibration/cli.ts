#!/usr/bin/env -S node --import tsx
/**
 * `calibrate`: colour calibration from a chart photo and latency measurement, on the mirror.
 *
 *   calibrate color --image chart.jpg [--out profile.json] [--corners "x,y x,y x,y x,y"]
 *                   [--method matrix|root-polynomial] [--camera-id ID] [--allow-clipped] [--json]
 *       Finds the ColorChecker Classic (or takes the centres of its corner patches: dark skin,
 *       bluish green, black, white), fits the profile, prints ΔE2000 per patch before and after,
 *       and writes the profile (default: $MIRROR_STATE_DIR or var/state, calibration/colour-profile.json,
 *       where the daemon reads it at start).
 *   calibrate framing --image still.jpg [--display 1080x1920] [--rotation auto|0|90|180|270] [--preview glass.png] [--json]
 *       What the glass shows for a still taken as the camera delivers it: the mounting rotation
 *       (auto: the one that shows the face upright), the virtual-mirror crop, the face's size in
 *       camera and glass pixels and the magnification, and the config lines to use.
 *   calibrate latency [--url http://127.0.0.1:8080] [--frames 300] [--timeout-s 60] [--json]
 *       Capture-to-paint latency through the running daemon's kiosk socket: p50/p95/max.
 *
 * Exit codes: 0 done, 1 the input was refused (the message names the problem), 2 usage.
 */
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { calibrateColour } from './colour/calibrate.ts';
import { parseCorners } from './colour/corners.ts';
import { PROFILE_FILE, profileFromFit, saveProfile } from './colour/profile.ts';
import type { ColourFit } from './colour/solve.ts';
import { CalibrationError } from './errors.ts';
import { loadImage } from './image.ts';
import { measureLatency, type LatencyReport } from './latency.ts';
import { formatFraming, planFraming } from './framing.ts';
import { writeFile, mkdtemp } from 'node:fs/promises';
import type { Rotation } from '../device/framing/geometry.ts';

const USAGE = `usage: calibrate color --image FILE [--out FILE] [--corners "x,y x,y x,y x,y"] [--method matrix|root-polynomial] [--camera-id ID] [--allow-clipped] [--json]
       calibrate framing --image FILE [--display WxH] [--rotation auto|0|90|180|270] [--preview FILE] [--json]
       calibrate latency [--url URL] [--frames N] [--timeout-s S] [--json]`;

class UsageError extends Error {}

function formatFit(fit: ColourFit): string {
  const rows = fit.patches.map((p) => `  ${String(p.index + 1).padStart(2)}  ${p.name.padEnd(14)} ${p.before.toFixed(2).padStart(6)} ${p.after.toFixed(2).padStart(6)}${p.clipped ? '  clipped (not fitted)' : ''}`);
  const wb = fit.model.whiteBalance.map((v) => (v / fit.model.whiteBalance[1]).toFixed(3)).join(' ');
  return [
    '   #  patch          ΔE2000 before  after',
    ...rows,
    `  mean ${fit.before.mean.toFixed(2)} → ${fit.after.mean.toFixed(2)}, max ${fit.before.max.toFixed(2)} → ${fit.after.max.toFixed(2)}`,
    `  method ${fit.model.method}, white balance r:g:b ${wb}, tone exponent ${fit.model.toneExponent.map((v) => v.toFixed(3)).join(' ')}`,
  ].join('\n');
}

async function colour(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: {
      image: { type: 'string' },
      out: { type: 'string' },
      corners: { type: 'string' },
      method: { type: 'string', default: 'matrix' },
      'camera-id': { type: 'string', default: `${os.hostname()}-camera` },
      'allow-clipped': { type: 'boolean', default: false },
      json: { type: 'boolean', default: false },
    },
  });
  if (!values.image) throw new UsageError('calibrate color needs --image FILE');
  if (values.method !== 'matrix' && values.method !== 'root-polynomial') throw new UsageError(`--method must be matrix or root-polynomial, not "${values.method}"`);
  const corners = values.corners === undefined ? undefined : parseCorners(values.corners);
  const image = await loadImage(values.image);
  const result = calibrateColour(image, { method: values.method, corners, allowClipped: values['allow-clipped'] });
  const profile = profileFromFit(result.fit, values['camera-id']);
  const out = path.resolve(values.out ?? path.join(process.env.MIRROR_STATE_DIR ?? 'var/state', PROFILE_FILE));
  await saveProfile(out, profile);
  if (values.json) {
    console.log(JSON.stringify({ out, located: result.located, profile }, null, 2));
    return;
  }
  console.log(`chart found ${result.located === 'automatic' ? 'automatically' : 'from the four corners'} in ${values.image} (${image.width}x${image.height})`);
  console.log(formatFit(result.fit));
  console.log(`profile ${profile.version} written to ${out} (restart the daemon to apply it)`);
  console.log(`to push it through the fleet: fleet sign ${out} --kind colour-profile --name colour-profile --version ${profile.version} --key KEY.pem --key-id ID, then fleet push`);
}

async function framing(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: {
      image: { type: 'string' },
      display: { type: 'string', default: '1080x1920' },
      rotation: { type: 'string', default: 'auto' },
      preview: { type: 'string' },
      json: { type: 'boolean', default: false },
    },
  });
  if (!values.image) throw new UsageError('calibrate framing needs --image FILE');
  const size = /^(\d{3,4})x(\d{3,4})$/.exec(values.display);
  if (!size) throw new UsageError(`--display must be WIDTHxHEIGHT like 1080x1920, not "${values.display}"`);
  const display = { width: Number(size[1]), height: Number(size[2]) };
  if (!['auto', '0', '90', '180', '270'].includes(values.rotation)) throw new UsageError(`--rotation must be auto, 0, 90, 180 or 270, not "${values.rotation}"`);
  const rotation = values.rotation === 'auto' ? 'auto' : (Number(values.rotation) as Rotation);
  const image = await loadImage(values.image);
  const stateDir = await mkdtemp(path.join(os.tmpdir(), 'calibrate-framing-'));
  const { report, preview } = await planFraming(image, { rotation, display, stateDir });
  if (values.preview) await writeFile(values.preview, await preview());
  console.log(values.json ? JSON.stringify(report, null, 2) : formatFraming(report));
}

function formatLatency(r: LatencyReport): string {
  const line = (name: string, s: LatencyReport['captureToEmit']): string => `  ${name.padEnd(18)} p50 ${s.p50} ms  p95 ${s.p95} ms  max ${s.max} ms`;
  return [
    `${r.frames} frames`,
    line('capture → emit', r.captureToEmit),
    line('capture → receive', r.captureToReceive),
    line('capture → paint', r.captureToPaint),
    `  the daemon's capture → paint p95 (every kiosk): ${r.daemonPaintP95Ms ?? 'n/a'} ms`,
  ].join('\n');
}

async function latency(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: {
      url: { type: 'string', default: 'http://127.0.0.1:8080' },
      frames: { type: 'string', default: '300' },
      'timeout-s': { type: 'string', default: '60' },
      json: { type: 'boolean', default: false },
    },
  });
  const frames = Number(values.frames);
  const timeoutS = Number(values['timeout-s']);
  if (!Number.isInteger(frames) || frames < 1) throw new UsageError(`--frames must be a positive integer, not "${values.frames}"`);
  if (!(timeoutS > 0)) throw new UsageError(`--timeout-s must be a positive number, not "${values['timeout-s']}"`);
  const report = await measureLatency({ url: values.url, frames, timeoutMs: timeoutS * 1000 });
  console.log(values.json ? JSON.stringify(report, null, 2) : formatLatency(report));
}

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  try {
    if (command === 'color' || command === 'colour') await colour(rest);
    else if (command === 'latency') await latency(rest);
    else if (command === 'framing') await framing(rest);
    else throw new UsageError(command ? `unknown command "${command}"` : 'no command given');
    return 0;
  } catch (err) {
    if (err instanceof CalibrationError) {
      console.error(`calibrate ${command}: ${err.message}`);
      return 1;
    }
    if (err instanceof UsageError || (err as NodeJS.ErrnoException).code?.startsWith('ERR_PARSE_ARGS')) {
      console.error(`calibrate: ${(err as Error).message}\n${USAGE}`);
      return 2;
    }
    throw err;
  }
}

process.exitCode = await main(process.argv.slice(2));
