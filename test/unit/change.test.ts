// `--change` parsing. Expected values are what Docker 20.10 produced for the same changes
// (`docker import --change … && docker image inspect`).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { applyChanges, parseGoDuration, processWord } from '../../src/image/change.js';
import { InvalidArgumentError } from '../../src/errors.js';

const apply = (...changes: string[]) => applyChanges({}, changes);

function rejects(changes: string[], message: string | RegExp): void {
  assert.throws(
    () => applyChanges({}, changes),
    (err: unknown) => {
      assert.ok(err instanceof InvalidArgumentError, `expected InvalidArgumentError, got ${String(err)}`);
      if (typeof message === 'string') assert.equal(err.message, message);
      else assert.match(err.message, message);
      return true;
    },
  );
}

describe('applyChanges', () => {
  it('CMD and ENTRYPOINT: exec form, shell form, and the ENTRYPOINT reset of CMD', () => {
    assert.deepEqual(apply('CMD ["a","b"]', 'ENTRYPOINT /ep x'), { Cmd: ['a', 'b'], Entrypoint: ['/bin/sh', '-c', '/ep x'] });
    assert.deepEqual(apply('ENTRYPOINT ["x"]', 'CMD c'), { Entrypoint: ['x'], Cmd: ['/bin/sh', '-c', 'c'] });
    assert.deepEqual(applyChanges({ Cmd: ['old'] }, ['ENTRYPOINT ["x"]']), { Cmd: null, Entrypoint: ['x'] });
    assert.deepEqual(apply('CMD'), { Cmd: ['/bin/sh', '-c'] });
    assert.deepEqual(apply('CMD []'), { Cmd: [] });
    assert.deepEqual(apply('ENTRYPOINT []'), { Entrypoint: null, Cmd: null });
    // Invalid JSON falls back to the shell form; only the first JSON value counts.
    assert.deepEqual(apply('CMD ['), { Cmd: ['/bin/sh', '-c', '['] });
    assert.deepEqual(apply('CMD ["a"] x'), { Cmd: ['a'] });
    assert.deepEqual(applyChanges({ Shell: ['/bin/bash', '-c'] }, ['CMD echo hi']), { Shell: ['/bin/bash', '-c'], Cmd: ['/bin/bash', '-c', 'echo hi'] });
  });

  it('ENV: both forms, quotes, escapes and expansion from the env before the instruction', () => {
    assert.deepEqual(apply('ENV a="hello world" b=x\\ y c=$a', 'ENV d $a and more  ', 'ENV PATH=/x:$PATH').Env, [
      'a=hello world',
      'b=x y',
      'c=',
      'd=hello world and more',
      'PATH=/x:',
    ]);
    assert.deepEqual(apply('ENV a=1', 'ENV a=2 b=$a').Env, ['a=2', 'b=1']);
    assert.deepEqual(apply('ENV a=${b:-def} c=${a:+alt}').Env, ['a=def', 'c=']);
    assert.deepEqual(apply("ENV a='x y$b'").Env, ['a=x y$b']);
    assert.deepEqual(apply('ENV a=b\\').Env, ['a=b']);
    assert.deepEqual(applyChanges({ Env: ['PATH=/bin'] }, ['ENV PATH=/usr/bin:$PATH']).Env, ['PATH=/usr/bin:/bin']);
  });

  it('LABEL, EXPOSE, VOLUME, WORKDIR, USER', () => {
    assert.deepEqual(apply('LABEL "com.x"="v 1" b=2', 'LABEL c d e').Labels, { 'com.x': 'v 1', b: '2', c: 'd e' });
    assert.deepEqual(apply('LABEL a="x\\"y" b=c\\ d').Labels, { a: 'x"y', b: 'c d' });
    assert.deepEqual(Object.keys(apply('EXPOSE 80 53/udp 8000-8002/tcp 9/sctp 80/TCP').ExposedPorts!).sort(), [
      '53/udp', '80/tcp', '8000/tcp', '8001/tcp', '8002/tcp', '9/sctp',
    ]);
    assert.deepEqual(apply('ENV P="80 443"', 'EXPOSE $P').ExposedPorts, { '80/tcp': {}, '443/tcp': {} });
    assert.deepEqual(apply('EXPOSE 1.2.3.4:80:81/udp').ExposedPorts, { '81/udp': {} });
    assert.deepEqual(apply('VOLUME ["/a","/b"]', 'VOLUME /c /d').Volumes, { '/a': {}, '/b': {}, '/c': {}, '/d': {} });
    assert.deepEqual(apply('ENV X=/v', 'VOLUME ["$X"]').Volumes, { '/v': {} });
    assert.equal(apply('WORKDIR /a', 'WORKDIR b/../c').WorkingDir, '/a/c');
    assert.equal(apply('WORKDIR /x/../y/').WorkingDir, '/x/../y/');
    assert.equal(apply('WORKDIR a').WorkingDir, '/a');
    assert.equal(apply('WORKDIR $HOME/x', 'ENV HOME=/root').WorkingDir, '/x');
    assert.equal(apply('USER   bob:grp  ').User, 'bob:grp');
    assert.equal(apply('USER a b').User, 'a b');
    assert.equal(apply('ENV X=u', 'USER $X').User, 'u');
  });

  it('STOPSIGNAL, ONBUILD, HEALTHCHECK', () => {
    assert.equal(apply('STOPSIGNAL SIGKILL').StopSignal, 'SIGKILL');
    assert.equal(apply('STOPSIGNAL 9').StopSignal, '9');
    assert.equal(apply('STOPSIGNAL rtmin+3').StopSignal, 'rtmin+3');
    assert.deepEqual(apply('ONBUILD run echo hi', 'onbuild   ENV a=1').OnBuild, ['run echo hi', 'ENV a=1']);
    assert.deepEqual(apply('HEALTHCHECK --interval=5s --retries=3 CMD ["true"]').Healthcheck, { Test: ['CMD', 'true'], Interval: 5e9, Retries: 3 });
    assert.deepEqual(apply('HEALTHCHECK CMD true').Healthcheck, { Test: ['CMD-SHELL', 'true'] });
    assert.deepEqual(apply('HEALTHCHECK NONE').Healthcheck, { Test: ['NONE'] });
    assert.deepEqual(apply('HEALTHCHECK --timeout=1m30s --start-period=100ms CMD ["a"]').Healthcheck, { Test: ['CMD', 'a'], Timeout: 90e9, StartPeriod: 1e8 });
  });

  it('parses the changes as one Dockerfile: continuations, comments, blank lines', () => {
    assert.deepEqual(apply('CMD echo \\', '  hi'), { Cmd: ['/bin/sh', '-c', 'echo   hi'] });
    assert.deepEqual(apply('# comment', '  ', 'CMD x'), { Cmd: ['/bin/sh', '-c', 'x'] });
    assert.deepEqual(apply('ENV a=1\nENV b=2').Env, ['a=1', 'b=2']);
  });

  it('does not modify the config it is given', () => {
    const base = { Env: ['A=1'], Labels: { a: 'b' } };
    applyChanges(base, ['ENV A=2', 'LABEL a=c']);
    assert.deepEqual(base, { Env: ['A=1'], Labels: { a: 'b' } });
  });

  it("rejects what Docker rejects, with Docker's messages", () => {
    rejects(['FOO bar'], 'foo is not a valid change command');
    rejects(['RUN echo'], 'run is not a valid change command');
    rejects(['SHELL ["/bin/bash"]'], 'shell is not a valid change command');
    rejects(['CMD x', 'MAINTAINER x'], 'maintainer is not a valid change command');
    rejects(['ENV'], 'ENV requires at least one argument');
    rejects(['ENV a'], 'ENV must have two arguments');
    rejects(['ENV a=1 b'], 'Syntax error - can\'t find = in "b". Must be of the form: name=value');
    rejects(['ENV =1'], 'ENV names can not be blank');
    rejects(['ENV --foo=1 a=b'], 'Unknown flag: foo');
    rejects(['LABEL'], 'LABEL requires at least one argument');
    rejects(['LABEL a'], 'LABEL must have two arguments');
    rejects(['EXPOSE'], 'EXPOSE requires at least one argument');
    rejects(['EXPOSE abc'], 'Invalid containerPort: abc');
    rejects(['EXPOSE 80-70'], 'Invalid containerPort: 80-70');
    rejects(['EXPOSE 70000'], 'Invalid containerPort: 70000');
    rejects(['EXPOSE 80/foo'], 'Invalid proto: foo');
    rejects(['USER'], 'USER requires exactly one argument');
    rejects(['WORKDIR'], 'WORKDIR requires exactly one argument');
    rejects(['VOLUME'], 'VOLUME requires at least one argument');
    rejects(['VOLUME ["/a", ""]'], 'VOLUME specified can not be an empty string');
    rejects(['VOLUME /a "/b c"'], 'failed to process "\\"/b": unexpected end of statement while looking for matching double-quote');
    rejects(['CMD ["a", 1]'], 'when using JSON array syntax, arrays must be comprised of strings only');
    rejects(['ONBUILD'], 'ONBUILD requires at least one argument');
    rejects(['ONBUILD ONBUILD x'], 'Chaining ONBUILD via `ONBUILD ONBUILD` isn\'t allowed');
    rejects(['ONBUILD FROM x'], "FROM isn't allowed as an ONBUILD trigger");
    rejects(['ENV a=${b'], 'failed to process "${b": missing \':\' in substitution');
    rejects(['ENV a=${b:x}'], 'failed to process "${b:x}": unsupported modifier (x) in substitution');
    rejects(['ENV a=${c:?oops}'], 'failed to process "${c:?oops}": c: oops');
    rejects(['STOPSIGNAL FOO'], 'Invalid signal: FOO');
    rejects(['STOPSIGNAL 0'], 'Invalid signal: 0');
    rejects(['HEALTHCHECK --interval 5s CMD true'], 'Missing a value on flag: interval');
    rejects(['HEALTHCHECK --interval=5 CMD true'], 'time: missing unit in duration "5"');
    rejects(['HEALTHCHECK --interval=0s CMD true'], 'Interval "interval" cannot be less than 1ms');
    rejects(['HEALTHCHECK --retries=0 CMD true'], '--retries must be at least 1 (not 0)');
    rejects(['HEALTHCHECK --foo=5 CMD true'], 'Unknown flag: foo');
    rejects(['HEALTHCHECK CMD'], 'Missing command after HEALTHCHECK CMD');
    rejects(['HEALTHCHECK true'], 'Unknown type "TRUE" in HEALTHCHECK (try CMD)');
    rejects(['HEALTHCHECK NONE x'], 'HEALTHCHECK NONE takes no arguments');
  });
});

describe('processWord', () => {
  it('removes quotes and expands like Docker', () => {
    const env = ['A=1', 'EMPTY='];
    assert.equal(processWord('"$A" \'$A\' \\$A', env), '1 $A $A');
    assert.equal(processWord('${A}x${B:-d}${EMPTY:-e}${A:+p}', env), '1xdep');
    assert.equal(processWord('a$', env), 'a$');
    assert.equal(processWord('"a\\b"', env), 'a\\b');
  });
});

describe('parseGoDuration', () => {
  it("reads Go's duration syntax in nanoseconds", () => {
    assert.equal(parseGoDuration('1h2m3.5s'), 3723.5e9);
    assert.equal(parseGoDuration('250ms'), 250e6);
    assert.equal(parseGoDuration('2us'), 2000);
    assert.equal(parseGoDuration('-1s'), -1e9);
    assert.equal(parseGoDuration('0'), 0);
    assert.throws(() => parseGoDuration('5'), /missing unit/);
    assert.throws(() => parseGoDuration('5x'), /unknown unit "x"/);
  });
});
