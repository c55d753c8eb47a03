// web/static/verify.js under node --test, on evidence Tracenet produced (written by
// tests/web/test_verify_js.py to the file named by TRACENET_EVIDENCE) and tampered copies.
import assert from "node:assert/strict";
import { webcrypto } from "node:crypto";
import { readFileSync } from "node:fs";
import { test } from "node:test";

// Node 18 (Debian's) keeps WebCrypto off the global object; browsers and Node 20 have it.
globalThis.crypto ??= webcrypto;

import {
  VerificationFailure, decodeHash, fromBase64, inclusionLength, verifyEvidence, verifyInclusion,
} from "../../web/static/verify.js";

const fixture = JSON.parse(readFileSync(process.env.TRACENET_EVIDENCE, "utf8"));
const { evidence, key, other_key: otherKey, facts, vectors } = fixture;

const copy = (value) => structuredClone(value);
const b64 = (bytes) => btoa(String.fromCharCode(...bytes));

/** Flip one bit of base64-encoded bytes. */
function flip(text, at = 0) {
  const bytes = fromBase64(text, "test");
  bytes[at] ^= 0x01;
  return b64(bytes);
}

async function rejects(promise, reason, what = "") {
  await assert.rejects(promise, (error) => {
    assert.ok(error instanceof VerificationFailure, `${what} not a VerificationFailure: ${error}`);
    assert.equal(error.reason, reason, `${what} ${error.message}`);
    return true;
  });
}

test("Tracenet's evidence verifies against the pinned key, facts included", async () => {
  const result = await verifyEvidence(copy(evidence), key, facts);
  assert.match(result.time, /^20[0-9-]+T[0-9:.]+Z$/);
  assert.equal(result.time, evidence.checkpoint_time.timestamp.integrated_time);
  assert.equal(result.entries.length, evidence.entries.length);
  assert.ok(result.entries.some((e) => e.public) && result.entries.some((e) => !e.public));
  assert.ok(result.checkpoint.size > Math.max(...evidence.entries.map((e) => e.seq)));
});

test("every Python proof over many tree sizes verifies, and a flipped bit fails", async () => {
  for (const v of vectors) {
    const proof = v.proof.map((h) => decodeHash(h, "p"));
    const args = { leafHash: decodeHash(v.leaf_hash, "leaf"), index: v.index, size: v.size, proof,
      root: decodeHash(v.root, "root") };
    assert.equal(inclusionLength(v.index, v.size - 1), proof.length);
    await verifyInclusion(args);
    if (proof.length) {
      const bad = proof.map((h) => h.slice());
      bad[bad.length - 1][31] ^= 1;
      await rejects(verifyInclusion({ ...args, proof: bad }), "proof");
      await rejects(verifyInclusion({ ...args, proof: proof.slice(1) }), "proof");
    }
    if (v.size > 1) await rejects(verifyInclusion({ ...args, index: (v.index + 1) % v.size }), "proof");
  }
});

test("a tampered proof hash fails", async () => {
  for (let i = 0; i < evidence.entries.length; i++) {
    const bad = copy(evidence);
    const path = bad.entries[i].proof;
    if (!path.length) continue;
    path[0] = flip(path[0], 5);
    await rejects(verifyEvidence(bad, key), "proof");
  }
});

test("a proof cut short, lengthened, or for another seq fails", async () => {
  const shorter = copy(evidence);
  shorter.entries[0].proof.pop();
  await rejects(verifyEvidence(shorter, key), "proof");
  const longer = copy(evidence);
  longer.entries[0].proof.push(longer.entries[0].proof[0]);
  await rejects(verifyEvidence(longer, key), "proof");
  const moved = copy(evidence);
  const privateEntry = moved.entries.find((e) => !e.entry);
  privateEntry.seq += 1;
  await rejects(verifyEvidence(moved, key), "proof");
});

test("tampered entry bytes fail, even with a matching leaf hash claim removed", async () => {
  const bad = copy(evidence);
  const item = bad.entries.find((e) => e.entry);
  const text = atob(item.entry).replace('"seq"', '"seq" ');
  item.entry = btoa(text);
  await rejects(verifyEvidence(bad, key), "entry");
  delete item.leaf_hash;
  await rejects(verifyEvidence(bad, key), "proof");
});

test("a private entry's leaf hash changed fails", async () => {
  const bad = copy(evidence);
  const item = bad.entries.find((e) => !e.entry);
  item.leaf_hash = flip(item.leaf_hash);
  await rejects(verifyEvidence(bad, key), "proof");
});

