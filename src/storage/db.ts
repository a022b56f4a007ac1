// The state database: one SQLite file in WAL mode so several berth processes can read while
// one writes; a busy timeout so concurrent writers wait instead of failing. Schema changes
// are numbered migrations applied in order inside one transaction each.
import Database from 'better-sqlite3';
import { SystemError } from '../errors.js';
import { sqliteBinding } from '../sys/native.js';

export type Db = Database.Database;

/** Each entry moves the schema from version i to i+1. Never edit a released migration. */
const migrations: string[] = [
  // 1: images, tags and layers
  `
  CREATE TABLE layers (
    chain_id      TEXT PRIMARY KEY,          -- sha256:… of the layer stack up to this layer
    diff_id       TEXT NOT NULL,             -- sha256:… of the uncompressed tar
    parent        TEXT REFERENCES layers(chain_id),
    link          TEXT NOT NULL UNIQUE,      -- short name under layers/l/, keeps overlay options small
    size          INTEGER NOT NULL,          -- bytes unpacked
    state         TEXT NOT NULL,             -- 'creating' (owned by pid) or 'ready'
    creator_pid   INTEGER,
    created       INTEGER NOT NULL
  );
  CREATE TABLE images (
    id            TEXT PRIMARY KEY,          -- sha256:… of the config blob
    top_layer     TEXT REFERENCES layers(chain_id),
    manifest      TEXT,                      -- digest of the manifest blob, when known
    size          INTEGER NOT NULL,
    created       INTEGER NOT NULL,          -- from the image config, unix seconds
    loaded        INTEGER NOT NULL           -- when it came into this store
  );
  CREATE TABLE image_layers (
    image_id      TEXT NOT NULL REFERENCES images(id) ON DELETE CASCADE,
    idx           INTEGER NOT NULL,
    chain_id      TEXT NOT NULL REFERENCES layers(chain_id),
    blob          TEXT,                      -- compressed blob digest in the content store
    media_type    TEXT,
    PRIMARY KEY (image_id, idx)
  );
  CREATE INDEX image_layers_chain ON image_layers(chain_id);
  CREATE TABLE tags (
    name          TEXT PRIMARY KEY,          -- normalized reference, e.g. docker.io/library/busybox:latest
    image_id      TEXT NOT NULL REFERENCES images(id) ON DELETE CASCADE,
    created       INTEGER NOT NULL
  );
  CREATE INDEX tags_image ON tags(image_id);
  CREATE TABLE repo_digests (
    name          TEXT PRIMARY KEY,          -- e.g. docker.io/library/busybox@sha256:…
    image_id      TEXT NOT NULL REFERENCES images(id) ON DELETE CASCADE
  );
  CREATE INDEX repo_digests_image ON repo_digests(image_id);
  `,
  // 2: containers, their lifecycle events, named volumes
  `
  CREATE TABLE containers (
    id            TEXT PRIMARY KEY,          -- 64 hex
    name          TEXT NOT NULL UNIQUE,      -- without the leading '/'
    image_id      TEXT NOT NULL REFERENCES images(id),
    image_ref     TEXT NOT NULL,             -- as the user gave it
    config        TEXT NOT NULL,             -- Docker Config (JSON)
    host_config   TEXT NOT NULL,             -- Docker HostConfig (JSON)
    state         TEXT NOT NULL,             -- Docker State (JSON)
    book          TEXT NOT NULL,             -- what exists on the host for it: mounts, runtime, monitor pid (JSON)
    created       INTEGER NOT NULL,          -- unix ms
    boot_id       TEXT NOT NULL DEFAULT ''   -- kernel boot id when last started: a change means a reboot
  );
  CREATE INDEX containers_image ON containers(image_id);
  CREATE TABLE events (
    seq           INTEGER PRIMARY KEY AUTOINCREMENT,
    time_nano     INTEGER NOT NULL,
    type          TEXT NOT NULL,             -- container, image, volume, network
    action        TEXT NOT NULL,
    actor_id      TEXT NOT NULL,
    attributes    TEXT NOT NULL              -- JSON
  );
  CREATE INDEX events_time ON events(time_nano);
  CREATE TABLE volumes (
    name          TEXT PRIMARY KEY,
    driver        TEXT NOT NULL,
    labels        TEXT NOT NULL,             -- JSON
    options       TEXT NOT NULL,             -- JSON
    created       INTEGER NOT NULL,
    anonymous     INTEGER NOT NULL DEFAULT 0
  );
  `,
  // 3: a container's binds and volumes as resolved at create (Docker's MountPoints); NULL for
  // containers made before, whose binds are read from their HostConfig
  `
  ALTER TABLE containers ADD COLUMN mounts TEXT;
  `,
  // 4: networks and their endpoints. UNIQUE(network_id, ip) makes address allocation safe
  // across berth processes: the loser of a race fails its insert and picks again.
  `
  CREATE TABLE networks (
    id            TEXT PRIMARY KEY,          -- 64 hex
    name          TEXT NOT NULL UNIQUE,
    driver        TEXT NOT NULL,
    subnets       TEXT NOT NULL,             -- JSON [{Subnet, Gateway, IPRange?}], IPv4 first
    internal      INTEGER NOT NULL DEFAULT 0,
    ipv6          INTEGER NOT NULL DEFAULT 0,
    labels        TEXT NOT NULL,             -- JSON
    options       TEXT NOT NULL,             -- JSON
    created       INTEGER NOT NULL           -- unix ms
  );
  CREATE TABLE endpoints (
    id            TEXT PRIMARY KEY,          -- 64 hex (EndpointID)
    network_id    TEXT NOT NULL REFERENCES networks(id),
    container_id  TEXT NOT NULL,
    name          TEXT NOT NULL,             -- the container's name, resolvable by its peers
    hostname      TEXT NOT NULL,             -- what the container calls itself in its own hosts file
    ifname        TEXT NOT NULL,             -- eth0, eth1… inside the container
    ip            TEXT NOT NULL,
    ipv6          TEXT,
    mac           TEXT NOT NULL,
    aliases       TEXT NOT NULL,             -- JSON
    hosts_path    TEXT NOT NULL,             -- the container's /etc/hosts, rewritten as peers come and go
    ports         TEXT NOT NULL DEFAULT '[]', -- JSON: the published ports DNATed to this endpoint
    UNIQUE (network_id, ip),
    UNIQUE (network_id, container_id)
  );
  CREATE INDEX endpoints_container ON endpoints(container_id);
  CREATE TABLE attachments (                 -- a container's networks, whether it runs or not
    container_id  TEXT NOT NULL,
    network_id    TEXT NOT NULL REFERENCES networks(id),
    idx           INTEGER NOT NULL,          -- the order of joining: the first network has the default route
    aliases       TEXT NOT NULL,             -- JSON, --network-alias
    ipv4          TEXT,                      -- --ip
    ipv6          TEXT,                      -- --ip6
    PRIMARY KEY (container_id, network_id)
  );
  CREATE INDEX attachments_network ON attachments(network_id);
  `,
];

