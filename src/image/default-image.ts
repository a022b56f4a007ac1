// berth's embedded default image, `busybox:latest`, made from the host's static busybox so
// that containers run on a machine that can reach no registry. The archive is built with
// fixed timestamps, so the same busybox always yields the same image ID.
import { createReadStream, statSync } from 'node:fs';
import type { Readable } from 'node:stream';
import { pack as tarPack } from 'tar-stream';
import { busyboxApplets, findBusybox } from '../sys/busybox.js';
import type { ContentStore } from '../storage/content.js';
import type { ImageStore } from './store.js';
import { mediaTypes, hostPlatform, type ImageConfig } from './types.js';

export const defaultImageName = 'docker.io/library/busybox:latest';

const epoch = new Date('2024-01-01T00:00:00Z');

const passwd = [
  'root:x:0:0:root:/root:/bin/sh',
  'daemon:x:1:1:daemon:/usr/sbin:/bin/false',
  'bin:x:2:2:bin:/bin:/bin/false',
  'sys:x:3:3:sys:/dev:/bin/false',
  'www-data:x:33:33:www-data:/var/www:/bin/false',
  'operator:x:37:37:Operator:/var:/bin/false',
  'nobody:x:65534:65534:nobody:/home:/bin/false',
].join('\n') + '\n';

const group = [
  'root:x:0:',
  'daemon:x:1:',
  'bin:x:2:',
  'sys:x:3:',
  'adm:x:4:',
  'tty:x:5:',
  'disk:x:6:',
  'wheel:x:10:root',
  'www-data:x:33:',
  'users:x:100:',
  'nogroup:x:65534:',
].join('\n') + '\n';

function rootfsTar(busybox: string): Readable {
  const pack = tarPack();
  const dirs: [string, number][] = [
    ['bin', 0o755], ['dev', 0o755], ['etc', 0o755], ['home', 0o755], ['proc', 0o755], ['root', 0o700],
    ['sbin', 0o755], ['sys', 0o755], ['tmp', 0o1777], ['usr', 0o755], ['usr/bin', 0o755], ['usr/sbin', 0o755],
    ['var', 0o755], ['var/spool', 0o755], ['var/spool/mail', 0o755], ['var/www', 0o755],
  ];
  const applets = busyboxApplets(busybox).filter((a) => a !== 'bin/busybox');
  const size = statSync(busybox).size;
  (async () => {
    for (const [name, mode] of dirs) pack.entry({ name: name + '/', type: 'directory', mode, mtime: epoch });
    for (const [name, body] of [['etc/passwd', passwd], ['etc/group', group]]) {
      pack.entry({ name, mode: 0o644, mtime: epoch }, body);
    }
    await new Promise<void>((resolve, reject) => {
      const entry = pack.entry({ name: 'bin/busybox', mode: 0o755, size, mtime: epoch }, (err) => (err ? reject(err) : resolve()));
      createReadStream(busybox).on('error', reject).pipe(entry);
    });
    // Hard links, as the official busybox image has them: one inode, many names.
    for (const a of applets) pack.entry({ name: a, type: 'link', linkname: 'bin/busybox', mode: 0o755, mtime: epoch });
    pack.finalize();
  })().catch((err: Error) => pack.destroy(err));
  // streamx streams (tar-stream's) speak Node's stream protocol, so pipeline() takes them.
  return pack as unknown as Readable;
}

/** Creates `busybox:latest` unless it exists; returns its ID. */
export async function ensureDefaultImage(content: ContentStore, images: ImageStore): Promise<{ id: string; created: boolean }> {
  const existing = images.lookup(defaultImageName);
  if (existing) return { id: existing.id, created: false };
  const busybox = findBusybox();
  const layer = await content.ingest(rootfsTar(busybox));
  const config: ImageConfig = {
    architecture: hostPlatform().architecture,
    os: 'linux',
    created: epoch.toISOString(),
    config: {
      Env: ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'],
      Cmd: ['sh'],
    },
    rootfs: { type: 'layers', diff_ids: [layer.digest] },
    history: [
      { created: epoch.toISOString(), created_by: `berth: busybox from the host (${busybox})`, comment: 'berth embedded default image' },
      { created: epoch.toISOString(), created_by: 'CMD ["sh"]', empty_layer: true },
    ],
  };
  const configDigest = await content.put(Buffer.from(JSON.stringify(config)));
  const id = await images.commitImage({
    config: configDigest,
    layers: [{ blob: layer.digest, mediaType: mediaTypes.ociLayer, diffId: layer.digest }],
    tags: [defaultImageName],
  });
  return { id, created: true };
}
