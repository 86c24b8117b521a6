/* phr-desktop share viewer: the key, decryption and signature checks.
 *
 * The same checks as phr_desktop/sharing/open.py, in the same order, so that nothing
 * unverified is ever shown: JWE header -> canonical encoding -> AES-256-GCM decrypt ->
 * capped inflate -> JWS header -> ES256 verify -> signer bound to the key -> JSON -> dates.
 * Everything uses WebCrypto; nothing is stored and nothing leaves the page.
 */
"use strict";
(function (PHR) {
  const MAX_FILE_BYTES = 50 * 1024 * 1024;
  const MAX_INFLATED_BYTES = 100 * 1024 * 1024;
  const NBF_LEEWAY_SECONDS = 300;
  const LATEST_NUMERIC_DATE = 253402300799;
  const SECRET_BYTES = 16;
  const SIGNER_PREFIX_BYTES = 9;
  const GROUPS = 10;
  const GROUP_DATA = 4;
  const ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";
  const CONTENT_KEY_INFO = "phr-desktop share key v2";
  const PASSCODE_INFO = "phr-desktop share passcode v1";
  const PBKDF2_BOUNDS = [100000, 5000000];
  const PASSCODE_SALT_BYTES = [8, 64];
  const LEGACY_LENGTH = 43;
  const JWE_KEYS = ["alg", "enc", "zip", "cty", "phr_passcode"];
  const JWS_KEYS = ["alg", "typ", "kid", "jwk"];

  /** A refusal: `kind` says which (key, wrong-key, rejected, expired, signer, passcode). */
  class ShareError extends Error {
    constructor(kind, message) {
      super(message);
      this.kind = kind;
    }
  }

  const DECODE = {};
  for (let i = 0; i < ALPHABET.length; i++) DECODE[ALPHABET[i]] = i;
  DECODE.O = 0;
  DECODE.I = 1;
  DECODE.L = 1;

  const encoder = new TextEncoder();
  const utf8 = new TextDecoder("utf-8", { fatal: true });

  // --- base64url ------------------------------------------------------------------------

  const B64URL = /^[A-Za-z0-9_-]*$/;

  function b64urlDecode(text) {
    if (typeof text !== "string" || !B64URL.test(text) || text.length % 4 === 1) {
      throw new Error("not base64url");
    }
    const padded = text.replace(/-/g, "+").replace(/_/g, "/") + "===".slice((text.length + 3) % 4);
    const binary = atob(padded);
    const out = new Uint8Array(binary.length);
    for (let i = 0; i < binary.length; i++) out[i] = binary.charCodeAt(i);
    return out;
  }

  function b64url(bytes) {
    let binary = "";
    const chunk = 0x8000;
    for (let i = 0; i < bytes.length; i += chunk) {
      binary += String.fromCharCode.apply(null, bytes.subarray(i, i + chunk));
    }
    return btoa(binary).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }

  /** Base64url that decodes and re-encodes to itself: any changed character is caught. */
  function isCanonical(part) {
    try {
      return b64url(b64urlDecode(part)) === part;
    } catch (e) {
      return false;
    }
  }

  // --- the share key --------------------------------------------------------------------

  const WRONG_SHAPE =
    "That is not a share key: it should be 10 groups of 5 letters and digits, like the one on " +
    "the patient's hand-out (capitals or not, spaces and dashes do not matter).";

  function checkSymbol(values, groupIndex) {
    const weights = [1, 3, 5, 7];
    let sum = 7 * groupIndex + 11;
    for (let i = 0; i < GROUP_DATA; i++) sum += weights[i] * values[i];
    return sum % 32;
  }

  /** {secret, signerPrefix} from typed or pasted text; signerPrefix is null for an old key. */
  function parseShareKey(text) {
    if (typeof text !== "string") throw new ShareError("key", WRONG_SHAPE);
    const compact = text.replace(/\s+/g, "");
    if (compact.length === LEGACY_LENGTH) {
      try {
        const raw = b64urlDecode(compact);
        if (raw.length === 32) return { secret: raw, signerPrefix: null };
      } catch (e) {
        /* not an old key: read it as a new one below */
      }
    }
    const cleaned = compact.replace(/-/g, "").toUpperCase();
    const wanted = GROUPS * (GROUP_DATA + 1);
    if (cleaned.length !== wanted) {
      throw new ShareError(
        "key",
        WRONG_SHAPE + " This one has " + cleaned.length + " letters and digits, not 50."
      );
    }
    const problem = groupProblem(cleaned);
    if (problem) throw new ShareError("key", problem);
    const symbols = [];
    for (let g = 0; g < GROUPS; g++) {
      for (let i = 0; i < GROUP_DATA; i++) symbols.push(DECODE[cleaned[g * 5 + i]]);
    }
    // 40 symbols of 5 bits = 200 bits = 25 bytes, most significant first.
    const raw = new Uint8Array(SECRET_BYTES + SIGNER_PREFIX_BYTES);
    let acc = 0;
    let bits = 0;
    let at = 0;
    for (const value of symbols) {
      acc = (acc << 5) | value;
      bits += 5;
      if (bits >= 8) {
        bits -= 8;
        raw[at++] = (acc >> bits) & 0xff;
        acc &= (1 << bits) - 1;
      }
    }
    return { secret: raw.slice(0, SECRET_BYTES), signerPrefix: raw.slice(SECRET_BYTES) };
  }

  /** The first group with a bad character or a typo among whole groups typed so far, as the
   * message parseShareKey would give; "" when none. */
  function groupProblem(cleaned) {
    for (let g = 0; g * 5 + 5 <= cleaned.length && g < GROUPS; g++) {
      const chunk = cleaned.slice(g * 5, g * 5 + 5);
      const values = Array.from(chunk, (ch) => (ch in DECODE ? DECODE[ch] : -1));
      const bad = values.indexOf(-1);
      if (bad >= 0) {
        return "Group " + (g + 1) + " of the key has a character that is never used ('" +
          chunk[bad] + "'). Check it against the patient's hand-out.";
      }
      if (checkSymbol(values, g) !== values[GROUP_DATA]) {
        return "Group " + (g + 1) + " of the key has a typo. Check it against the patient's hand-out.";
      }
    }
    return "";
  }

  /** The 32-byte JWE key: HKDF-SHA256(secret, info ‖ signer prefix), or an old key as is. */
  async function contentKeyBytes(shareKey) {
    if (shareKey.signerPrefix === null) return shareKey.secret;
    return hkdf(shareKey.secret, concat(encoder.encode(CONTENT_KEY_INFO), shareKey.signerPrefix));
  }

  /** 32 bytes of HKDF-SHA256 with no salt, as phr_desktop.vault.keys.hkdf. */
  async function hkdf(secret, info) {
    const base = await crypto.subtle.importKey("raw", secret, "HKDF", false, ["deriveBits"]);
    // No salt: RFC 5869 then uses HashLen zero bytes, which is what an empty HMAC key is.
    const bits = await crypto.subtle.deriveBits(
      { name: "HKDF", hash: "SHA-256", salt: new Uint8Array(0), info: info },
      base,
      256
    );
    return new Uint8Array(bits);
  }

  function concat(a, b) {
    const out = new Uint8Array(a.length + b.length);
    out.set(a, 0);
    out.set(b, a.length);
    return out;
  }

  // --- opening --------------------------------------------------------------------------

  function readHeader(segment, limit) {
    if (segment.length > limit) {
      throw new ShareError("rejected", "The file's header is too large; this is not a phr-desktop share.");
    }
    let header;
    try {
      header = JSON.parse(utf8.decode(b64urlDecode(segment)));
    } catch (e) {
      throw new ShareError("rejected", "The file's header is unreadable; this is not a share file.");
    }
    if (header === null || typeof header !== "object" || Array.isArray(header)) {
      throw new ShareError("rejected", "The file's header is unreadable; this is not a share file.");
    }
    return header;
  }

  const ARGON2_REFUSAL =
    "This share's passcode can only be checked by the phr-desktop app: it is stretched with " +
    "Argon2id, which browsers cannot compute. Open the .phrshare file in phr-desktop, or ask " +
    "the patient for a new share with its browser page.";

  /** The passcode parameters a file's header names: null, PBKDF2's, or a refusal. */
  function passcodeParams(header) {
    if (!("phr_passcode" in header)) return null;
    const p = header.phr_passcode;
    const bad = new ShareError("rejected", "The file's passcode parameters are not ones we accept.");
    if (!p || typeof p !== "object" || Array.isArray(p)) throw bad;
    const keys = Object.keys(p).sort().join(",");
    if (p.kdf === "argon2id" && keys === "kdf,m,p,salt,t") throw new ShareError("passcode", ARGON2_REFUSAL);
    if (p.kdf !== "pbkdf2-sha256" || keys !== "i,kdf,salt") throw bad;
    if (!Number.isSafeInteger(p.i) || p.i < PBKDF2_BOUNDS[0] || p.i > PBKDF2_BOUNDS[1]) throw bad;
    if (typeof p.salt !== "string") throw bad;
    return p;
  }

  /** HKDF-SHA256(key ‖ PBKDF2-SHA256(passcode, salt, i), "phr-desktop share passcode v1"). */
  async function withPasscode(key, passcode, params) {
    if (!passcode) {
      throw new ShareError("passcode", "This share is protected by a passcode; ask the patient for it.");
    }
    let salt;
    try {
      salt = b64urlDecode(params.salt);
    } catch (e) {
      salt = new Uint8Array(0);
    }
    if (salt.length < PASSCODE_SALT_BYTES[0] || salt.length > PASSCODE_SALT_BYTES[1]) {
      throw new ShareError("rejected", "The file's passcode salt is not one we accept; this file is damaged.");
    }
    const secret = encoder.encode(passcode.trim().normalize("NFKC"));
    const base = await crypto.subtle.importKey("raw", secret, "PBKDF2", false, ["deriveBits"]);
    const stretched = new Uint8Array(
      await crypto.subtle.deriveBits({ name: "PBKDF2", hash: "SHA-256", salt: salt, iterations: params.i }, base, 256)
    );
    return hkdf(concat(key, stretched), encoder.encode(PASSCODE_INFO));
  }

  function checkJweHeader(header) {
    if (header.alg !== "dir" || header.enc !== "A256GCM") {
      throw new ShareError(
        "rejected",
        "The file uses encryption '" + header.alg + "'/'" + header.enc +
          "'; only 'dir' with 'A256GCM' is accepted."
      );
    }
    if ("zip" in header && header.zip !== "DEF") {
      throw new ShareError("rejected", "Unknown compression '" + header.zip + "'; only DEF is accepted.");
    }
    const unknown = Object.keys(header).filter((k) => JWE_KEYS.indexOf(k) < 0).sort();
    if (unknown.length) {
      throw new ShareError(
        "rejected",
        "The file's header has parameters we do not accept: " + unknown.join(", ") + "."
      );
    }
    return passcodeParams(header);
  }

  function changedEncoding() {
    return new ShareError("wrong-key", "The file was changed after it was made (bad encoding).");
  }

  async function inflateRaw(bytes, cap) {
    if (typeof DecompressionStream === "undefined") {
      throw new ShareError(
        "rejected",
        "This browser is too old to open shares (it cannot decompress); use a current Chrome, " +
          "Edge, Firefox or Safari, or the phr-desktop app."
      );
    }
    const stream = new Blob([bytes]).stream().pipeThrough(new DecompressionStream("deflate-raw"));
    const reader = stream.getReader();
    const chunks = [];
    let total = 0;
    try {
      for (;;) {
        const step = await reader.read();
        if (step.done) break;
        total += step.value.length;
        if (total > cap) {
          reader.cancel();
          throw new ShareError(
            "rejected",
            "The file inflates to more than the " + cap.toLocaleString("en-US") + "-byte cap; refused."
          );
        }
        chunks.push(step.value);
      }
    } catch (e) {
      if (e instanceof ShareError) throw e;
      throw new ShareError("rejected", "The file's compressed content is damaged.");
    }
    const out = new Uint8Array(total);
    let at = 0;
    for (const c of chunks) {
      out.set(c, at);
      at += c.length;
    }
    return out;
  }

  /** The signed JWS inside the JWE (bytes), or a ShareError. */
  async function decrypt(jwe, shareKey, passcode) {
    if (jwe.length > MAX_FILE_BYTES) {
      throw new ShareError("rejected", "The file is larger than the 52,428,800-byte cap; refused.");
    }
    const parts = jwe.split(".");
    if (parts.length !== 5) {
      throw new ShareError("rejected", "This is not a share file (not a JWE compact serialisation).");
    }
    const header = readHeader(parts[0], 1024);
    const params = checkJweHeader(header);
    if (!parts.every(isCanonical)) throw changedEncoding();
    if (parts[1]) {
      throw new ShareError("rejected", "The file carries an encrypted key; with 'dir' it must be empty.");
    }
    let cek = await contentKeyBytes(shareKey);
    if (params) cek = await withPasscode(cek, passcode, params);
    const wrong = new ShareError(
      "wrong-key",
      "This key" + (params ? " and passcode do" : " does") +
        " not open the file, or the file was changed after it was made."
    );
    const iv = b64urlDecode(parts[2]);
    const tag = b64urlDecode(parts[4]);
    if (iv.length !== 12 || tag.length !== 16) throw wrong;
    const key = await crypto.subtle.importKey("raw", cek, "AES-GCM", false, ["decrypt"]);
    let plain;
    try {
      plain = new Uint8Array(
        await crypto.subtle.decrypt(
          { name: "AES-GCM", iv: iv, additionalData: encoder.encode(parts[0]), tagLength: 128 },
          key,
          concat(b64urlDecode(parts[3]), tag)
        )
      );
    } catch (e) {
      throw wrong;
    }
    if (header.zip === "DEF") plain = await inflateRaw(plain, MAX_INFLATED_BYTES);
    if (!plain.length) throw new ShareError("wrong-key", "The file is empty after decryption.");
    return plain;
  }

  /** RFC 7638 thumbprint of a public P-256 JWK, base64url. */
  async function thumbprint(jwk) {
    const canonical = JSON.stringify({ crv: jwk.crv, kty: jwk.kty, x: jwk.x, y: jwk.y });
    return b64url(new Uint8Array(await crypto.subtle.digest("SHA-256", encoder.encode(canonical))));
  }

  /** {payload bytes, thumbprint, jwk}, only when the ES256 signature is good. */
  async function verify(tokenBytes) {
    let token;
    try {
      token = utf8.decode(tokenBytes);
    } catch (e) {
      throw new ShareError("rejected", "The decrypted content is not a signed JWS compact serialisation.");
    }
    const parts = token.split(".");
    if (parts.length !== 3) {
      throw new ShareError("rejected", "The decrypted content is not a signed JWS compact serialisation.");
    }
    if (!parts.every(isCanonical)) throw changedEncoding();
    const header = readHeader(parts[0], 2048);
    if (header.alg !== "ES256") {
      throw new ShareError("rejected", "The content is signed with '" + header.alg + "'; only ES256 is accepted.");
    }
    const unknown = Object.keys(header).filter((k) => JWS_KEYS.indexOf(k) < 0).sort();
    if (unknown.length) {
      throw new ShareError(
        "rejected",
        "The signature header has parameters we do not accept: " + unknown.join(", ") + "."
      );
    }
    const jwk = header.jwk;
    if (!jwk || typeof jwk !== "object" || jwk.kty !== "EC" || jwk.crv !== "P-256" || "d" in jwk) {
      throw new ShareError("rejected", "The signer's key must be a public EC P-256 key in the header.");
    }
    const publicJwk = { kty: "EC", crv: "P-256", x: jwk.x, y: jwk.y };
    let key;
    try {
      key = await crypto.subtle.importKey("jwk", publicJwk, { name: "ECDSA", namedCurve: "P-256" }, false, [
        "verify",
      ]);
    } catch (e) {
      throw new ShareError("rejected", "The signer's key in the header is not a valid P-256 key.");
    }
    const thumb = await thumbprint(publicJwk);
    if (header.kid !== thumb) {
      throw new ShareError("rejected", "The signature's key id is not the thumbprint of its key.");
    }
    const signature = b64urlDecode(parts[2]);
    let good = false;
    if (signature.length === 64) {
      good = await crypto.subtle.verify(
        { name: "ECDSA", hash: "SHA-256" },
        key,
        signature,
        encoder.encode(parts[0] + "." + parts[1])
      );
    }
    if (!good) throw new ShareError("rejected", "The signature does not match the content; refused.");
    return { payload: b64urlDecode(parts[1]), thumbprint: thumb, jwk: publicJwk };
  }

  function signedBy(shareKey, thumb) {
    if (shareKey.signerPrefix === null) return true;
    let bytes;
    try {
      bytes = b64urlDecode(thumb);
    } catch (e) {
      return false;
    }
    for (let i = 0; i < SIGNER_PREFIX_BYTES; i++) {
      if (bytes[i] !== shareKey.signerPrefix[i]) return false;
    }
    return true;
  }

  function checkClaims(claims, now) {
    if (!claims || typeof claims !== "object" || Array.isArray(claims)) {
      throw new ShareError("rejected", "The signed content is not a share.");
    }
    for (const name of ["iat", "nbf", "exp", "record_count"]) {
      if (!Number.isSafeInteger(claims[name])) {
        throw new ShareError("rejected", "The signed content lacks a valid '" + name + "' claim.");
      }
    }
    for (const name of ["iat", "nbf", "exp"]) {
      if (claims[name] < 0 || claims[name] > LATEST_NUMERIC_DATE) {
        throw new ShareError("rejected", "The share's '" + name + "' time is not a real date; refused.");
      }
    }
    const bundle = claims.bundle;
    if (!bundle || typeof bundle !== "object" || bundle.resourceType !== "Bundle") {
      throw new ShareError("rejected", "The signed content holds no FHIR Bundle.");
    }
    if (now + NBF_LEEWAY_SECONDS < claims.nbf) {
      throw new ShareError("expired", "This share is not valid yet (its start time is in the future).");
    }
    if (now >= claims.exp) {
      throw new ShareError("expired", "This share has expired; ask the patient for a new one.");
    }
  }

  /** Open the JWE with the typed key (and passcode, for a share that has one); `now` is Unix
   * seconds (the page's clock by default). */
  async function openShare(jwe, keyText, now, passcode) {
    const shareKey = parseShareKey(keyText);
    const token = await decrypt(jwe, shareKey, passcode);
    const verified = await verify(token);
    if (!signedBy(shareKey, verified.thumbprint)) {
      throw new ShareError(
        "signer",
        "This file was signed by a different key than the one the patient's share key " +
          "names: someone re-signed it after it was made. Do not rely on it; ask the patient " +
          "for the file again."
      );
    }
    let claims;
    try {
      claims = JSON.parse(utf8.decode(verified.payload));
    } catch (e) {
      throw new ShareError("rejected", "The signed content is not JSON.");
    }
    checkClaims(claims, now === undefined ? Math.floor(Date.now() / 1000) : now);
    return {
      claims: claims,
      bundle: claims.bundle,
      fingerprint: verified.thumbprint,
      signerBound: shareKey.signerPrefix !== null,
    };
  }

  PHR.ShareError = ShareError;
  PHR.crypto = {
    b64url: b64url,
    b64urlDecode: b64urlDecode,
    parseShareKey: parseShareKey,
    passcodeParams: passcodeParams,
    groupProblem: groupProblem,
    contentKeyBytes: contentKeyBytes,
    thumbprint: thumbprint,
    decrypt: decrypt,
    verify: verify,
    openShare: openShare,
  };
})((window.PHR = window.PHR || {}));
