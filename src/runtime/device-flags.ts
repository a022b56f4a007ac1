// Parsing of --device and --device-cgroup-rule, kept apart from spec generation so the CLI can
// check its flags without loading the spec builder and the seccomp profile.
import { InvalidArgumentError } from '../errors.js';
import type { OciDeviceCgroup } from './spec.js';

function invalid(code: string, message: string): never {
  throw new InvalidArgumentError(code, message);
}

export function parseDeviceCgroupRule(rule: string): OciDeviceCgroup {
  const m = /^([acb]) ([0-9]+|\*):([0-9]+|\*) ([rwm]{1,3})$/.exec(rule);
  if (!m) invalid('invalid_device_cgroup_rule', `invalid device cgroup format '${rule}'`);
  const out: OciDeviceCgroup = { allow: true, type: m[1] as 'a' | 'c' | 'b', access: m[4] };
  if (m[2] !== '*') out.major = Number(m[2]);
  if (m[3] !== '*') out.minor = Number(m[3]);
  return out;
}

export function parseDeviceFlag(value: string): {
  hostPath: string;
  containerPath: string;
  permissions: string;
} {
  const parts = value.split(':');
  const isPerm = (s: string) => /^[rwm]{1,3}$/.test(s) && new Set(s).size === s.length;
  let hostPath = parts[0];
  let containerPath = parts[0];
  let permissions = 'rwm';
  if (parts.length === 2) {
    if (isPerm(parts[1])) permissions = parts[1];
    else containerPath = parts[1];
  } else if (parts.length === 3) {
    containerPath = parts[1];
    if (!isPerm(parts[2])) invalid('invalid_device', `invalid device mode: ${parts[2]}`);
    permissions = parts[2];
  } else if (parts.length > 3) {
    invalid('invalid_device', `invalid device specification: ${value}`);
  }
  if (!hostPath.startsWith('/')) invalid('invalid_device', `invalid device specification: ${value}`);
  if (!containerPath.startsWith('/')) {
    invalid('invalid_device', `${containerPath} is not an absolute path`);
  }
  hostPath = hostPath.replace(/\/+$/, '') || '/';
  return { hostPath, containerPath, permissions };
}
