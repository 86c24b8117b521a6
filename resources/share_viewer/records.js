/* phr-desktop share viewer: reading the verified FHIR Bundle into records, and the AATD
 * overview (AAT level, genotype, FEV1, augmentation) from the value sets the app ships
 * (resources/valuesets/aatd.json, inlined beside this script as data).
 */
"use strict";
(function (PHR) {
  const LOINC = "http://loinc.org";
  const RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm";
  const ICD10 = ["http://hl7.org/fhir/sid/icd-10", "http://hl7.org/fhir/sid/icd-10-cm"];
  const SYSTEM_ALIASES = {
    "urn:oid:2.16.840.1.113883.6.1": LOINC,
    "urn:oid:2.16.840.1.113883.6.96": "http://snomed.info/sct",
    "urn:oid:2.16.840.1.113883.6.90": "http://hl7.org/fhir/sid/icd-10-cm",
    "urn:oid:2.16.840.1.113883.6.3": "http://hl7.org/fhir/sid/icd-10",
    "urn:oid:2.16.840.1.113883.6.88": RXNORM,
    "urn:oid:2.16.840.1.113883.12.292": "http://hl7.org/fhir/sid/cvx",
    "http://snomed.info/sct/": "http://snomed.info/sct",
    "http://www.nlm.nih.gov/research/umls/rxnorm/": RXNORM,
    "http://hl7.org/fhir/sid/icd-10-us": "http://hl7.org/fhir/sid/icd-10-cm",
  };
  const SYSTEM_NAMES = {
    "http://loinc.org": "LOINC",
    "http://snomed.info/sct": "SNOMED CT",
    "http://hl7.org/fhir/sid/icd-10": "ICD-10",
    "http://hl7.org/fhir/sid/icd-10-cm": "ICD-10-CM",
    "http://www.nlm.nih.gov/research/umls/rxnorm": "RxNorm",
    "http://hl7.org/fhir/sid/cvx": "CVX",
  };
  const FILE_NAME_EXTENSION = "urn:phr-desktop:fhir:attachment-file-name";
  const PATIENT_NOTE_CODE = "51855-5";
  // The ATS/ERS protective threshold, 11 µmol/L, in mg/dL (mg/dL = µmol/L × 5.2; units.py).
  const AAT_PROTECTIVE_MG_DL = 57.0;
  const AAT_TO_MG_DL = { "mg/dl": 1, "g/l": 100, "mg/l": 0.1, "umol/l": 5.2, um: 5.2, "micromol/l": 5.2 };
  const VOLUME_TO_L = { l: 1, ml: 0.001 };

  const KIND_LABELS = {
    lab_result: "Lab result",
    vital_sign: "Vital sign",
    imaging: "Imaging",
    clinical_note: "Clinical note",
    medication: "Medication",
    procedure: "Procedure",
    immunization: "Immunization",
    allergy: "Allergy",
    problem: "Problem",
    document: "Document",
    encounter: "Encounter",
  };

  function canonicalSystem(system) {
    if (typeof system !== "string" || !system) return null;
    return SYSTEM_ALIASES[system] || system;
  }

  function str(value) {
    return typeof value === "string" ? value : "";
  }

  // Signed content is the patient's, but their sources vary: read every field defensively.
  function list(value) {
    return Array.isArray(value) ? value : [];
  }

  function obj(value) {
    return value && typeof value === "object" && !Array.isArray(value) ? value : {};
  }

  function codingsOf(concept) {
    if (!concept || typeof concept !== "object") return [];
    const list = "coding" in concept ? concept.coding : [concept];
    if (!Array.isArray(list)) return [];
    return list
      .filter((c) => c && typeof c === "object")
      .map((c) => ({ system: canonicalSystem(c.system), code: str(c.code), display: str(c.display) }));
  }

  function displayOf(concept, fallback) {
    if (!concept || typeof concept !== "object") return fallback || "";
    if (str(concept.text).trim()) return concept.text.trim();
    const codings = codingsOf(concept);
    for (const c of codings) if (c.display.trim()) return c.display.trim();
    for (const c of codings) {
      if (c.code) return (SYSTEM_NAMES[c.system] || c.system || "code") + " " + c.code;
    }
    return fallback || "";
  }

  function normaliseText(text) {
    if (!text) return "";
    return text
      .toLowerCase()
      .replace(/\u03b1/g, "alpha")
      .replace(/[^a-z0-9]+/g, " ")
      .trim();
  }

  function hasPhrase(normalised, phrase) {
    return !!phrase && (" " + normalised + " ").indexOf(" " + phrase + " ") >= 0;
  }

  // --- kinds, titles, dates, values -------------------------------------------------------

  function kindOf(resource) {
    switch (resource.resourceType) {
      case "Observation": {
        const cats = list(resource.category).flatMap(codingsOf).map((c) => c.code);
        if (cats.indexOf("vital-signs") >= 0) return "vital_sign";
        if (cats.indexOf("imaging") >= 0) return "imaging";
        return "lab_result";
      }
      case "DiagnosticReport": {
        const cats = list(resource.category).flatMap(codingsOf).map((c) => c.code);
        if (cats.indexOf("RAD") >= 0 || cats.indexOf("imaging") >= 0) return "imaging";
        return "lab_result";
      }
      case "ImagingStudy":
        return "imaging";
      case "MedicationStatement":
      case "MedicationRequest":
      case "MedicationAdministration":
      case "MedicationDispense":
        return "medication";
      case "Procedure":
        return "procedure";
      case "Immunization":
        return "immunization";
      case "AllergyIntolerance":
        return "allergy";
      case "Condition":
        return "problem";
      case "Encounter":
        return "encounter";
      case "DocumentReference":
        return "document";
      case "Composition":
        return "clinical_note";
      default:
        return "document";
    }
  }

  function conceptOf(resource) {
    return (
      resource.code ||
      resource.medicationCodeableConcept ||
      resource.vaccineCode ||
      (Array.isArray(resource.type) ? resource.type[0] : resource.type) ||
      null
    );
  }

  function titleOf(resource) {
    const medication = obj(resource.medicationReference).display;
    return (
      displayOf(conceptOf(resource), "") ||
      str(medication) ||
      str(resource.description) ||
      str(resource.title) ||
      resource.resourceType
    );
  }

  const DATE_FIELDS = [
    "effectiveDateTime", "effectiveInstant", "effectivePeriod", "issued", "onsetDateTime",
    "onsetPeriod", "performedDateTime", "performedPeriod", "occurrenceDateTime", "authoredOn",
    "period", "recordedDate", "dateAsserted", "date", "created",
  ];

  function dateOf(resource) {
    for (const field of DATE_FIELDS) {
      const value = resource[field];
      if (typeof value === "string" && /^\d{4}/.test(value)) return value;
      if (typeof obj(value).start === "string" && /^\d{4}/.test(value.start)) return value.start;
    }
    return "";
  }

  function formatNumber(value) {
    if (typeof value !== "number" || !isFinite(value)) return "";
    return String(Math.round(value * 1000) / 1000);
  }

  function valueOf(resource) {
    const q = obj(resource.valueQuantity);
    if (typeof q.value === "number") {
      return { number: q.value, unit: str(q.unit) || str(q.code), text: (str(q.comparator) + formatNumber(q.value) + " " + (str(q.unit) || str(q.code))).trim() };
    }
    if (typeof resource.valueString === "string") return { number: null, unit: "", text: resource.valueString };
    if (resource.valueCodeableConcept) {
      return { number: null, unit: "", text: displayOf(resource.valueCodeableConcept, "") };
    }
    if (typeof resource.valueBoolean === "boolean") return { number: null, unit: "", text: resource.valueBoolean ? "Yes" : "No" };
    if (typeof resource.valueInteger === "number") return { number: resource.valueInteger, unit: "", text: String(resource.valueInteger) };
    if (resource.clinicalStatus) return { number: null, unit: "", text: displayOf(resource.clinicalStatus, "") };
    if (typeof resource.status === "string") return { number: null, unit: "", text: resource.status };
    return null;
  }

  function sourceOf(resource) {
    const meta = resource.meta || {};
    if (str(meta.source)) return meta.source;
    const performer = obj(list(resource.performer)[0]);
    return str(performer.display) || str(obj(performer.actor).display);
  }

  function isPatientNote(resource) {
    if (resource.resourceType !== "DocumentReference") return false;
    return codingsOf(resource.type).some((c) => c.code === PATIENT_NOTE_CODE);
  }

  function decodeBase64Text(data) {
    try {
      const binary = atob(data);
      const bytes = new Uint8Array(binary.length);
      for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
      return new TextDecoder("utf-8", { fatal: true }).decode(bytes);
    } catch (e) {
      return null;
    }
  }

  /** {patient, records (newest first), files, notes} from a verified collection Bundle. */
  function readBundle(bundle) {
    const entries = Array.isArray(bundle.entry) ? bundle.entry : [];
    const records = [];
    const byUrl = new Map(); // fullUrl -> record
    const binaries = [];
    const notes = [];
    let patient = null;
    for (const entry of entries) {
      const resource = entry && entry.resource;
      if (!resource || typeof resource !== "object" || typeof resource.resourceType !== "string") continue;
      if (resource.resourceType === "Binary") {
        binaries.push(resource);
        continue;
      }
      if (resource.resourceType === "Patient") {
        if (!patient) patient = resource;
        continue;
      }
      if (isPatientNote(resource)) {
        notes.push(resource);
        continue;
      }
      const date = dateOf(resource);
      const record = {
        index: records.length,
        kind: kindOf(resource),
        resourceType: resource.resourceType,
        title: titleOf(resource),
        date: date,
        value: valueOf(resource),
        source: sourceOf(resource),
        codes: codingsOf(conceptOf(resource)),
        resource: resource,
        files: [],
        notes: [],
      };
      records.push(record);
      if (str(entry.fullUrl)) byUrl.set(entry.fullUrl, record);
    }
    for (const note of notes) {
      const related = list(obj(note.context).related).map((r) => str(obj(r).reference));
      const target = related.map((u) => byUrl.get(u)).find(Boolean);
      const attachment = obj(obj(list(note.content)[0]).attachment);
      const text = "data" in attachment ? decodeBase64Text(str(attachment.data)) : null;
      if (target && text !== null) target.notes.push(text);
    }
    const files = binaries.map((b) => {
      const nameExt = list(b.extension).find((e) => obj(e).url === FILE_NAME_EXTENSION);
      const owner = obj(b.securityContext);
      const ownerUrl = str(owner.reference);
      const file = {
        name: (nameExt && str(nameExt.valueString)) || "attachment",
        contentType: str(b.contentType) || "application/octet-stream",
        data: str(b.data),
        ownerTitle: str(owner.display),
        owner: byUrl.get(ownerUrl) || null,
      };
      if (file.owner) file.owner.files.push(file);
      return file;
    });
    records.sort((a, b) => (a.date < b.date ? 1 : a.date > b.date ? -1 : a.index - b.index));
    return { patient: patient, records: records, files: files };
  }

  function patientName(patient) {
    if (!patient || !Array.isArray(patient.name) || !patient.name.length) return "";
    const n = obj(patient.name[0]);
    if (str(n.text)) return n.text;
    return [...list(n.given).map(str), str(n.family)].filter(Boolean).join(" ");
  }

  // --- the AATD overview ----------------------------------------------------------------

  function codeKey(system, code) {
    const canonical = canonicalSystem(system);
    if (!canonical || !code || !code.trim()) return null;
    if (ICD10.indexOf(canonical) >= 0) return "icd-10|" + code.trim().toUpperCase().replace(/\./g, "");
    return canonical + "|" + code.trim();
  }

  function makePack(data) {
    const sets = {};
    const series = {};
    for (const name of Object.keys(data.sets)) {
      const raw = data.sets[name];
      const exact = new Set();
      for (const entry of raw.codes || []) {
        const key = codeKey(entry.system, entry.code);
        if (!key) continue;
        exact.add(key);
        if (entry.series) series[key] = entry.series;
      }
      sets[name] = { exact: exact, keywords: (raw.keywords || []).map(normaliseText) };
    }
    const aug = data.augmentation;
    return {
      sets: sets,
      series: series,
      brands: aug.brands.map((b) => ({ name: b.name, patterns: b.patterns.map(normaliseText), rxnorm: b.rxnorm || [] })),
      generic: aug.generic_patterns.map(normaliseText),
      genericRxnorm: (aug.generic_rxnorm || []).map((e) => String(e.code)),
      genotypes: data.genotypes.recognised,
      alleleOrder: data.genotypes.allele_order,
      nulls: data.genotypes.null_synonyms.map((s) => s.toUpperCase()),
    };
  }

  function inSet(pack, name, codes) {
    const set = pack.sets[name];
    return !!set && codes.some((c) => set.exact.has(codeKey(c.system, c.code)));
  }

  function titleInSet(pack, name, title) {
    const set = pack.sets[name];
    const words = normaliseText(title);
    return !!set && set.keywords.some((k) => hasPhrase(words, k));
  }

  function escapeRegex(s) {
    return s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
  }

  /** "Pi*ZZ", "Pi*MZ", "Pi*Z/Null"... from a result's text, or null (aatd.py's rules). */
  function genotypeOf(pack, valueText) {
    const parsed = parseGenotype(pack, valueText);
    return parsed ? parsed.genotype : null;
  }

  /** {genotype, explicit}: explicit when the text used the "Pi" prefix. */
  function parseGenotype(pack, valueText) {
    if (!valueText || !valueText.trim()) return null;
    const text = valueText.toUpperCase();
    const nulls = pack.nulls.slice().sort((a, b) => b.length - a.length).map(escapeRegex).join("|");
    const allele = "(?:" + (nulls ? nulls + "|" : "") + "M\\d?|S|Z|F|I)";
    const sep = "\\s*[/,\\-]?\\s*";
    const prefix = "PI\\s*[*\\-=:]?\\s*";
    const canonical = (a, b, explicit) => {
      const alleles = [a, b]
        .map((t) => (pack.nulls.indexOf(t.trim()) >= 0 ? "Null" : t.trim()[0]))
        .sort((x, y) => pack.alleleOrder.indexOf(x) - pack.alleleOrder.indexOf(y));
      const g = "Pi*" + (alleles.some((x) => x.length > 1) ? alleles.join("/") : alleles.join(""));
      return g in pack.genotypes ? { genotype: g, explicit: explicit } : null;
    };
    const trimmed = text.replace(/^[ .;:()[\]]+|[ .;:()[\]]+$/g, "");
    const whole = new RegExp("^(" + prefix + ")?(" + allele + ")" + sep + "(" + allele + ")$").exec(trimmed);
    if (whole) return canonical(whole[2], whole[3], !!whole[1]);
    const edgeL = "(?<![A-Z0-9*])";
    const edgeR = "(?![A-Z0-9])";
    for (const m of text.matchAll(new RegExp(edgeL + prefix + "(" + allele + ")" + sep + "(" + allele + ")" + edgeR, "g"))) {
      const found = canonical(m[1], m[2], true);
      if (found) return found;
    }
    if (/PHENOTYPE|GENOTYPE|ANTITRYPSIN|ALLELE|HETEROZYG|HOMOZYG/.test(text)) {
      for (const m of text.matchAll(new RegExp(edgeL + "(" + allele + ")" + sep + "(" + allele + ")" + edgeR, "g"))) {
        const found = canonical(m[1], m[2], false);
        if (found) return found;
      }
    }
    return null;
  }

  function unitKey(unit) {
    return str(unit).trim().replace(/[\u00b5\u03bc]/g, "u").toLowerCase();
  }

  function augmentationBrand(pack, record) {
    for (const c of record.codes) {
      if (c.system === RXNORM) {
        for (const b of pack.brands) if (b.rxnorm.indexOf(c.code.trim()) >= 0) return b.name;
      }
    }
    const haystack = [record.title, ...record.codes.map((c) => c.display)].map(normaliseText).join(" ");
    for (const b of pack.brands) if (b.patterns.some((p) => haystack.indexOf(p) >= 0)) return b.name;
    return null;
  }

  function isAugmentation(pack, record) {
    if (augmentationBrand(pack, record)) return true;
    if (record.kind !== "medication" && record.kind !== "procedure") return false;
    if (record.codes.some((c) => c.system === RXNORM && pack.genericRxnorm.indexOf(c.code.trim()) >= 0)) return true;
    const texts = [record.title, ...record.codes.map((c) => c.display)].map(normaliseText);
    return texts.some((t) => pack.generic.some((p) => hasPhrase(t, p)));
  }

  /** Least-squares slope of (day, value) points in value per year (milestones.py), or null
   * when fewer than two results or all on one day. */
  function slopePerYear(points) {
    const xy = [];
    for (const p of points) {
      const day = Date.parse(p.date.slice(0, 10) + "T00:00:00Z");
      if (p.date.length >= 10 && isFinite(day)) xy.push([day / 86400000 / 365.25, p.value]);
    }
    if (xy.length < 2) return null;
    const n = xy.length;
    const mx = xy.reduce((a, q) => a + q[0], 0) / n;
    const my = xy.reduce((a, q) => a + q[1], 0) / n;
    let sxx = 0;
    let sxy = 0;
    for (const [x, y] of xy) {
      sxx += (x - mx) * (x - mx);
      sxy += (x - mx) * (y - my);
    }
    return sxx ? sxy / sxx : null;
  }

  function doseOf(resource) {
    const dose = obj(obj(resource.dosage).dose);
    if (typeof dose.value !== "number") return "";
    return (formatNumber(dose.value) + " " + (str(dose.unit) || str(dose.code))).trim();
  }

  const FEV1_PREFERENCE = ["unspecified", "post_bronchodilator", "pre_bronchodilator"];

  /** What the app's AATD overview shows (record_views.py), from the records; each list is
   * oldest first. */
  function aatdOverview(pack, records) {
    const aat = [];
    const fev1BySeries = {};
    const genotypes = [];
    const infusions = [];
    for (const r of records) {
      const v = r.value;
      const lab = r.kind === "lab_result";
      if (lab && inSet(pack, "aat_level", r.codes) && v && v.number !== null && r.date) {
        const factor = AAT_TO_MG_DL[unitKey(v.unit)];
        if (factor !== undefined) aat.push({ date: r.date, value: v.number * factor, record: r });
      }
      if (lab && v && v.number !== null && r.date) {
        let series = null;
        for (const c of r.codes) series = series || pack.series[codeKey(c.system, c.code)] || null;
        const factor = VOLUME_TO_L[unitKey(v.unit)];
        if (series && factor !== undefined && v.number > 0) {
          (fev1BySeries[series] = fev1BySeries[series] || []).push({ date: r.date, value: v.number * factor, record: r });
        }
      }
      if (lab && v && v.number === null && v.text) {
        const g = genotypeOf(pack, v.text);
        if (g) genotypes.push({ genotype: g, date: r.date, record: r });
      }
      if (r.resourceType === "MedicationAdministration" && isAugmentation(pack, r)) {
        infusions.push({ date: r.date, title: r.title, brand: augmentationBrand(pack, r), dose: doseOf(r.resource), record: r });
      }
    }
    const byDate = (a, b) => (a.date < b.date ? -1 : a.date > b.date ? 1 : 0);
    aat.sort(byDate);
    genotypes.sort(byDate);
    infusions.sort(byDate);
    const candidates = FEV1_PREFERENCE.filter((s) => (fev1BySeries[s] || []).length >= 2);
    let fev1Series = null;
    for (const s of candidates) {
      if (!fev1Series || fev1BySeries[s].length > fev1BySeries[fev1Series].length) fev1Series = s;
    }
    if (!fev1Series) fev1Series = FEV1_PREFERENCE.find((s) => fev1BySeries[s]) || null;
    const fev1 = fev1Series ? fev1BySeries[fev1Series].sort(byDate) : [];
    const slope = candidates.length ? slopePerYear(fev1.map((p) => ({ date: p.date, value: p.value * 1000 }))) : null;
    const latestAat = aat.length ? aat[aat.length - 1] : null;
    const genotype = genotypes.length ? genotypes[genotypes.length - 1] : null;
    return {
      aat: aat,
      aatLatest: latestAat,
      aatBelowProtective: latestAat ? latestAat.value < AAT_PROTECTIVE_MG_DL : null,
      protectiveMgDl: AAT_PROTECTIVE_MG_DL,
      genotype: genotype ? genotype.genotype : null,
      genotypeDate: genotype ? genotype.date : null,
      genotypeSeverity: genotype ? pack.genotypes[genotype.genotype] : null,
      fev1: fev1,
      fev1Series: fev1Series,
      fev1SlopeMlPerYear: slope,
      infusions: infusions,
    };
  }

  PHR.records = {
    KIND_LABELS: KIND_LABELS,
    readBundle: readBundle,
    patientName: patientName,
    makePack: makePack,
    genotypeOf: genotypeOf,
    aatdOverview: aatdOverview,
    formatNumber: formatNumber,
  };
})((window.PHR = window.PHR || {}));