export const schemaVersion = migrations.length;

export function openDb(file: string): Db {
  let db: Db;
  try {
    db = new Database(file, { nativeBinding: sqliteBinding() });
  } catch (err) {
    throw new SystemError('db_open', `cannot open the state database ${file}: ${(err as Error).message}`, { cause: err });
  }
  db.pragma('busy_timeout = 10000');
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
  // The CLI exits without closing (src/cli/main.ts), so the next process to open the database
  // rebuilds the log's index by reading the whole log: a smaller log (200 pages, not 1000)
  // keeps that under a millisecond, and checkpointing comes every few commands instead.
  db.pragma('wal_autocheckpoint = 200');
  db.pragma('foreign_keys = ON');
  migrate(db);
  return db;
}

function migrate(db: Db): void {
  const current = db.pragma('user_version', { simple: true }) as number;
  if (current > migrations.length) {
    throw new SystemError(
      'db_too_new',
      `the state database is at schema version ${current}, newer than this berth understands (${migrations.length}); upgrade berth`,
    );
  }
  for (let v = current; v < migrations.length; v++) {
    // IMMEDIATE takes the write lock first, so two processes never both apply version v.
    const apply = db.transaction(() => {
      const now = db.pragma('user_version', { simple: true }) as number;
      if (now !== v) return;
      db.exec(migrations[v]);
      db.pragma(`user_version = ${v + 1}`);
    });
    apply.immediate();
  }
}
