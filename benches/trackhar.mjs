// Runs TrackHAR (npm package `trackhar`, a library without a command) over one HAR file and prints
// one JSON line per tracking request it finds, so benches/run.sh can time it like a command.
//   node benches/trackhar.mjs FILE.har        (TRACKHAR_DIR: where `trackhar` is installed)
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

const root = process.env.TRACKHAR_DIR;
const { process: processHar } = await import(pathToFileURL(join(root, 'trackhar', 'dist', 'index.js')).href);
const har = JSON.parse(await readFile(process.argv[2], 'utf-8'));
const results = await processHar(har);
let found = 0;
for (const r of results) {
    if (r) {
        found += 1;
        process.stdout.write(JSON.stringify(r) + '\n');
    }
}
process.stderr.write(`trackhar: ${results.length} entries, ${found} with tracking data\n`);
