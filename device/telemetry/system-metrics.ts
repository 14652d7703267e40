/**
 * The machine's health for the metrics message (`system` in MetricsMessageSchema): whole-machine
 * CPU load, load average, memory, CPU/SoC temperatures and, where the kernel exposes them, GPU
 * load and temperature. Only files under /proc and /sys are read: no external binary is ever
 * spawned (nvidia-smi on every interval would cost more than it tells) and nothing touches the
 * network. Every field is optional: a source that does not exist, cannot be read or reads as
 * nonsense is simply left out, and `sample()` never throws.
 *
 * Sources (paths relative to `root`, `/` on a device; a fixture tree in tests):
 *   cpuLoad            /proc/stat, the first `cpu` line, busy/total jiffies since the previous sample (0..1)
 *   load1/5/15         /proc/loadavg
 *   memTotalBytes,
 *   memAvailableBytes  /proc/meminfo (MemTotal, MemAvailable)
 *   temperaturesC      /sys/class/thermal/thermal_zone{N}/temp (millidegrees) keyed by its `type`
 *                      (`x86_pkg_temp`, `CPU-therm`, `GPU-therm`, ...; repeated types get `-zone{N}`)
 *   gpuLoad            Jetson: /sys/devices/gpu.0/load, /sys/devices/platform/gpu.0/load or a
 *                      platform GPU node (`*.gpu`, `*.ga10b`, `*.gv11b`, ...) with a `load` file
 *                      (0..1000); AMD: /sys/class/drm/card{N}/device/gpu_busy_percent (0..100)
 *   gpuTemperatureC    a thermal zone whose type names the GPU (Jetson `GPU-therm`), else the AMD
 *                      card's hwmon temp1_input. NVIDIA desktop GPUs expose neither in sysfs: absent.
 *
 * Where the files are is worked out once (`createSystemSampler`), so a sample is a handful of
 * small synchronous reads (pseudo-files, microseconds).
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';

export interface SystemMetrics {
  /** Whole-machine CPU busy share since the previous sample, 0..1. */
  cpuLoad?: number;
  load1?: number;
  load5?: number;
  load15?: number;
  memTotalBytes?: number;
  memAvailableBytes?: number;
  /** Thermal zone (its type) → °C. */
  temperaturesC?: Record<string, number>;
  /** GPU busy share, 0..1. */
  gpuLoad?: number;
  gpuTemperatureC?: number;
}

export interface SystemSamplerOptions {
  /** Filesystem root holding `proc/` and `sys/`; default `/`. */
  root?: string;
  /** At most this many thermal zones are reported; default 16. */
  maxZones?: number;
}

export interface SystemSampler {
  /** Never throws; fields whose source is missing are absent. */
  sample(): SystemMetrics;
}

/** Plausible readings; anything outside is a broken or unconnected sensor and is dropped. */
export const TEMPERATURE_RANGE_C = { min: -40, max: 150 } as const;

const JETSON_GPU_LOAD = ['sys/devices/gpu.0/load', 'sys/devices/platform/gpu.0/load'];
/** Jetson GPU platform device names across generations (TX2 gp10b, Xavier gv11b, Orin ga10b). */
const PLATFORM_GPU = /(^|\.)(gpu|gp10b|gv11b|ga10b|gb10b)(\.\d+)?$/;

function readText(file: string): string | undefined {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
}

function readNumber(file: string): number | undefined {
  const t = readText(file)?.trim();
  if (t === undefined || t === '' || !/^-?\d+(\.\d+)?$/.test(t)) return undefined;
  const n = Number(t);
  return Number.isFinite(n) ? n : undefined;
}

function listDir(dir: string): string[] {
  try {
    return readdirSync(dir).sort(naturalCompare);
  } catch {
    return [];
  }
}

function naturalCompare(a: string, b: string): number {
  return a.localeCompare(b, 'en', { numeric: true });
}

const round = (n: number, digits: number) => Math.round(n * 10 ** digits) / 10 ** digits;
const clamp01 = (n: number) => Math.min(1, Math.max(0, n));

