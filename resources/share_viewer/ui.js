/* phr-desktop share viewer: the page. Asks for the key, opens the share (crypto.js), then
 * shows the banner, the AATD overview, the timeline and the attached files. All text from
 * the share goes in through textContent, never as markup.
 */
"use strict";
(function (PHR) {
  const $ = (id) => document.getElementById(id);
  const SVG_NS = "http://www.w3.org/2000/svg";
  const MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August",
    "September", "October", "November", "December"];

  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (k === "text") node.textContent = v;
      else node.setAttribute(k, v);
    }
    for (const c of children) if (c !== null && c !== undefined) node.append(c);
    return node;
  }

  function svg(tag, attrs) {
    const node = document.createElementNS(SVG_NS, tag);
    for (const [k, v] of Object.entries(attrs || {})) node.setAttribute(k, String(v));
    return node;
  }

  function showDate(iso) {
    if (!iso) return "date unknown";
    return iso.length > 10 ? iso.slice(0, 10) + " " + iso.slice(11, 16) : iso;
  }

  function showTime(seconds) {
    return new Date(seconds * 1000).toISOString().slice(0, 16).replace("T", " ") + " UTC";
  }

  function say(message, kind) {
    const status = $("status");
    status.textContent = message;
    status.className = kind || "";
  }

  // --- charts ---------------------------------------------------------------------------

  /** An inline SVG line chart of {date, value} points with an optional dashed line. */
  function chart(allPoints, opts) {
    const points = allPoints.filter((p) => isFinite(Date.parse(p.date)) && isFinite(p.value));
    if (!points.length) return el("p", { text: "No dated values to draw." });
    const w = 640, h = 220, left = 56, right = 16, top = 16, bottom = 32;
    const xs = points.map((p) => Date.parse(p.date));
    let lo = Math.min(...points.map((p) => p.value), opts.line === undefined ? Infinity : opts.line);
    let hi = Math.max(...points.map((p) => p.value), opts.line === undefined ? -Infinity : opts.line);
    if (hi === lo) { hi += 1; lo = Math.max(0, lo - 1); }
    const pad = (hi - lo) * 0.1;
    lo = Math.max(0, lo - pad); hi += pad;
    const x0 = Math.min(...xs), x1 = Math.max(...xs) === x0 ? x0 + 1 : Math.max(...xs);
    const X = (t) => left + ((t - x0) / (x1 - x0)) * (w - left - right);
    const Y = (v) => top + (1 - (v - lo) / (hi - lo)) * (h - top - bottom);
    const root = svg("svg", { viewBox: "0 0 " + w + " " + h, role: "img", "aria-labelledby": opts.id + "-t " + opts.id + "-d", class: "chart" });
    const title = svg("title", { id: opts.id + "-t" });
    title.textContent = opts.title;
    const desc = svg("desc", { id: opts.id + "-d" });
    desc.textContent = opts.description;
    root.append(title, desc);
    for (const v of [lo, (lo + hi) / 2, hi]) {
      root.append(svg("line", { x1: left, x2: w - right, y1: Y(v), y2: Y(v), class: "grid" }));
      const label = svg("text", { x: left - 6, y: Y(v) + 4, "text-anchor": "end", class: "axis" });
      label.textContent = PHR.records.formatNumber(Math.round(v * 100) / 100);
      root.append(label);
    }
    const first = svg("text", { x: left, y: h - 10, class: "axis" });
    first.textContent = points[0].date.slice(0, 10);
    const last = svg("text", { x: w - right, y: h - 10, "text-anchor": "end", class: "axis" });
    last.textContent = points[points.length - 1].date.slice(0, 10);
    root.append(first, last);
    if (opts.line !== undefined) {
      root.append(svg("line", { x1: left, x2: w - right, y1: Y(opts.line), y2: Y(opts.line), class: "threshold" }));
      const t = svg("text", { x: w - right, y: Y(opts.line) - 4, "text-anchor": "end", class: "threshold-label" });
      t.textContent = opts.lineLabel;
      root.append(t);
    }
    const path = points.map((p, i) => (i ? "L" : "M") + X(xs[i]).toFixed(1) + " " + Y(p.value).toFixed(1)).join(" ");
    root.append(svg("path", { d: path, class: "series" }));
    points.forEach((p, i) => root.append(svg("circle", { cx: X(xs[i]).toFixed(1), cy: Y(p.value).toFixed(1), r: 3.5, class: "point" })));
    return root;
  }

  function valuesTable(caption, points, unit) {
    const body = el("tbody");
    for (const p of points) {
      body.append(el("tr", {}, el("td", { text: showDate(p.date) }), el("td", { text: PHR.records.formatNumber(Math.round(p.value * 100) / 100) + " " + unit })));
    }
    return el("details", { class: "values" }, el("summary", { text: caption }),
      el("table", {}, el("thead", {}, el("tr", {}, el("th", { scope: "col", text: "Date" }), el("th", { scope: "col", text: "Value" }))), body));
  }

  // --- the overview ---------------------------------------------------------------------

  function overviewSection(o) {
    const box = $("overview-body");
    box.replaceChildren();
    const fmt = PHR.records.formatNumber;
    // AAT level against the protective line.
    const aat = el("div", { class: "card", id: "aat" }, el("h3", { text: "AAT level" }));
    if (o.aatLatest) {
      const mg = Math.round(o.aatLatest.value * 10) / 10;
      const umol = Math.round((o.aatLatest.value / 5.2) * 10) / 10;
      aat.append(
        el("p", { class: "big", id: "aat-latest", text: fmt(mg) + " mg/dL (" + fmt(umol) + " µmol/L)" }),
        el("p", { id: "aat-protective", class: o.aatBelowProtective ? "warn" : "ok",
          text: (o.aatBelowProtective ? "Below" : "At or above") + " the protective level (" + fmt(o.protectiveMgDl) + " mg/dL, 11 µmol/L) on " + showDate(o.aatLatest.date) + "." }),
        chart(o.aat, { id: "aat-chart", title: "AAT level over time", description: o.aat.length + " results in mg/dL; dashed line: the protective level, " + o.protectiveMgDl + " mg/dL.", line: o.protectiveMgDl, lineLabel: "protective " + o.protectiveMgDl + " mg/dL" }),
        valuesTable("AAT values (" + o.aat.length + ")", o.aat, "mg/dL")
      );
    } else aat.append(el("p", { text: "No AAT level in this share." }));
    const geno = el("div", { class: "card", id: "genotype" }, el("h3", { text: "Genotype" }));
    if (o.genotype) {
      geno.append(el("p", { class: "big", id: "genotype-value", text: o.genotype }),
        el("p", { text: "Usual grouping: " + o.genotypeSeverity + " deficiency. Recorded " + showDate(o.genotypeDate) + "." }));
    } else geno.append(el("p", { text: "No genotype or phenotype result in this share." }));
    const fev = el("div", { class: "card wide", id: "fev1" }, el("h3", { text: "FEV1 trend" }));
    if (o.fev1SlopeMlPerYear !== null) {
      const s = o.fev1SlopeMlPerYear;
      fev.append(el("p", { class: "big", id: "fev1-slope", text: Math.abs(s).toFixed(0) + " mL/yr" }),
        el("p", { text: "FEV1 " + (s < 0 ? "lost" : "gained") + " per year (trend line over " + o.fev1.length + " results)." }));
    } else fev.append(el("p", { id: "fev1-slope", text: "No trend: it needs two dated FEV1 results." }));
    if (o.fev1.length) {
      const latest = o.fev1[o.fev1.length - 1];
      const series = o.fev1Series === "unspecified" ? "" : " (" + o.fev1Series.replace(/_/g, "-") + ")";
      fev.append(el("p", { id: "fev1-latest", text: "Latest " + fmt(Math.round(latest.value * 100) / 100) + " L on " + showDate(latest.date) + series + "." }),
        chart(o.fev1, { id: "fev1-chart", title: "FEV1 over time", description: o.fev1.length + " results in litres." }),
        valuesTable("FEV1 values (" + o.fev1.length + ")", o.fev1, "L"));
    }
    const aug = el("div", { class: "card wide", id: "augmentation" }, el("h3", { text: "Augmentation therapy" }));
    if (o.infusions.length) {
      const last = o.infusions[o.infusions.length - 1];
      aug.append(el("p", { class: "big", id: "infusion-count", text: o.infusions.length + " infusions" }),
        el("p", { id: "infusion-latest", text: "Latest " + showDate(last.date) + ": " + (last.brand || last.title.split(" (")[0]) + "." }));
      const body = el("tbody");
      for (const i of o.infusions.slice().reverse()) {
        body.append(el("tr", {}, el("td", { text: showDate(i.date) }), el("td", { text: i.title }), el("td", { text: i.dose })));
      }
      aug.append(el("details", { class: "values" }, el("summary", { text: "Infusion log (" + o.infusions.length + ")" }),
        el("table", {}, el("thead", {}, el("tr", {}, el("th", { scope: "col", text: "Date" }), el("th", { scope: "col", text: "Medicine" }), el("th", { scope: "col", text: "Dose" }))), body)));
    } else aug.append(el("p", { text: "No augmentation infusion in this share." }));
    box.append(aat, geno, fev, aug);
  }

  // --- the timeline ---------------------------------------------------------------------

  let shown = { records: [], files: [] };

  function recordDetail(r) {
    const rows = el("dl");
    const add = (k, v) => { if (v) rows.append(el("dt", { text: k }), el("dd", { text: v })); };
    add("Kind", PHR.records.KIND_LABELS[r.kind] || r.kind);
    add("Date", showDate(r.date));
    add("Value", r.value && r.value.text);
    add("Source", r.source || "not stated in the record");
    add("Codes", r.codes.filter((c) => c.code).map((c) => (c.display ? c.display + " — " : "") + c.code).join("; "));
    const box = el("div", { class: "detail" }, rows);
    for (const note of r.notes) box.append(el("p", { class: "note", text: "Patient's note: " + note }));
    if (r.files.length) {
      const list = el("ul", { class: "files" });
      for (const f of r.files) list.append(el("li", {}, saveButton(f)));
      box.append(el("h5", { text: "Attached files" }), list);
    }
    box.append(el("details", { class: "raw" }, el("summary", { text: "Source record (FHIR " + r.resourceType + ", as received)" }),
      el("pre", { text: JSON.stringify(r.resource, null, 2) })));
    return box;
  }

  const recordOf = new WeakMap(); // <details> -> record, for the one toggle listener

  function recordItem(r) {
    const value = r.value && r.value.text ? " — " + r.value.text : "";
    const summary = el("summary", {},
      el("span", { class: "kind", text: PHR.records.KIND_LABELS[r.kind] || r.kind }),
      el("span", { class: "title", text: r.title + value }),
      el("span", { class: "date", text: showDate(r.date) }));
    const item = el("details", { class: "record", "data-kind": r.kind }, summary);
    recordOf.set(item, r);
    return el("li", {}, item);
  }

  function recordToggled(event) {
    const item = event.target;
    const r = recordOf.get(item);
    if (r && item.open && item.childNodes.length === 1) item.append(recordDetail(r));
  }

  // The first rows are drawn at once and the rest in slices after the first paint, so that
  // thousands of records show in well under two seconds and the page stays responsive.
  const FIRST_SLICE = 250;
  const SLICE = 750;
  let drawing = 0;

  function drawTimeline() {
    const kind = $("filter-kind").value;
    const year = $("filter-year").value;
    const words = $("filter-text").value.trim().toLowerCase();
    const list = shown.records.filter((r) =>
      (!kind || r.kind === kind) && (!year || r.date.slice(0, 4) === year) &&
      (!words || (r.title + " " + (r.value ? r.value.text : "")).toLowerCase().indexOf(words) >= 0));
    const root = $("timeline-body");
    const generation = ++drawing;
    let at = 0, yearList = null, monthList = null, lastYear = null, lastMonth = null;
    delete document.body.dataset.timelineDrawn;
    const slice = (count) => {
      const fragment = document.createDocumentFragment();
      const end = Math.min(list.length, at + count);
      for (; at < end; at++) {
        const r = list[at];
        const y = r.date.slice(0, 4) || "Undated";
        const m = r.date.length >= 7 ? r.date.slice(0, 7) : y;
        if (y !== lastYear) {
          yearList = el("ol", { class: "months" });
          fragment.append(el("section", { class: "year", "aria-label": y }, el("h3", { text: y }), yearList));
          lastYear = y; lastMonth = null;
        }
        if (m !== lastMonth) {
          monthList = el("ol", { class: "records" });
          const name = m.length === 7 ? MONTHS[Number(m.slice(5, 7)) - 1] + " " + y : y;
          const month = el("li", { class: "month" }, el("h4", { text: name }), monthList);
          yearList.append(month);
          lastMonth = m;
        }
        monthList.append(recordItem(r));
      }
      root.append(fragment);
      if (at < list.length) {
        setTimeout(() => { if (generation === drawing) slice(SLICE); }, 0);
      } else {
        document.body.dataset.timelineDrawn = "1";
      }
    };
    root.replaceChildren();
    slice(FIRST_SLICE);
    $("timeline-count").textContent = list.length === shown.records.length
      ? list.length + " records" : list.length + " of " + shown.records.length + " records";
  }

  function fillFilters(records) {
    const kinds = $("filter-kind"), years = $("filter-year");
    kinds.replaceChildren(el("option", { value: "", text: "All kinds" }));
    years.replaceChildren(el("option", { value: "", text: "All years" }));
    const seenKinds = [...new Set(records.map((r) => r.kind))].sort();
    for (const k of seenKinds) kinds.append(el("option", { value: k, text: PHR.records.KIND_LABELS[k] || k }));
    const seenYears = [...new Set(records.map((r) => r.date.slice(0, 4)).filter(Boolean))].sort().reverse();
    for (const y of seenYears) years.append(el("option", { value: y, text: y }));
  }

  // --- files ----------------------------------------------------------------------------

  function saveButton(file) {
    const button = el("button", { type: "button", class: "save", text: "Save " + file.name });
    button.addEventListener("click", () => {
      const binary = atob(file.data);
      const bytes = new Uint8Array(binary.length);
      for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
      const url = URL.createObjectURL(new Blob([bytes], { type: file.contentType }));
      const link = el("a", { href: url, download: file.name });
      document.body.append(link);
      link.click();
      link.remove();
      setTimeout(() => URL.revokeObjectURL(url), 10000);
    });
    return button;
  }

  // The patient chose "view only": the files are listed, not offered for saving. As the app
  // says it: a request, not a lock.
  const VIEW_ONLY = "View only: the patient asked that attached files not be saved, so this " +
    "page offers no save. This is a request, not a lock: a determined recipient can still " +
    "copy what they see.";

  function filesSection(files, allowSave) {
    const list = $("files-body");
    list.replaceChildren();
    if (!files.length) {
      list.append(el("li", { text: "No attached files in this share." }));
      return;
    }
    if (!allowSave) list.append(el("li", { id: "files-view-only", text: VIEW_ONLY }));
    for (const f of files) {
      const name = allowSave ? saveButton(f) : el("span", { class: "file-name", text: f.name });
      list.append(el("li", {}, name, el("span", { text: " " + f.contentType + (f.ownerTitle ? ", with " + f.ownerTitle : "") })));
    }
  }

  // --- opening --------------------------------------------------------------------------

  function banner(opened, data) {
    const c = opened.claims;
    const name = c.patient_name || PHR.records.patientName(data.patient) || "Unnamed patient";
    $("banner-patient").textContent = name;
    const facts = $("banner-facts");
    facts.replaceChildren();
    const add = (k, v, id) => facts.append(el("dt", { text: k }), el("dd", { text: v, id: id }));
    add("For", c.recipient || "not named", "banner-recipient");
    add("Signed by", opened.fingerprint.match(/.{1,4}/g).join(" "), "banner-fingerprint");
    add("Signer check", opened.signerBound
      ? "The key names this signer: the signature is the patient's."
      : "This key is of the old kind and does not name the signer: compare the fingerprint with the patient's hand-out.", "banner-signer");
    add("Made", showTime(c.iat), "banner-made");
    add("Valid until", showTime(c.exp), "banner-expires");
    add("Contents", c.record_count + " records" + (data.files.length ? ", " + data.files.length + " attached files" : ""), "banner-counts");
    document.title = name + " — shared records";
  }

  // As in the app's share window: an expired share stays on screen with a warning, and the
  // page refuses to open it again.
  function warnAtExpiry(exp) {
    const wait = exp * 1000 - Date.now();
    if (wait > 0 && wait < 2147483647) {
      setTimeout(() => {
        const warning = $("banner-expired");
        warning.textContent = "This share expired on " + showTime(exp) + ". What is shown stays " +
          "until you close this tab; opening the file again will be refused.";
        warning.hidden = false;
      }, wait);
    }
  }

  /** Live help while the key is typed: how many groups, and which one has a typo. */
  function keyTyped() {
    const hint = $("key-check");
    const cleaned = $("key").value.replace(/[\s-]+/g, "").toUpperCase();
    if (!cleaned || cleaned.length === 43) {
      hint.textContent = "";
      return;
    }
    const whole = Math.min(10, Math.floor(cleaned.length / 5));
    const problem = PHR.crypto.groupProblem(cleaned.slice(0, whole * 5));
    hint.textContent = problem || (whole ? whole + " of 10 groups typed, no typo so far." : "");
    hint.className = problem ? "help warn" : "help";
  }

  async function open(event) {
    event.preventDefault();
    const button = $("open-button");
    button.disabled = true;
    say("Decrypting and checking the signature…", "busy");
    const started = performance.now();
    try {
      const jwe = $("phr-share").textContent.trim();
      const opened = await PHR.crypto.openShare(jwe, $("key").value, undefined, $("passcode").value);
      const data = PHR.records.readBundle(opened.bundle);
      const pack = PHR.records.makePack(JSON.parse($("phr-pack").textContent));
      $("key").value = "";
      $("passcode").value = "";
      banner(opened, data);
      overviewSection(PHR.records.aatdOverview(pack, data.records));
      shown = data;
      fillFilters(data.records);
      drawTimeline();
      filesSection(data.files, opened.claims.allow_save !== false);
      $("unlock").hidden = true;
      $("content").hidden = false;
      warnAtExpiry(opened.claims.exp);
      say("Opened: signature checked, " + data.records.length + " records.", "ok");
      $("banner-patient").focus();
      requestAnimationFrame(() => { document.body.dataset.openedMs = String(Math.round(performance.now() - started)); });
    } catch (e) {
      const message = e instanceof PHR.ShareError ? e.message : "This file could not be opened: " + e.message;
      say(message, "error");
      document.body.dataset.refusal = e instanceof PHR.ShareError ? e.kind : "error";
      $("key").focus();
    } finally {
      button.disabled = false;
    }
  }

  function start() {
    // Ask for the passcode only where the file says it has one (its header, not decrypted);
    // a passcode only the app can check is said at once, before anyone types a key.
    try {
      const head = $("phr-share").textContent.trim().split(".")[0];
      const header = JSON.parse(new TextDecoder().decode(PHR.crypto.b64urlDecode(head)));
      if (header && typeof header === "object" && PHR.crypto.passcodeParams(header)) {
        $("passcode-row").hidden = false;
      }
    } catch (e) {
      if (e instanceof PHR.ShareError && e.kind === "passcode") {
        say(e.message, "error");
        document.body.dataset.refusal = "passcode";
      } /* anything else: opening says what is wrong with the file */
    }
    if (!window.crypto || !crypto.subtle || typeof DecompressionStream === "undefined") {
      say("This browser cannot open shares here: it offers no WebCrypto or decompression for " +
        "a file opened from disk. Use a current Chrome, Edge, Firefox or Safari, or the " +
        "phr-desktop app.", "error");
      document.body.dataset.refusal = "browser";
    }
    $("unlock-form").addEventListener("submit", open);
    $("key").addEventListener("input", keyTyped);
    for (const id of ["filter-kind", "filter-year"]) $(id).addEventListener("change", drawTimeline);
    let pending = 0;
    $("filter-text").addEventListener("input", () => { clearTimeout(pending); pending = setTimeout(drawTimeline, 150); });
    $("print-button").addEventListener("click", () => window.print());
    $("timeline-body").addEventListener("toggle", recordToggled, true);
    document.body.dataset.ready = "1";
  }

  PHR.ui = { start: start };
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})((window.PHR = window.PHR || {}));
