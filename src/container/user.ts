// Resolving `--user name|uid[:group|gid]` and `--group-add` against the container's own
// /etc/passwd and /etc/group, with the rules of runc's libcontainer/user (which Docker uses):
// a numeric user absent from passwd is still valid, a name must exist, and a user given by
// name gets the supplementary groups that list it as a member. As Docker's, the primary group
// is also the first supplementary group.
import { InvalidArgumentError } from '../errors.js';

export interface PasswdEntry {
  name: string;
  uid: number;
  gid: number;
  home: string;
}

export interface GroupEntry {
  name: string;
  gid: number;
  members: string[];
}

export interface ExecUser {
  uid: number;
  gid: number;
  additionalGids: number[];
  home: string;
}

export function parsePasswd(text: string): PasswdEntry[] {
  const out: PasswdEntry[] = [];
  for (const line of text.split('\n')) {
    if (!line.trim() || line.startsWith('#')) continue;
    const f = line.split(':');
    if (f.length < 4) continue;
    out.push({ name: f[0], uid: Number(f[2]), gid: Number(f[3]), home: f[5] ?? '' });
  }
  return out;
}

export function parseGroup(text: string): GroupEntry[] {
  const out: GroupEntry[] = [];
  for (const line of text.split('\n')) {
    if (!line.trim() || line.startsWith('#')) continue;
    const f = line.split(':');
    if (f.length < 3) continue;
    out.push({ name: f[0], gid: Number(f[2]), members: (f[3] ?? '').split(',').map((m) => m.trim()).filter(Boolean) });
  }
  return out;
}

const isNumeric = (s: string) => /^\d+$/.test(s);

/** Resolves a user spec; `passwd`/`group` are the files' contents, or null when the image lacks them. */
export function resolveUser(spec: string, groupAdd: readonly string[], passwd: string | null, group: string | null): ExecUser {
  const [userPart, groupPart] = spec.includes(':') ? [spec.slice(0, spec.indexOf(':')), spec.slice(spec.indexOf(':') + 1)] : [spec, ''];
  const users = passwd === null ? [] : parsePasswd(passwd);
  const groups = group === null ? [] : parseGroup(group);

  const user: ExecUser = { uid: 0, gid: 0, additionalGids: [], home: '/' };
  let matchedName: string | undefined;
  if (userPart === '') {
    const root = users.find((u) => u.uid === 0);
    if (root) {
      matchedName = root.name;
      user.home = root.home;
    }
  } else {
    const entry = users.find((u) => (isNumeric(userPart) ? u.uid === Number(userPart) : u.name === userPart));
    if (entry) {
      matchedName = entry.name;
      user.uid = entry.uid;
      user.gid = entry.gid;
      user.home = entry.home;
    } else if (isNumeric(userPart)) {
      user.uid = Number(userPart);
    } else {
      throw new InvalidArgumentError('user_not_found', `unable to find user ${userPart}: no matching entries in passwd file`);
    }
  }
  if (user.uid > 2 ** 31 - 1) throw new InvalidArgumentError('invalid_user', `uid ${user.uid} is out of range`);

  if (groupPart !== '') {
    const entry = groups.find((g) => (isNumeric(groupPart) ? g.gid === Number(groupPart) : g.name === groupPart));
    if (entry) user.gid = entry.gid;
    else if (isNumeric(groupPart)) user.gid = Number(groupPart);
    else throw new InvalidArgumentError('group_not_found', `unable to find group ${groupPart}: no matching entries in group file`);
  }
  user.additionalGids.push(user.gid);
  if (groupPart === '' && matchedName !== undefined) {
    for (const g of groups) if (g.members.includes(matchedName) && !user.additionalGids.includes(g.gid)) user.additionalGids.push(g.gid);
  }

  for (const add of groupAdd) {
    const entry = groups.find((g) => g.name === add || (isNumeric(add) && g.gid === Number(add)));
    let gid: number;
    if (entry) gid = entry.gid;
    else if (isNumeric(add)) gid = Number(add);
    else throw new InvalidArgumentError('group_not_found', `Unable to find group ${add}: no matching entries in group file`);
    if (!user.additionalGids.includes(gid)) user.additionalGids.push(gid);
  }
  return user;
}
