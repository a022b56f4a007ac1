// `update`: new resource limits and restart policy for an existing container, merged into its
// HostConfig by Docker's rules, and the limits as the runtime applies them to a live cgroup.
import { commandLine, restartPolicy } from '../container/config.js';
import type { ContainerPaths } from '../container/paths.js';
import { specInput } from '../container/spec-input.js';
import type { ContainerRecord } from '../container/store.js';
import { ConflictError } from '../errors.js';
import { buildSpec, type HostFacts, type OciResources } from '../runtime/spec.js';
import type { ContainerUpdateBody, HostConfig } from './engine.js';

/**
 * The container's HostConfig with the update applied (Docker's container.UpdateContainer):
 * zero leaves a value as it is, and CPU quotas set one way cannot be changed the other way.
 */
export function mergeUpdate(rec: ContainerRecord, body: ContainerUpdateBody, swapLimit: boolean): HostConfig {
  const cur = rec.hostConfig;
  const conflict = (message: string): never => {
    throw new ConflictError('update_conflict', `Cannot update container ${rec.id}: ${message}`);
  };
  if (body.NanoCpus && cur.CpuPeriod) conflict('Conflicting options: Nano CPUs cannot be updated as CPU Period has already been set');
  if (body.NanoCpus && cur.CpuQuota) conflict('Conflicting options: Nano CPUs cannot be updated as CPU Quota has already been set');
  if (body.CpuPeriod && cur.NanoCpus) conflict('Conflicting options: CPU Period cannot be updated as NanoCPUs has already been set');
  if (body.CpuQuota && cur.NanoCpus) conflict('Conflicting options: CPU Quota cannot be updated as NanoCPUs has already been set');

  const next: HostConfig = { ...cur };
  if (body.BlkioWeight) next.BlkioWeight = body.BlkioWeight;
  if (body.CpuShares) next.CpuShares = body.CpuShares;
  if (body.NanoCpus) next.NanoCpus = body.NanoCpus;
  if (body.CpuPeriod) next.CpuPeriod = body.CpuPeriod;
  if (body.CpuQuota) next.CpuQuota = body.CpuQuota;
  if (body.CpusetCpus) next.CpusetCpus = body.CpusetCpus;
  if (body.CpusetMems) next.CpusetMems = body.CpusetMems;
  if (body.Memory) {
    // The swap limit in force: the one set, or Docker's default of twice the memory.
    const swap = cur.MemorySwap || (swapLimit && cur.Memory ? cur.Memory * 2 : 0);
    if (swap > 0 && body.Memory > swap && !body.MemorySwap) {
      conflict('Memory limit should be smaller than already set memoryswap limit, update the memoryswap at the same time');
    }
    // Docker keeps the swap limit: a default that followed the old memory stays as it was.
    if (!body.MemorySwap && !cur.MemorySwap && swap > 0) next.MemorySwap = swap;
    next.Memory = body.Memory;
  }
  if (body.MemorySwap) next.MemorySwap = body.MemorySwap;
  if (body.MemoryReservation) next.MemoryReservation = body.MemoryReservation;
  if (body.PidsLimit !== undefined) next.PidsLimit = body.PidsLimit;
  if (body.RestartPolicy?.Name) {
    if (cur.AutoRemove && body.RestartPolicy.Name !== 'no') conflict('Restart policy cannot be updated because AutoRemove is enabled for the container');
    next.RestartPolicy = restartPolicy(body.RestartPolicy, false);
  }
  return next;
}

/**
 * The limits for `runc update`, from the spec the updated HostConfig would start with (which
 * also checks them as create does). A limit the update lifts is written as -1 (unlimited):
 * an absent one would leave the old value in the cgroup.
 */
export function liveResources(
  rec: ContainerRecord,
  hostConfig: HostConfig,
  body: ContainerUpdateBody,
  paths: ContainerPaths,
  host: HostFacts,
): Omit<OciResources, 'devices'> {
  const spec = buildSpec(
    specInput(rec.id, rec.config, hostConfig, paths, commandLine(rec.config), {
      host,
      user: { uid: 0, gid: 0, additionalGids: [], home: '/' },
      joined: { network: '/proc/self/ns/net', ipc: '/proc/self/ns/ipc', pid: '/proc/self/ns/pid' },
      devices: [],
      // Mounts do not bear on resources.
      mounts: [],
    }),
  );
  const { devices: _devices, ...resources } = spec.linux.resources;
  if (body.PidsLimit !== undefined && body.PidsLimit <= 0) resources.pids = { limit: -1 };
  return resources;
}
