// Docker's prune prompt: a warning, then [y/N] read from stdin; anything but yes declines.
export async function confirm(warning: string): Promise<boolean> {
  process.stdout.write(`${warning}\nAre you sure you want to continue? [y/N] `);
  if (!process.stdin.isTTY && process.stdin.readableEnded) return false;
  const answer = await new Promise<string>((resolve) => {
    let buf = '';
    const onData = (d: Buffer) => {
      buf += d.toString();
      if (buf.includes('\n')) done();
    };
    const done = () => {
      process.stdin.off('data', onData);
      process.stdin.off('end', done);
      process.stdin.pause();
      resolve(buf.trim());
    };
    process.stdin.on('data', onData);
    process.stdin.on('end', done);
  });
  return /^y(es)?$/i.test(answer);
}
