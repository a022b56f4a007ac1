// Gathers what buildSpec needs to know about the host, so spec generation itself stays pure.
import os from 'node:os';
import { errnoCode, InvalidArgumentError } from '../errors.js';
import {
  listDevices,
  readCapabilityBoundingSet,
  readDevice,
  readRlimits,
  swapLimitSupported,
} from '../sys/proc.js';
import { capabilitiesFromMask } from './capabilities.js';
import { parseDeviceFlag, type DeviceInput, type HostFacts } from './spec.js';

/** Host facts for buildSpec. `withDevices` walks /dev (only privileged containers need it). */
export function readHostFacts(opts: { withDevices?: boolean } = {}): HostFacts {
  const rlimits = readRlimits();
  return {
    capabilities: capabilitiesFromMask(readCapabilityBoundingSet()),
    rlimitHard: Object.fromEntries(Object.entries(rlimits).map(([k, v]) => [k, v.hard])),
    arch: process.arch,
    kernel: os.release(),
    swapLimit: swapLimitSupported(),
    ...(opts.withDevices ? { devices: listDevices('/dev') } : {}),
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
