// Docker credential helpers (docker-credential-<name>: pass, secretservice, osxkeychain, ecr-login,
// ...): one process per call, the action as its argument, the request on stdin, the answer on
// stdout. src/image/registry/credentials.ts decides what to ask; this runs the helper.
import { UnavailableError, errnoCode } from '../errors.js';
import { runTool } from './process.js';

export type HelperAction = 'get' | 'store' | 'erase';

/** What the helper printed; its "not found" answer (a failure) is the caller's to recognize. */
export async function runCredentialHelper(helper: string, action: HelperAction, input: string): Promise<{ ok: boolean; stdout: string; stderr: string }> {
  const program = `docker-credential-${helper}`;
  let result;
  try {
    // A helper written for Node sees the extra CA certificates berth's launcher set aside.
    const extraCas = process.env.BERTH_EXTRA_CA_CERTS;
    const env = extraCas ? { ...process.env, NODE_EXTRA_CA_CERTS: extraCas } : process.env;
    result = await runTool(program, [action], { input, timeoutMs: 60_000, env });
  } catch (err) {
    if (errnoCode(err) === 'ENOENT') {
      throw new UnavailableError('credential_helper_missing', `the credential helper ${program} is not installed (it is named by credsStore/credHelpers in the Docker config file)`, { cause: err });
    }
    throw err;
  }
  return { ok: result.code === 0, stdout: result.stdout.toString('utf8').trim(), stderr: result.stderr.toString('utf8').trim() };
}
