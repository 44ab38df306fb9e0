// Mocha's spec output, plus the run's totals written to $TEST_STATS_FILE so scripts/test.js can
// add up several runs into the closing "N passed, N failed" line.
"use strict";
const fs = require("node:fs");
const Mocha = require("mocha");

class SpecWithStats extends Mocha.reporters.Spec {
  constructor(runner, options) {
    super(runner, options);
    runner.once(Mocha.Runner.constants.EVENT_RUN_END, () => {
      const file = process.env.TEST_STATS_FILE;
      if (file) {
        const { passes, failures, pending } = runner.stats;
        fs.writeFileSync(file, JSON.stringify({ passes, failures, pending }));
      }
    });
  }
}
module.exports = SpecWithStats;
