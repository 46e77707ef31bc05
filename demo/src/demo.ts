/**
 * The quick-start demo (`bash scripts/dev.sh demo`): everything runs locally on
 * embedded defaults — real SQLite, the real CLIs of this repository, an S3 server
 * in-process on 127.0.0.1. Every claim it prints is checked; a failure exits non-zero.
 */
import { tempDir } from "@sqlrep/testkit";
import { backupAndRestore } from "./backup-and-restore.js";
import { litefsCluster } from "./litefs-cluster.js";
import { ltxRoundTrip } from "./ltx-round-trip.js";

async function main(): Promise<void> {
  using dir = tempDir("sqlrep-demo-");
  console.log(`sqlrep demo (working in ${dir.path})`);
  await ltxRoundTrip(dir.path);
  await backupAndRestore(dir.path);
  await litefsCluster(dir.path);
  console.log("\nDone.");
}

main().catch((err: unknown) => {
  console.error(`\ndemo failed: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
