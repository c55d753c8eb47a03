// Checks, in the shopper's own browser, that what the page shows is in the signed ledger.
//
// The page carries <section id="verification" data-evidence="URL" data-key="VERIFIER KEY">:
// the evidence URL answers JSON with the latest signed checkpoint (a C2SP signed note), the
// operator's verifier key and, for each ledger entry behind the page, its RFC 6962 inclusion
// proof (with the entry's canonical bytes when the entry is public, its leaf hash alone when
// it is private). The key the page pins (data-key, served in the HTML and shown) is the only
// key trusted: the JSON's key must equal it. Then, with WebCrypto alone:
//
//   1. the checkpoint note's Ed25519 signature by the pinned key verifies over the note text
//      (https://c2sp.org/signed-note; key ID = SHA-256(name || 0x0A || 0x01 || key)[:4]),
//      and its origin is the key's name (ledger/log/checkpoint.py signs it so);
//   2. every proof is for the checkpoint's size and leads to its root hash (RFC 9162
//      2.1.3.2), from the leaf hash SHA-256(0x00 || entry bytes) for public entries;
//   3. each fact the page marks with data-ledger-seq / data-ledger-field / data-ledger-value
//      is what the entry's bytes say;
//   4. when the page pins witnesses (data-witnesses, space-separated C2SP tlog-cosignature
//      verifier keys) and data-min-cosignatures k > 0: at least k distinct pinned witnesses
//      cosigned the checkpoint (https://c2sp.org/tlog-cosignature, cosignature/v1, as
//      ledger/log/cosignature.py writes and checks them).
//
// Any failure reads as a failure with its reason; nothing here can end in "verified" unless
// every check above passed. The module has no inline script and no third-party code, so it
// runs under a strict Content-Security-Policy.

const HASH_SIZE = 32;
const SIG_PREFIX = "\u2014 "; // EM DASH, space
const DECIMAL = /^(0|[1-9][0-9]*)$/;
const HEX_HASH = /^[0-9a-f]{64}$/;
const encoder = new TextEncoder();

/** A check that failed: `reason` says which, in words a reader can act on. */
export class VerificationFailure extends Error {
  constructor(reason, detail = "") {
    super(detail ? `${reason}: ${detail}` : reason);
    this.name = "VerificationFailure";
    this.reason = reason;
    this.detail = detail;
  }
}

function fail(reason, detail) {
  throw new VerificationFailure(reason, detail);
}

// ---- bytes -----------------------------------------------------------------------------

