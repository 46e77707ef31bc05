#!/usr/bin/env node
/** The `litestream` executable: `main` as the process's entry point (SIGINT/SIGTERM abort the command: replicate stops gracefully, restore removes its temp file). */
import { runProcessMain } from "@sqlrep/runtime";
import { main } from "./main.js";

// The AWS SDK warns on every run that its 2027 releases will need Node 22: noise on a
// CLI's stderr (the README says so). Set the variable to "false" to see it.
process.env["AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED"] ??= "true";

await runProcessMain(main);