test("a tampered checkpoint fails: size, root, origin, signature", async () => {
  const note = evidence.checkpoint;
  const [origin, size, root, blank, sig] = note.split("\n");
  const variants = {
    size: [origin, String(Number(size) + 1), root, blank, sig, ""].join("\n"),
    root: [origin, size, flip(root, 3), blank, sig, ""].join("\n"),
    origin: [origin + "x", size, root, blank, sig, ""].join("\n"),
    signature: [origin, size, root, blank, sig.slice(0, -8) + (sig.slice(-8, -7) === "A" ? "B" : "A") + sig.slice(-7), ""].join("\n"),
  };
  for (const [what, text] of Object.entries(variants)) {
    const bad = copy(evidence);
    bad.checkpoint = text;
    // Any change to the signed text breaks the signature, whatever the change was.
    await rejects(verifyEvidence(bad, key), "signature", what);
  }
  const unsigned = copy(evidence);
  unsigned.checkpoint = [origin, size, root, "", ""].join("\n");
  await rejects(verifyEvidence(unsigned, key), "checkpoint");
});

test("a checkpoint signed by another key fails, whether the JSON names it or not", async () => {
  await rejects(verifyEvidence(copy(evidence), otherKey), "key");
  const swapped = copy(evidence);
  swapped.operator_key = { verifier_key: otherKey };
  await rejects(verifyEvidence(swapped, key), "key");
  const missing = copy(evidence);
  delete missing.operator_key;
  await rejects(verifyEvidence(missing, key), "key");
  // The other key pinned and named: the note carries no signature by it.
  const pinnedOther = copy(evidence);
  pinnedOther.operator_key = { verifier_key: otherKey };
  await rejects(verifyEvidence(pinnedOther, otherKey), "signature");
});

test("a verifier key whose key hash does not match its key is refused", async () => {
  // Only the first two '+' separate: base64 may hold more.
  const [name, hash] = key.split("+", 2);
  const material = key.slice(name.length + hash.length + 2);
  const wrongHash = `${name}+${hash.slice(0, -1)}${hash.endsWith("0") ? "1" : "0"}+${material}`;
  const bad = copy(evidence);
  bad.operator_key = { verifier_key: wrongHash };
  await rejects(verifyEvidence(bad, wrongHash), "key");
});

test("a page fact the entry bytes do not bear out fails", async () => {
  const [fact] = facts;
  await rejects(verifyEvidence(copy(evidence), key, [{ ...fact, value: fact.value + "x" }]), "fact");
  const privateSeq = evidence.entries.find((e) => !e.entry).seq;
  await rejects(verifyEvidence(copy(evidence), key, [{ ...fact, seq: privateSeq }]), "fact");
});

test("base64 round-trips large entries (a big entry's bytes are read in slices)", () => {
  const big = new Uint8Array(300_000).map((_, i) => (i * 7) % 256);
  let binary = "";
  for (const byte of big) binary += String.fromCharCode(byte);
  assert.deepEqual(fromBase64(btoa(binary), "big"), big);
});

test("the page's cited entries must all be proven; one past the checkpoint is pending", async () => {
  const seqs = evidence.entries.map((e) => e.seq);
  await verifyEvidence(copy(evidence), key, [], seqs);
  const missing = copy(evidence);
  missing.entries = missing.entries.filter((e) => e.seq !== seqs[0]);
  await rejects(verifyEvidence(missing, key, [], seqs), "proof");
  const size = Number(evidence.checkpoint.split("\n")[1]);
  await rejects(verifyEvidence(copy(evidence), key, [], [...seqs, size]), "pending");
  await rejects(verifyEvidence(copy(evidence), key, [{ ...facts[0], seq: size + 3 }]), "pending");
});

test("the checkpoint's time is the signed timestamp of its last entry, proven in it", async () => {
  const later = copy(evidence);
  later.checkpoint_time.timestamp.integrated_time = "2099-01-01T00:00:00Z";
  await rejects(verifyEvidence(later, key), "time");
  const earlier = copy(evidence);
  earlier.checkpoint_time.timestamp.seq -= 1;
  await rejects(verifyEvidence(earlier, key), "time");
  const unproven = copy(evidence);
  unproven.checkpoint_time.proof[0] = flip(unproven.checkpoint_time.proof[0]);
  await rejects(verifyEvidence(unproven, key), "proof");
  const forged = copy(evidence);
  forged.checkpoint_time.timestamp.signature = flip(forged.checkpoint_time.timestamp.signature, 9);
  await rejects(verifyEvidence(forged, key), "time");
  const none = copy(evidence);
  delete none.checkpoint_time;
  assert.equal((await verifyEvidence(none, key)).time, undefined);
});

test("malformed evidence is a failure, never a success", async () => {
  for (const bad of [null, {}, { ...copy(evidence), entries: [] },
    { ...copy(evidence), entries: [{ seq: 1 }] }, { ...copy(evidence), checkpoint: 42 }]) {
    await assert.rejects(verifyEvidence(bad, key), VerificationFailure);
  }
});