export function toHex(bytes) {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

function fromHex(text) {
  const out = new Uint8Array(text.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(text.slice(2 * i, 2 * i + 2), 16);
  return out;
}

/** Standard base64, canonical spelling only (as ledger/log/checkpoint.py insists). */
export function fromBase64(text, what) {
  if (typeof text !== "string" || !/^[A-Za-z0-9+/]*={0,2}$/.test(text) || text.length % 4) {
    fail("malformed", `${what}: expected base64`);
  }
  let binary;
  try {
    binary = atob(text);
  } catch {
    fail("malformed", `${what}: expected base64`);
  }
  const out = Uint8Array.from(binary, (c) => c.charCodeAt(0));
  if (toBase64(out) !== text) fail("malformed", `${what}: expected canonical base64`);
  return out;
}

function toBase64(bytes) {
  // In slices: spreading a large entry's bytes into one call would overflow the stack.
  let binary = "";
  for (let i = 0; i < bytes.length; i += 0x8000) {
    binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  }
  return btoa(binary);
}

/** A 32-byte hash written in hex (the CLI's form) or base64 (the API's form). */
export function decodeHash(text, what) {
  const raw = typeof text === "string" && HEX_HASH.test(text) ? fromHex(text)
    : fromBase64(text, what);
  if (raw.length !== HASH_SIZE) fail("malformed", `${what}: expected ${HASH_SIZE} bytes`);
  return raw;
}

function concat(...parts) {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

function equal(a, b) {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

async function sha256(bytes) {
  return new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
}

// ---- RFC 6962 / RFC 9162 Merkle proofs ---------------------------------------------------

/** SHA-256(0x00 || data): the leaf hash of an entry's canonical bytes. */
export function leafHash(data) {
  return sha256(concat(Uint8Array.of(0), data));
}

/** SHA-256(0x01 || left || right): an interior node. */
export function nodeHash(left, right) {
  return sha256(concat(Uint8Array.of(1), left, right));
}

function bitLength(n) {
  return n === 0n ? 0 : n.toString(2).length;
}

function bitCount(n) {
  return [...n.toString(2)].filter((c) => c === "1").length;
}

/** How many hashes PATH(index, D[last + 1]) holds (ledger.log.merkle._inclusion_length). */
export function inclusionLength(index, last) {
  const inner = bitLength(BigInt(index) ^ BigInt(last));
  return inner + bitCount(BigInt(index) >> BigInt(inner));
}

/**
 * Recompute the root from a leaf hash and its audit path (RFC 9162 section 2.1.3.2) and
 * compare it to `root`; throws VerificationFailure when the proof does not hold.
 * Indices are BigInts inside: JavaScript's bit operators stop at 32 bits.
 */
export async function verifyInclusion({ leafHash: leaf, index, size, proof, root }) {
  if (!Number.isSafeInteger(index) || !Number.isSafeInteger(size) || index < 0 || index >= size) {
    fail("proof", `leaf index ${index} is not inside a tree of ${size}`);
  }
  if (leaf.length !== HASH_SIZE || root.length !== HASH_SIZE) fail("proof", "hash size");
  const expected = inclusionLength(index, size - 1);
  if (proof.length !== expected) {
    fail("proof", `expected ${expected} hashes in the path of ${index} in ${size}, ` +
      `got ${proof.length}`);
  }
  let fn = BigInt(index);
  let sn = BigInt(size - 1);
  let r = leaf;
  for (const p of proof) {
    if (p.length !== HASH_SIZE) fail("proof", "hash size");
    if (fn & 1n || fn === sn) {
      r = await nodeHash(p, r);
      while (!(fn & 1n) && fn) {
        fn >>= 1n;
        sn >>= 1n;
      }
    } else {
      r = await nodeHash(r, p);
    }
    fn >>= 1n;
    sn >>= 1n;
  }
  if (!equal(r, root)) {
    fail("proof", `entry ${index} leads to root ${toHex(r)}, not the checkpoint's ${toHex(root)}`);
  }
}

// ---- C2SP signed notes and checkpoints -------------------------------------------------

function checkKeyName(name) {
  if (!name || /[\s+]/.test(name) || /[\x00-\x1f]/.test(name)) {
    fail("key", `bad key name ${JSON.stringify(name)}`);
  }
}

/** SHA-256(name || 0x0A || 0x01 || public key)[:4]: the signed-note key ID. */
export async function keyHash(name, publicKey) {
  checkKeyName(name);
  return (await sha256(concat(encoder.encode(name), Uint8Array.of(0x0a, 0x01), publicKey)))
    .slice(0, 4);
}

/** Split `<name>+<hex key hash>+<base64(0x01 || key)>` and check its key hash. */
export async function parseVerifierKey(vkey) {
  if (typeof vkey !== "string") fail("key", "no verifier key");
  const first = vkey.indexOf("+");
  const second = vkey.indexOf("+", first + 1);
  if (first < 0 || second < 0) fail("key", "expected <name>+<key hash>+<key>");
  const name = vkey.slice(0, first);
  const hashHex = vkey.slice(first + 1, second);
  let raw;
  try {
    raw = fromBase64(vkey.slice(second + 1), "verifier key");
  } catch {
    fail("key", "the verifier key's key is not base64");
  }
  if (raw.length !== 33 || raw[0] !== 0x01) fail("key", "expected an Ed25519 verifier key");
  const publicKey = raw.slice(1);
  const id = await keyHash(name, publicKey);
  if (toHex(id) !== hashHex) fail("key", `key hash ${hashHex} does not match the key`);
  return { name, keyHash: id, publicKey, text: vkey };
}

async function ed25519Verify(publicKey, signature, data) {
  let key;
  try {
    key = await crypto.subtle.importKey("raw", publicKey, { name: "Ed25519" }, false, ["verify"]);
  } catch (error) {
    // An old browser without Ed25519 in WebCrypto cannot check: that is not a success.
    fail("unsupported", `this browser's WebCrypto has no Ed25519 (${error.name})`);
  }
  return crypto.subtle.verify({ name: "Ed25519" }, key, signature, data);
}

/**
 * Verify a signed checkpoint note with the pinned key and return {origin, size, root}.
 * Signatures by other keys (witnesses) are ignored; one that claims our key and fails
 * rejects the note, as ledger/log/checkpoint.py open_checkpoint does.
 */
export async function openCheckpoint(note, key) {
  if (typeof note !== "string" || note.length > 1 << 20) fail("checkpoint", "no note");
  if (/[\x00-\x09\x0b-\x1f]/.test(note)) fail("checkpoint", "control characters in the note");
  const split = note.lastIndexOf("\n\n");
  if (split < 0) fail("checkpoint", "no blank line before the signatures");
  const body = note.slice(0, split + 1);
  const signatures = note.slice(split + 2);
  if (!signatures || !signatures.endsWith("\n")) fail("checkpoint", "no signature lines");
  let verified = false;
  for (const line of signatures.slice(0, -1).split("\n")) {
    if (!line.startsWith(SIG_PREFIX)) fail("checkpoint", "malformed signature line");
    const rest = line.slice(SIG_PREFIX.length);
    const space = rest.indexOf(" ");
    if (space < 0) fail("checkpoint", "malformed signature line");
    const name = rest.slice(0, space);
    const blob = fromBase64(rest.slice(space + 1), "signature");
    if (name !== key.name || !equal(blob.slice(0, 4), key.keyHash)) continue;
    if (blob.length !== 4 + 64) fail("signature", "expected a 64-byte Ed25519 signature");
    if (!(await ed25519Verify(key.publicKey, blob.slice(4), encoder.encode(body)))) {
      fail("signature", `the checkpoint's signature by ${key.name} does not verify`);
    }
    verified = true;
  }
  if (!verified) fail("signature", `the checkpoint carries no signature by ${key.name}`);
  const lines = body.slice(0, -1).split("\n");
  if (lines.length < 3) fail("checkpoint", "expected origin, size and root hash lines");
  const [origin, sizeText, rootText] = lines;
  if (!DECIMAL.test(sizeText) || !Number.isSafeInteger(Number(sizeText))) {
    fail("checkpoint", `bad tree size ${JSON.stringify(sizeText.slice(0, 40))}`);
  }
  if (origin !== key.name) fail("checkpoint", `origin ${origin} is not the key's ${key.name}`);
  const root = fromBase64(rootText, "root hash");
  if (root.length !== HASH_SIZE) fail("checkpoint", "expected a 32-byte root hash");
  return { origin, size: Number(sizeText), root };
}

// ---- witness cosignatures (C2SP tlog-cosignature, ledger/log/cosignature.py) -----------

const MAX_TIMESTAMP = (1n << 63n) - 1n;

/** SHA-256(name || 0x0A || 0x04 || public key)[:4]: a cosignature/v1 witness key ID. */
export async function witnessKeyId(name, publicKey) {
  checkKeyName(name);
  return (await sha256(concat(encoder.encode(name), Uint8Array.of(0x0a, 0x04), publicKey)))
    .slice(0, 4);
}

/** Split a witness's `<name>+<hex key ID>+<base64(0x04 || key)>` and check its key ID. */
export async function parseWitnessKey(vkey) {
  if (typeof vkey !== "string") fail("key", "no witness key");
  const first = vkey.indexOf("+");
  const second = vkey.indexOf("+", first + 1);
  if (first < 0 || second < 0) fail("key", "expected a witness key <name>+<key ID>+<key>");
  const name = vkey.slice(0, first);
  const idHex = vkey.slice(first + 1, second);
  let raw;
  try {
    raw = fromBase64(vkey.slice(second + 1), "witness key");
  } catch {
    fail("key", "the witness key's key is not base64");
  }
  if (raw.length !== 33 || raw[0] !== 0x04) fail("key", "expected a cosignature/v1 witness key");
  const publicKey = raw.slice(1);
  const id = await witnessKeyId(name, publicKey);
  if (toHex(id) !== idHex) fail("key", `witness key ID ${idHex} does not match the key`);
  return { name, keyId: id, publicKey, text: vkey };
}

/**
 * The pinned witnesses (parsed keys) whose cosignature on `note` verifies, one per distinct
 * key; a line that carries a pinned witness's name and key ID but does not verify fails
 * (only a forger or a broken witness writes one), lines of other keys are ignored. Fewer
 * than `minCosignatures` distinct witnesses fails: "only N of k witnesses cosigned".
 */
export async function verifyCosignatures(note, witnesses, minCosignatures) {
  const distinct = new Map();
  for (const w of witnesses) if (!distinct.has(toHex(w.publicKey))) distinct.set(toHex(w.publicKey), w);
  if (minCosignatures > distinct.size) {
    fail("cosignature", `${minCosignatures} cosignatures are required but only ` +
      `${distinct.size} witnesses are pinned`);
  }
  const split = note.lastIndexOf("\n\n");
  const body = encoder.encode(note.slice(0, split + 1));
  const cosigned = new Map();
  for (const line of note.slice(split + 2, -1).split("\n")) {
    const rest = line.slice(SIG_PREFIX.length);
    const space = rest.indexOf(" ");
    const name = rest.slice(0, space);
    const blob = fromBase64(rest.slice(space + 1), "signature");
    const witness = witnesses.find((w) => w.name === name && equal(blob.slice(0, 4), w.keyId));
    if (!witness) continue;
    if (blob.length !== 4 + 8 + 64) fail("cosignature", `cosignature by ${name}: expected 76 bytes`);
    let timestamp = 0n;
    for (const byte of blob.slice(4, 12)) timestamp = (timestamp << 8n) | BigInt(byte);
    const signed = concat(encoder.encode(`cosignature/v1\ntime ${timestamp}\n`), body);
    if (timestamp > MAX_TIMESTAMP || !(await ed25519Verify(witness.publicKey, blob.slice(12), signed))) {
      fail("cosignature", `the cosignature by ${name} does not verify`);
    }
    const id = toHex(witness.publicKey);
    if (!cosigned.has(id)) cosigned.set(id, { name: witness.name, text: witness.text, time: Number(timestamp) });
  }
  if (cosigned.size < minCosignatures) {
    const error = new VerificationFailure("cosignature",
      `only ${cosigned.size} of ${minCosignatures} witnesses cosigned`);
    error.cosigned = cosigned.size;
    error.required = minCosignatures;
    throw error;
  }
  return [...cosigned.values()];
}

// ---- signed entry timestamps (ledger/log/timestamp.py) ------------------------------------

const TIMESTAMP_CONTEXT = "tracenet signed entry timestamp v1\n";
const UTC_TIME = /^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]{1,9})?Z$/;

/**
 * How new the checkpoint is: the operator's signed entry timestamp of its last entry, whose
 * inclusion proof must lead to the checkpoint's root. Returns the integrated time (RFC 3339
 * UTC), or undefined when the server sent none (an older server).
 */
export async function checkpointTime(evidence, key, checkpoint) {
  const given = field(evidence, "checkpoint_time");
  if (given === undefined || given === null) return undefined;
  const stamp = field(given, "timestamp");
  const path = field(given, "proof");
  if (!stamp || !Array.isArray(path)) fail("time", "malformed checkpoint time");
  const seq = stamp.seq;
  if (seq !== checkpoint.size - 1) {
    fail("time", `the timestamp is of entry ${seq}, not the checkpoint's last (${checkpoint.size - 1})`);
  }
  if (stamp.origin !== key.name) fail("time", `the timestamp is for another log (${stamp.origin})`);
  const time = stamp.integrated_time;
  if (typeof time !== "string" || !UTC_TIME.test(time)) fail("time", "malformed integrated time");
  const keyId = toHex((await sha256(key.publicKey)).slice(0, 8));
  if (stamp.key_id !== keyId) fail("time", `the timestamp is by key ${stamp.key_id}, not ${keyId}`);
  const leaf = decodeHash(stamp.leaf_hash, "timestamp leaf hash");
  const signature = fromBase64(stamp.signature, "timestamp signature");
  if (signature.length !== 64) fail("time", "expected a 64-byte Ed25519 signature");
  const signed = encoder.encode(`${TIMESTAMP_CONTEXT}${stamp.origin}\n${seq}\n${toBase64(leaf)}\n${time}\n`);
  if (!(await ed25519Verify(key.publicKey, signature, signed))) {
    fail("time", "the checkpoint time's signature does not verify");
  }
  await verifyInclusion({ leafHash: leaf, index: seq, size: checkpoint.size,
    proof: path.map((h, i) => decodeHash(h, `timestamp proof[${i}]`)), root: checkpoint.root });
  return time;
}

// ---- the evidence -----------------------------------------------------------------------

function field(object, ...names) {
  for (const name of names) if (object && object[name] !== undefined) return object[name];
  return undefined;
}

/** Follow a dotted path ("payload.result") into parsed entry JSON. */
function lookup(body, path) {
  return path.split(".").reduce((at, key) => (at == null ? undefined : at[key]), body);
}

/**
 * Check `evidence` (the endpoint's JSON) against the pinned verifier key; `facts` are
 * [{seq, field, value}] the page shows, `cited` the seqs it says it rests on; `policy`
 * {witnesses: [witness verifier keys], minCosignatures: k}, pinned by the page, requires k
 * of those witnesses' cosignatures on the checkpoint. Returns {checkpoint, key, entries,
 * time, cosigners}; throws VerificationFailure naming the first check that failed, with
 * reason "pending" when the page cites an entry newer than the signed checkpoint (not a
 * success either: it is checked on a later visit).
 */
export async function verifyEvidence(evidence, pinnedKey, facts = [], cited = [], policy = {}) {
  if (!evidence || typeof evidence !== "object") fail("malformed", "the evidence is not JSON");
  const served = field(evidence, "key", "verifier_key", "operator_key");
  const servedKey = typeof served === "object" && served ? field(served, "verifier_key", "key")
    : served;
  if (typeof servedKey !== "string" || servedKey.trim() !== pinnedKey.trim()) {
    fail("key", "the evidence is signed for a key other than the one this page pins");
  }
  const key = await parseVerifierKey(pinnedKey.trim());
  const checkpointField = field(evidence, "checkpoint");
  const note = typeof checkpointField === "object" && checkpointField
    ? field(checkpointField, "note", "signed_note", "text") : checkpointField;
  const checkpoint = await openCheckpoint(note, key);
  const required = policy.minCosignatures ?? 0;
  if (!Number.isSafeInteger(required) || required < 0) fail("key", "bad cosignature policy");
  const witnesses = [];
  for (const vkey of policy.witnesses ?? []) witnesses.push(await parseWitnessKey(vkey.trim()));
  const cosigners = required > 0 || witnesses.length
    ? await verifyCosignatures(note, witnesses, required) : [];
  const entries = field(evidence, "entries");
  if (!Array.isArray(entries) || entries.length === 0) fail("malformed", "no entries to check");
  const checked = [];
  const bodies = new Map();
  for (const item of entries) {
    const proofObject = field(item, "proof", "inclusion", "inclusion_proof");
    const path = Array.isArray(proofObject) ? proofObject : field(proofObject, "proof", "hashes");
    const seq = field(item, "seq") ?? field(proofObject, "seq");
    const size = field(proofObject, "size", "tree_size") ?? field(item, "size", "tree_size");
    const proofRoot = field(proofObject, "root", "root_hash") ?? field(item, "root");
    if (!Number.isSafeInteger(seq) || !Array.isArray(path)) fail("malformed", "an entry lacks its proof");
    if (size !== undefined && size !== checkpoint.size) {
      fail("proof", `entry ${seq}'s proof is for a tree of ${size}, the checkpoint's is ${checkpoint.size}`);
    }
    if (proofRoot !== undefined && !equal(decodeHash(proofRoot, "root"), checkpoint.root)) {
      fail("proof", `entry ${seq}'s proof names a root other than the checkpoint's`);
    }
    const bytesField = field(item, "entry", "body", "canonical", "bytes");
    let leaf;
    if (typeof bytesField === "string") {
      const bytes = fromBase64(bytesField, `entry ${seq}`);
      leaf = await leafHash(bytes);
      let body;
      try {
        body = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(bytes));
      } catch {
        fail("entry", `entry ${seq}'s bytes are not JSON`);
      }
      if (!body || typeof body !== "object" || body.seq !== seq) {
        fail("entry", `the bytes given for entry ${seq} are not entry ${seq}`);
      }
      bodies.set(seq, body);
      const claimed = field(item, "leaf_hash") ?? field(proofObject, "leaf_hash");
      if (claimed !== undefined && !equal(decodeHash(claimed, "leaf hash"), leaf)) {
        fail("entry", `entry ${seq}'s bytes do not hash to its leaf hash`);
      }
    } else {
      leaf = decodeHash(field(item, "leaf_hash") ?? field(proofObject, "leaf_hash"),
        `entry ${seq}'s leaf hash`);
    }
    const hashes = path.map((h, i) => decodeHash(h, `entry ${seq}'s proof[${i}]`));
    await verifyInclusion({ leafHash: leaf, index: seq, size: checkpoint.size, proof: hashes,
      root: checkpoint.root });
    checked.push({ seq, leafHash: toHex(leaf), proofLength: hashes.length,
      public: bodies.has(seq), type: bodies.get(seq)?.type ?? field(item, "type") });
  }
  const proven = new Set(checked.map((entry) => entry.seq));
  for (const seq of new Set([...cited, ...facts.map((fact) => fact.seq)])) {
    if (seq >= checkpoint.size) {
      fail("pending", `entry ${seq} is newer than the signed checkpoint of ${checkpoint.size}`);
    }
    if (!proven.has(seq)) fail("proof", `the page rests on entry ${seq}, which the evidence does not prove`);
  }
  for (const fact of facts) {
    const body = bodies.get(fact.seq);
    if (!body) fail("fact", `the page cites entry ${fact.seq}, whose bytes the evidence lacks`);
    const actual = lookup(body, fact.field);
    if (actual === undefined || String(actual) !== fact.value) {
      fail("fact", `the page shows ${fact.field} = ${JSON.stringify(fact.value)} for entry ` +
        `${fact.seq}, the ledger says ${JSON.stringify(actual)}`);
    }
  }
  return { checkpoint, key, entries: checked, cosigners, required,
    time: await checkpointTime(evidence, key, checkpoint) };
}

// ---- the page ------------------------------------------------------------------------------

const WORDS = {
  zh: {
    checking: "正在本机核验账本证明…",
    verified: "✓ 已在账本中验证 / verified in the ledger",
    failed: "✗ 验证失败 / verification failed",
    pending: "⧗ 尚待签名检查点 / awaiting the signed checkpoint",
    unsupported: "– 本浏览器无法核验 / this browser cannot check",
    summary: (n, size) => `${n} 条记录的包含证明均指向账本第 ${size} 条时的签名检查点`,
    time: "检查点时间",
    checkedAt: "本机核验时间",
    details: "证明详情",
    seq: "序号",
    leaf: "叶哈希",
    proof: "证明长度",
    kind: "记录",
    private: "(不公开)",
    root: "根哈希",
    size: "检查点规模",
    key: "运营方公钥",
    witness: "见证方公钥",
    cosigned: (names, k) => `已由 ${names.length} 个见证方联署（至少需 ${k} 个）：${names.join("、")}`,
    tooFew: (n, k) => `仅 ${n} / ${k} 个见证方联署 (only ${n} of ${k} witnesses cosigned)`,
    detail: "技术细节",
    types: {
      enterprise_registered: "企业登记", product_registered: "产品登记", inspection: "检验",
      production: "生产", serialization: "赋码", recall_initiated: "召回", correction: "更正",
    },
    reasons: {
      key: "证据所用的公钥与本页固定的运营方公钥不符",
      signature: "检查点签名无效",
      checkpoint: "检查点格式错误",
      proof: "包含证明不成立",
      entry: "记录内容与其哈希不符",
      fact: "页面显示的信息与账本记录不符",
      malformed: "证据格式错误",
      network: "无法获取证据",
      unsupported: "本浏览器不支持 Ed25519 验签，请升级浏览器，或按页面下方公钥用命令行核验",
      time: "检查点时间戳无效",
      pending: "本页有记录刚写入账本，尚未纳入签名检查点，请稍后刷新再验证",
      cosignature: "检查点的见证方联署无效",
    },
  },
  en: {
    checking: "Checking the ledger's proofs on this device…",
    verified: "✓ 已在账本中验证 / verified in the ledger",
    failed: "✗ 验证失败 / verification failed",
    pending: "⧗ 尚待签名检查点 / awaiting the signed checkpoint",
    unsupported: "– 本浏览器无法核验 / this browser cannot check",
    summary: (n, size) => `The inclusion proofs of ${n} entries lead to the signed checkpoint ` +
      `of ${size} entries`,
    time: "checkpoint time",
    checkedAt: "checked on this device at",
    details: "Proof details",
    seq: "seq",
    leaf: "leaf hash",
    proof: "proof length",
    kind: "record",
    private: "(private)",
    root: "root hash",
    size: "checkpoint size",
    key: "operator key",
    witness: "witness key",
    cosigned: (names, k) => `cosigned by ${names.length} witnesses (${k} required): ${names.join(", ")}`,
    tooFew: (n, k) => `only ${n} of ${k} witnesses cosigned`,
    detail: "detail",
    types: {
      enterprise_registered: "maker registered", product_registered: "product registered",
      inspection: "inspection", production: "production", serialization: "unit codes",
      recall_initiated: "recall", correction: "correction",
    },
    reasons: {
      key: "the evidence's key is not the operator key this page pins",
      signature: "the checkpoint's signature is invalid",
      checkpoint: "the checkpoint is malformed",
      proof: "an inclusion proof does not hold",
      entry: "an entry's bytes do not match its hash",
      fact: "what the page shows differs from the ledger",
      malformed: "the evidence is malformed",
      network: "the evidence could not be fetched",
      unsupported: "this browser cannot check Ed25519 signatures; update it, or check with the command line and the key below",
      time: "the checkpoint's timestamp is invalid",
      pending: "a record on this page is newer than the latest signed checkpoint; reload shortly to check it",
      cosignature: "a witness cosignature on the checkpoint is invalid",
    },
  },
};

function words() {
  return (document.documentElement.lang || "zh").toLowerCase().startsWith("en")
    ? WORDS.en : WORDS.zh;
}

function element(tag, text, attributes = {}) {
  const node = document.createElement(tag);
  if (text !== undefined) node.textContent = text;
  for (const [name, value] of Object.entries(attributes)) node.setAttribute(name, value);
  return node;
}

function statusLine(section) {
  let line = section.querySelector("[data-verification-status], #verification-status");
  if (!line) {
    line = element("p", undefined, { "data-verification-status": "", role: "status" });
    section.append(line);
  }
  return line;
}

function showVerified(section, result) {
  const w = words();
  section.dataset.state = "verified";
  const line = statusLine(section);
  line.replaceChildren(element("strong", w.verified));
  const when = new Date().toLocaleString(document.documentElement.lang || "zh-CN");
  const lang = document.documentElement.lang || "zh-CN";
  const signedAt = result.time ? new Date(result.time).toLocaleString(lang) : undefined;
  const cosigned = result.required > 0
    ? ` · ${w.cosigned(result.cosigners.map((c) => c.name), result.required)}` : "";
  const summary = element("p", `${w.summary(result.entries.length, result.checkpoint.size)}` +
    cosigned + (signedAt ? ` · ${w.time} ${signedAt}` : "") + ` · ${w.checkedAt} ${when}`,
    { "data-verification-summary": "" });
  const details = element("details", undefined, { "data-verification-details": "" });
  details.append(element("summary", w.details));
  const facts = element("dl");
  for (const [term, value] of [[w.size, String(result.checkpoint.size)],
    [w.root, toHex(result.checkpoint.root)], [w.key, result.key.text],
    ...result.cosigners.map((c) => [w.witness, c.text])]) {
    facts.append(element("dt", term), element("dd", value, { class: "hash" }));
  }
  const table = element("table");
  const head = element("tr");
  for (const title of [w.seq, w.kind, w.leaf, w.proof]) head.append(element("th", title));
  table.append(head);
  for (const entry of result.entries) {
    const row = element("tr");
    const kind = w.types[entry.type] ?? entry.type ?? "";
    row.append(element("td", String(entry.seq)),
      element("td", entry.public ? kind : `${kind} ${w.private}`.trim()),
      element("td", entry.leafHash, { class: "hash" }), element("td", String(entry.proofLength)));
    table.append(row);
  }
  details.append(facts, table);
  section.querySelectorAll("[data-verification-summary], [data-verification-details]")
    .forEach((old) => old.remove());
  line.after(summary, details);
}

function showFailure(section, error) {
  const w = words();
  // Neither is a mismatch: a record newer than the checkpoint, or a browser that cannot check
  // Ed25519 (Chrome before 137, Firefox before 129). Neither reads as verified.
  const code = error instanceof VerificationFailure ? error.reason : "malformed";
  const state = code === "pending" || code === "unsupported" ? code : "failed";
  section.dataset.state = state;
  const detail = error instanceof VerificationFailure ? error.detail : String(error);
  const line = statusLine(section);
  const reason = error.required !== undefined ? w.tooFew(error.cosigned, error.required)
    : w.reasons[code] ?? code;
  line.replaceChildren(element("strong", w[state]),
    element("span", ` — ${reason}`, { "data-verification-reason": code }));
  section.querySelectorAll("[data-verification-summary], [data-verification-details]")
    .forEach((old) => old.remove());
  if (detail) {
    line.after(element("p", `${w.detail}: ${detail}`,
      { "data-verification-summary": "", class: "hash detail" }));
  }
}

/** The facts the page shows that the ledger's entry bytes must bear out. A mark without a
 * seq (an item the ledger does not have) is no claim; leaving marks out is always possible,
 * so skipping one costs nothing. */
function pageFacts() {
  return [...document.querySelectorAll("[data-ledger-seq][data-ledger-field]")]
    .filter((node) => /^[0-9]+$/.test(node.dataset.ledgerSeq))
    .map((node) => ({
      seq: Number(node.dataset.ledgerSeq), field: node.dataset.ledgerField,
      value: node.dataset.ledgerValue ?? node.textContent.trim(),
    }));
}

/** The seqs the page says it rests on (data-seqs="1,3,4" anywhere in it). */
function citedSeqs() {
  return [...document.querySelectorAll("[data-seqs]")].flatMap((node) =>
    node.dataset.seqs.split(",").map((s) => s.trim()).filter((s) => /^[0-9]+$/.test(s))
      .map(Number));
}

/** Fetch the evidence named by the section and show the outcome in it. */
export async function verifyPage(section) {
  const w = words();
  section.dataset.state = "checking";
  statusLine(section).textContent = w.checking;
  try {
    const pinned = section.dataset.key ?? section.dataset.verifierKey;
    if (!pinned) fail("key", "the page pins no operator key");
    const policy = {
      witnesses: (section.dataset.witnesses ?? "").split(/\s+/).filter(Boolean),
      minCosignatures: Number(section.dataset.minCosignatures ?? "0"),
    };
    let evidence;
    try {
      const response = await fetch(section.dataset.evidence, { headers: { Accept: "application/json" } });
      if (response.status === 404 && policy.minCosignatures > 0) {
        // No checkpoint has k cosignatures yet: the records wait for one, as for any checkpoint.
        const answer = await response.json().catch(() => ({}));
        if (String(answer?.error?.field ?? "").includes("min_cosignatures")) {
          fail("pending", answer.error.message);
        }
      }
      if (!response.ok) fail("network", `HTTP ${response.status}`);
      evidence = await response.json();
    } catch (error) {
      if (error instanceof VerificationFailure) throw error;
      fail("network", String(error));
    }
    showVerified(section, await verifyEvidence(evidence, pinned, pageFacts(), citedSeqs(), policy));
  } catch (error) {
    showFailure(section, error);
  }
}

if (typeof document !== "undefined") {
  const section = document.getElementById("verification");
  if (section && section.dataset.evidence) verifyPage(section);
}
