#!/usr/bin/env node
/** The `litefs` executable: `main` as the process's entry point (SIGINT/SIGTERM abort the command: mount unmounts and hands the lease off). */
import { runProcessMain } from "@sqlrep/runtime";
import { main } from "./main.js";

await runProcessMain(main);
