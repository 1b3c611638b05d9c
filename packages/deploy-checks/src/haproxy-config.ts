/** The shipped configuration with compose's service names replaced by loopback ports. */
export function localHaproxyConfig(cfg: string, listenPort: number, ports: Readonly<Record<string, number>>): string {
  const replace = (text: string, re: RegExp, by: (m: RegExpExecArray) => string, what: string): string => {
    let n = 0;
    const out = text.replace(re, (...args: unknown[]) => {
      n++;
      return by(args.slice(0, -2) as unknown as RegExpExecArray);
    });
    if (n === 0) throw new Error(`haproxy.cfg no longer has ${what}: update localHaproxyConfig`);
    return out;
  };
  let out = replace(cfg, /^(\s*)bind :8080$/m, (m) => `${m[1]}bind 127.0.0.1:${listenPort}`, "bind :8080");
  out = replace(out, /^(\s*server \S+ )(\w+):8080/gm, (m) => {
    const port = ports[m[2]!];
    if (!port) throw new Error(`haproxy.cfg names a server ${m[2]} that is not a compose service`);
    return `${m[1]}127.0.0.1:${port}`;
  }, "servers on :8080");
  out = replace(out, /^resolvers docker\n(?:[ \t]+.*\n)+/m, () => "", "the docker resolvers section");
  out = replace(out, / resolvers docker/g, () => "", "resolvers docker on default-server");
  out = replace(out, /^(\s*maxconn) \d+$/m, (m) => `${m[1]} 2000`, "a global maxconn"); // no need for 200k files in a test
  return out;
}