/** Kernel ABI: millidegrees Celsius. A few drivers report whole degrees; tell them apart by size. */
export function thermalToCelsius(raw: number): number | undefined {
  if (!Number.isFinite(raw)) return undefined;
  const c = Math.abs(raw) > 200 ? raw / 1000 : raw;
  if (c < TEMPERATURE_RANGE_C.min || c > TEMPERATURE_RANGE_C.max) return undefined;
  return round(c, 1);
}

/** A thermal zone's type as a metrics key (`[A-Za-z0-9][A-Za-z0-9_.-]{0,63}`). */
export function zoneKey(type: string | undefined, zone: string): string {
  const cleaned = (type ?? '').trim().replace(/[^A-Za-z0-9_.-]+/g, '_').replace(/^[^A-Za-z0-9]+/, '').slice(0, 48);
  return cleaned === '' ? zone : cleaned;
}

interface CpuTimes {
  busy: number;
  total: number;
}

/** The aggregate `cpu` line of /proc/stat: user nice system idle iowait irq softirq steal [guest guest_nice]. */
export function parseProcStat(text: string): CpuTimes | undefined {
  const line = text.split('\n').find((l) => /^cpu\s/.test(l));
  if (!line) return undefined;
  const f = line.trim().split(/\s+/).slice(1).map(Number);
  if (f.length < 4 || f.slice(0, 4).some((n) => !Number.isFinite(n) || n < 0)) return undefined;
  // guest and guest_nice are already counted in user and nice.
  const [user = 0, nice = 0, system = 0, idle = 0, iowait = 0, irq = 0, softirq = 0, steal = 0] = f.map((n) => (Number.isFinite(n) ? n : 0));
  const idleAll = idle + iowait;
  const total = user + nice + system + idle + iowait + irq + softirq + steal;
  return { busy: total - idleAll, total };
}

export function parseLoadavg(text: string): Pick<SystemMetrics, 'load1' | 'load5' | 'load15'> {
  const [a, b, c] = text.trim().split(/\s+/).map(Number);
  const out: Pick<SystemMetrics, 'load1' | 'load5' | 'load15'> = {};
  if (a !== undefined && Number.isFinite(a) && a >= 0) out.load1 = a;
  if (b !== undefined && Number.isFinite(b) && b >= 0) out.load5 = b;
  if (c !== undefined && Number.isFinite(c) && c >= 0) out.load15 = c;
  return out;
}

export function parseMeminfo(text: string): Pick<SystemMetrics, 'memTotalBytes' | 'memAvailableBytes'> {
  const out: Pick<SystemMetrics, 'memTotalBytes' | 'memAvailableBytes'> = {};
  for (const line of text.split('\n')) {
    const m = /^(MemTotal|MemAvailable):\s+(\d+)\s*kB/i.exec(line);
    if (!m) continue;
    const bytes = Number(m[2]) * 1024;
    if (!Number.isSafeInteger(bytes)) continue;
    if (m[1] === 'MemTotal') out.memTotalBytes = bytes;
    else out.memAvailableBytes = bytes;
  }
  return out;
}

interface Discovered {
  zones: Array<{ key: string; file: string; gpu: boolean }>;
  /** A load file and its full scale (1000 on Jetson, 100 for AMD's percent). */
  gpuLoad?: { file: string; scale: number };
  gpuTempFile?: string;
}

