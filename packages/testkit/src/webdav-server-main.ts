/**
 * The child process behind `startWebdavServer`: npm `webdav-server` (v2) serving a
 * directory over HTTP on 127.0.0.1 with basic auth. Arguments: a JSON object
 * `{ port, root, username, password }`. Prints `webdav ready PORT` once it listens.
 */
import webdav from "webdav-server";

interface Args {
  port: number;
  root: string;
  username: string;
  password: string;
}

const args = JSON.parse(process.argv[2] ?? "{}") as Args;
const { v2 } = webdav;
const users = new v2.SimpleUserManager();
const user = users.addUser(args.username, args.password, false);
const privileges = new v2.SimplePathPrivilegeManager();
privileges.setRights(user, "/", ["all"]);
const server = new v2.WebDAVServer({
  hostname: "127.0.0.1",
  port: args.port,
  httpAuthentication: new v2.HTTPBasicAuthentication(users, "sqlrep-test"),
  privilegeManager: privileges,
  rootFileSystem: new v2.PhysicalFileSystem(args.root),
});
server.start(() => console.log(`webdav ready ${args.port}`));
for (const signal of ["SIGTERM", "SIGINT"] as const) process.once(signal, () => server.stop(() => process.exit(0)));
