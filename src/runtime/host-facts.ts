// Gathers what buildSpec needs to know about the host, so spec generation itself stays pure.
import { existsSync } from 'node:fs';
import { release as osRelease } from 'node:os';
import type { HostConfig, ThrottleDevice } from '../engine/engine.js';
import type { ThrottleInput } from '../container/spec-input.js';
import { errnoCode, InvalidArgumentError, NotFoundError } from '../errors.js';
import { cgroupMode } from '../sys/cgroups.js';
import {
  listDevices,
  readCapabilityBoundingSet,
  readDevice,
  readRlimits,
  swapLimitSupported,
} from '../sys/proc.js';
import { capabilitiesFromMask } from './capabilities.js';
import { CRUN_PATH } from './runtime.js';
import { parseDeviceFlag } from './device-flags.js';
import type { DeviceInput, HostFacts, OciThrottleDevice } from './spec.js';

let base: Omit<HostFacts, 'devices'> | undefined;

/**
 * Host facts for buildSpec. `withDevices` walks /dev (only privileged containers need it). The
 * rest is read once per process: `run` builds a spec at create, to check it, and again at start.
 */
export function readHostFacts(opts: { withDevices?: boolean } = {}): HostFacts {
  base ??= readBaseFacts();
  return { ...base, ...(opts.withDevices ? { devices: listDevices('/dev') } : {}) };
}

function readBaseFacts(): Omit<HostFacts, 'devices'> {
  const rlimits = readRlimits();
  return {
    capabilities: capabilitiesFromMask(readCapabilityBoundingSet()),
    rlimitHard: Object.fromEntries(Object.entries(rlimits).map(([k, v]) => [k, v.hard])),
    arch: process.arch,
    kernel: osRelease(),
    swapLimit: swapLimitSupported(),
  };
}

/** Resolves --device HOST[:CONTAINER[:PERMS]] against the host's device node. */
export function resolveDeviceFlag(value: string): DeviceInput {
  const { hostPath, containerPath, permissions } = parseDeviceFlag(value);
  try {
    return { host: readDevice(hostPath), containerPath, permissions };
  } catch (err) {
    const code = errnoCode(err);
    const reason = code === 'ENOENT' ? 'no such file or directory' : code ?? (err as Error).message;
    throw new InvalidArgumentError(
      'invalid_device',
      `error gathering device information while adding custom device "${hostPath}": ${reason}`,
      { cause: err },
    );
  }
}

/** The block devices of the HostConfig's read/write throttles, by number as the cgroup wants them. */
export function resolveThrottleDevices(hc: HostConfig): ThrottleInput {
  const resolve = (list: ThrottleDevice[] | null | undefined): OciThrottleDevice[] =>
    (list ?? []).map((t) => {
      let dev;
      try {
        dev = readDevice(t.Path);
      } catch (err) {
        const code = errnoCode(err);
        const reason = code === 'ENOENT' ? 'no such file or directory' : code ?? (err as Error).message;
        throw new InvalidArgumentError('invalid_device', `error gathering device information for the throttled device "${t.Path}": ${reason}`, { cause: err });
      }
      if (dev.type !== 'b') throw new InvalidArgumentError('invalid_device', `cannot throttle "${t.Path}": it is not a block device`);
      return { major: dev.major, minor: dev.minor, rate: t.Rate };
    });
  return {
    readBps: resolve(hc.BlkioDeviceReadBps),
    writeBps: resolve(hc.BlkioDeviceWriteBps),
    readIOps: resolve(hc.BlkioDeviceReadIOps),
    writeIOps: resolve(hc.BlkioDeviceWriteIOps),
  };
}

/**
 * Checks --runtime: runc (the default) or crun where it is installed. crun cannot manage a
 * hybrid cgroup host (v1 controllers with the v2 hierarchy mounted beside them), so there it
 * is refused up front rather than failing at start with crun's own, less clear, error.
 */
export function checkRuntime(name: string): void {
  if (name === 'runc') return;
  if (name !== 'crun') throw new NotFoundError('unknown_runtime', `unknown or invalid runtime name: ${name}`);
  if (cgroupMode() === 'hybrid') {
    throw new InvalidArgumentError(
      'runtime_unsupported',
      'the crun runtime cannot be used on this host: crun refuses hybrid cgroup hosts (cgroup v1 controllers with the cgroup v2 hierarchy mounted at /sys/fs/cgroup/unified); use --runtime runc, or boot the host with a single cgroup version',
    );
  }
  if (!existsSync(CRUN_PATH)) throw new NotFoundError('unknown_runtime', `unknown or invalid runtime name: crun (${CRUN_PATH} is not installed)`);
}