function discover(root: string, maxZones: number): Discovered {
  const at = (...p: string[]) => path.join(root, ...p);
  const found: Discovered = { zones: [] };

  const thermal = at('sys/class/thermal');
  const used = new Set<string>();
  for (const zone of listDir(thermal).filter((n) => /^thermal_zone\d+$/.test(n))) {
    if (found.zones.length >= maxZones) break;
    const file = path.join(thermal, zone, 'temp');
    if (readNumber(file) === undefined) continue;
    const type = readText(path.join(thermal, zone, 'type'))?.trim();
    let key = zoneKey(type, zone);
    if (used.has(key)) key = `${key}-${zone.replace('thermal_', '')}`.slice(0, 64);
    used.add(key);
    found.zones.push({ key, file, gpu: /gpu/i.test(type ?? '') });
  }

  const candidates = JETSON_GPU_LOAD.map((p) => at(p));
  for (const base of [at('sys/devices/platform'), at('sys/devices/platform/bus@0')]) {
    for (const name of listDir(base)) if (PLATFORM_GPU.test(name)) candidates.push(path.join(base, name, 'load'));
  }
  const jetson = candidates.find((f) => readNumber(f) !== undefined);
  if (jetson) found.gpuLoad = { file: jetson, scale: 1000 };

  for (const card of listDir(at('sys/class/drm')).filter((n) => /^card\d+$/.test(n))) {
    const dev = at('sys/class/drm', card, 'device');
    const busy = path.join(dev, 'gpu_busy_percent');
    if (!found.gpuLoad && readNumber(busy) !== undefined) found.gpuLoad = { file: busy, scale: 100 };
    if (!found.gpuTempFile) {
      for (const hw of listDir(path.join(dev, 'hwmon'))) {
        const f = path.join(dev, 'hwmon', hw, 'temp1_input');
        if (readNumber(f) !== undefined) {
          found.gpuTempFile = f;
          break;
        }
      }
    }
  }
  return found;
}

export function createSystemSampler(options: SystemSamplerOptions = {}): SystemSampler {
  const root = options.root ?? '/';
  const at = (...p: string[]) => path.join(root, ...p);
  let found: Discovered;
  try {
    found = discover(root, Math.max(0, options.maxZones ?? 16));
  } catch {
    found = { zones: [] };
  }
  const statFile = at('proc/stat');
  const readCpu = (): CpuTimes | undefined => {
    const t = readText(statFile);
    return t === undefined ? undefined : parseProcStat(t);
  };
  let lastCpu = readCpu();

  function cpuLoad(): number | undefined {
    const now = readCpu();
    const prev = lastCpu;
    if (now === undefined) return undefined;
    lastCpu = now;
    if (prev === undefined) return undefined;
    const dTotal = now.total - prev.total;
    const dBusy = now.busy - prev.busy;
    // No time passed (two samples within a jiffy) or the counters went backwards (a reset).
    if (!(dTotal > 0) || dBusy < 0) return undefined;
    return round(clamp01(dBusy / dTotal), 4);
  }

  return {
    sample() {
      const out: SystemMetrics = {};
      try {
        const cpu = cpuLoad();
        if (cpu !== undefined) out.cpuLoad = cpu;
        const la = readText(at('proc/loadavg'));
        if (la !== undefined) Object.assign(out, parseLoadavg(la));
        const mi = readText(at('proc/meminfo'));
        if (mi !== undefined) Object.assign(out, parseMeminfo(mi));

        const temps: Record<string, number> = {};
        let gpuZoneTemp: number | undefined;
        for (const z of found.zones) {
          const raw = readNumber(z.file);
          const c = raw === undefined ? undefined : thermalToCelsius(raw);
          if (c === undefined) continue;
          temps[z.key] = c;
          if (z.gpu && gpuZoneTemp === undefined) gpuZoneTemp = c;
        }
        if (Object.keys(temps).length > 0) out.temperaturesC = temps;

        if (found.gpuLoad) {
          const raw = readNumber(found.gpuLoad.file);
          if (raw !== undefined && raw >= 0) out.gpuLoad = round(clamp01(raw / found.gpuLoad.scale), 4);
        }
        let gpuTemp = gpuZoneTemp;
        if (gpuTemp === undefined && found.gpuTempFile) {
          const raw = readNumber(found.gpuTempFile);
          gpuTemp = raw === undefined ? undefined : thermalToCelsius(raw);
        }
        if (gpuTemp !== undefined) out.gpuTemperatureC = gpuTemp;
      } catch {
        // Reading pseudo-files should not throw past the helpers; if it does, report what we have.
      }
      return out;
    },
  };
}
