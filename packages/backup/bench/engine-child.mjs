// The engine in its own process, for the benchmark: replicates one database to a
// directory until SIGTERM, then stops gracefully.
import { createFileReplicaClient } from "@sqlrep/replica";
import { BackupEngine } from "../dist/index.js";

const [path, replica] = process.argv.slice(2);
const engine = new BackupEngine({ databases: [{ path, replicas: [{ name: "file", client: createFileReplicaClient(replica) }] }] });
await engine.start();
process.stdout.write("ready\n");
process.on("SIGTERM", () => {
  engine.stop().then(
    () => process.exit(0),
    () => process.exit(1),
  );
});
