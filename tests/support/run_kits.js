// Runs prepared kits with Newman in one Node process, a few at a time, as the kits' launchers ran
// Newman (newman.run with the json reporter): starting Newman once spares seconds a kit.
// Usage: node run_kits.js JOBS.json CONCURRENCY, where JOBS.json lists
// [{"collection": path, "environment": path, "report": path, "timeoutRequest": ms}].
'use strict';
const fs = require('fs');
const newman = require('newman');

function runOne(job) {
    return new Promise((resolve) => {
        newman.run({
            collection: JSON.parse(fs.readFileSync(job.collection, 'utf8')),
            environment: JSON.parse(fs.readFileSync(job.environment, 'utf8')),
            insecure: true,
            timeoutRequest: job.timeoutRequest,
            reporters: ['json'],
            reporter: { json: { export: job.report } },
        }, (error) => {
            if (error) {
                process.stderr.write(`${job.collection}: ${error.message}\n`);
            }
            resolve();
        });
    });
}

async function main() {
    const jobs = JSON.parse(fs.readFileSync(process.argv[2], 'utf8'));
    const concurrency = Number(process.argv[3] || 1);
    let next = 0;
    async function worker() {
        while (next < jobs.length) {
            await runOne(jobs[next++]);
        }
    }
    await Promise.all(Array.from({ length: concurrency }, worker));
}

main();
