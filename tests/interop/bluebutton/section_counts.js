// Prints per-section entry counts from @amida-tech/blue-button for each C-CDA file given,
// as one JSON object keyed by path: the independent reference for test_ccda_against_bluebutton.
"use strict";
const fs = require("fs");
const bb = require("@amida-tech/blue-button");

const SECTIONS = ["problems", "medications", "allergies", "results", "vitals",
  "immunizations", "procedures", "encounters", "social_history", "plan_of_care"];

function count(data, section) {
  const items = data[section];
  if (!Array.isArray(items)) return 0;
  if (section === "results") {  // panels, each with its observations
    return items.reduce((n, panel) => n + (Array.isArray(panel.results) ? panel.results.length : 0), 0);
  }
  return items.length;
}

const out = {};
const started = process.hrtime.bigint();
for (const path of process.argv.slice(2)) {
  const doc = bb.parse(fs.readFileSync(path, "utf8"));
  const counts = {};
  for (const section of SECTIONS) counts[section] = count(doc.data || {}, section);
  out[path] = counts;
}
const seconds = Number(process.hrtime.bigint() - started) / 1e9;
process.stdout.write(JSON.stringify({ counts: out, parse_seconds: seconds }) + "\n");
