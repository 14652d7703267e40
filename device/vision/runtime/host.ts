/**
 * What the host offers for inference: CPU model and cores, the NVIDIA GPU (desktop driver or
 * Jetson), the TensorRT version, and which ONNX Runtime provider libraries are installed.
 * Everything is probed without side effects and without failing: an absent tool is an answer.
 */
import { execFile } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, realpathSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';

export interface HostInfo {
  cpuModel: string;
  cores: number;
  /** GPU model name, or null when no NVIDIA GPU is visible. */
  gpu: string | null;
  /** Full TensorRT library version ("10.3.0"), or null when libnvinfer is not installed. */
  tensorrtVersion: string | null;
  /** ONNX Runtime provider libraries present next to onnxruntime-node's binding. */
  ortProviderLibs: { cuda: boolean; tensorrt: boolean };
}

function run(cmd: string, args: string[], timeoutMs = 2000): Promise<string | null> {
  return new Promise((resolve) => {
    execFile(cmd, args, { timeout: timeoutMs, encoding: 'utf8' }, (err, stdout) => resolve(err ? null : stdout));
  });
}

function readText(file: string): string | null {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return null;
  }
}

async function probeGpu(): Promise<string | null> {
  // Desktop/server driver: one folder per GPU with a "Model:" line.
  try {
    for (const dir of readdirSync('/proc/driver/nvidia/gpus')) {
      const model = readText(`/proc/driver/nvidia/gpus/${dir}/information`)?.match(/^Model:\s*(.+)$/m)?.[1];
      if (model) return model.trim();
    }
  } catch {
    /* no NVIDIA driver proc entries */
  }
  const smi = await run('nvidia-smi', ['--query-gpu=name', '--format=csv,noheader']);
  if (smi?.trim()) return smi.trim().split('\n')[0].trim();
  // Jetson: the integrated GPU has no nvidia-smi; the board model names it.
  const board = readText('/proc/device-tree/model')?.replace(/\0/g, '').trim();
  if (board && /jetson/i.test(board)) return board;
  return null;
}

function libraryDirs(): string[] {
  const dirs = (process.env.LD_LIBRARY_PATH ?? '').split(':').filter(Boolean);
  dirs.push('/usr/lib/x86_64-linux-gnu', '/usr/lib/aarch64-linux-gnu', '/usr/local/lib', '/usr/lib', '/usr/local/tensorrt/lib', '/usr/local/cuda/lib64');
  return dirs;
}

async function probeTensorrt(): Promise<string | null> {
  const candidates: string[] = [];
  for (const dir of libraryDirs()) {
    try {
      for (const f of readdirSync(dir)) if (/^libnvinfer\.so\.\d/.test(f)) candidates.push(path.join(dir, f));
    } catch {
      /* missing dir */
    }
  }
  const ldconfig = await run('ldconfig', ['-p']);
  for (const m of ldconfig?.matchAll(/libnvinfer\.so\.\d+[^ ]* .*=> (\S+)/g) ?? []) candidates.push(m[1]);
  let best: string | null = null;
  for (const c of candidates) {
    let real = c;
    try {
      real = realpathSync(c);
    } catch {
      continue;
    }
    const v = path.basename(real).match(/^libnvinfer\.so\.(\d+(?:\.\d+)*)$/)?.[1];
    if (v && (!best || v.length > best.length)) best = v;
  }
  return best;
}

function ortBinDir(): string | null {
  try {
    const req = createRequire(import.meta.url);
    const pkg = path.dirname(req.resolve('onnxruntime-node/package.json'));
    return path.join(pkg, 'bin', 'napi-v6', process.platform, process.arch);
  } catch {
    return null;
  }
}

let cached: Promise<HostInfo> | null = null;

/** Probes once per process (the answers do not change while it runs). */
export function probeHost(): Promise<HostInfo> {
  cached ??= (async () => {
    const bin = ortBinDir();
    const has = (lib: string): boolean => !!bin && existsSync(path.join(bin, lib));
    const shared = has('libonnxruntime_providers_shared.so');
    const [gpu, tensorrtVersion] = await Promise.all([probeGpu(), probeTensorrt()]);
    return {
      cpuModel: os.cpus()[0]?.model?.trim() ?? 'unknown cpu',
      cores: os.availableParallelism(),
      gpu,
      tensorrtVersion,
      ortProviderLibs: {
        cuda: shared && has('libonnxruntime_providers_cuda.so'),
        tensorrt: shared && has('libonnxruntime_providers_tensorrt.so'),
      },
    };
  })();
  return cached;
}

/** A short file-name-safe form of a free-text name ("NVIDIA Jetson Orin NX" → "nvidia-jetson-orin-nx"). */
export function slug(text: string): string {
  return text.toLowerCase().replace(/[^a-z0-9.]+/g, '-').replace(/^-|-$/g, '').slice(0, 60) || 'none';
}
