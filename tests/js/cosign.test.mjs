// web/static/verify.js's k-of-n witness cosignature check under node --test, on a checkpoint
// Tracenet signed and its witness code cosigned (tests/ledger/test_evidence_cosigned.py's
// cases, written by tests/web/test_cosign_js.py to the file named by TRACENET_COSIGNED).
import assert from "node:assert/strict";
import { webcrypto } from "node:crypto";
import { readFileSync } from "node:fs";
import { test } from "node:test";

globalThis.crypto ??= webcrypto;

import {
  VerificationFailure, parseWitnessKey, verifyEvidence, witnessKeyId,
} from "../../web/static/verify.js";

const cases = JSON.parse(readFileSync(process.env.TRACENET_COSIGNED, "utf8"));

for (const [name, c] of Object.entries(cases)) {
  test(`${name}: ${c.ok ? "verified" : "fails"} with k=${c.k}`, async () => {
    const pinned = c.evidence.operator_key.verifier_key;
    const run = verifyEvidence(structuredClone(c.evidence), pinned, [], [],
      { witnesses: c.witnesses, minCosignatures: c.k });
    if (c.ok) {
      const result = await run;
      assert.deepEqual(result.cosigners.map((w) => w.name).sort(), c.cosigners);
      assert.equal(result.required, c.k);
    } else {
      await assert.rejects(run, (error) => {
        assert.ok(error instanceof VerificationFailure, String(error));
        assert.equal(error.reason, "cosignature", error.message);
        return true;
      });
    }
  });
}

test("too few cosignatures read 'only N of k witnesses cosigned'", async () => {
  for (const [name, n] of [["k_not_reached", 1], ["unpinned_key", 1], ["counted_once", 1],
    ["none_cosigned", 0]]) {
    const c = cases[name];
    await assert.rejects(verifyEvidence(structuredClone(c.evidence),
      c.evidence.operator_key.verifier_key, [], [], { witnesses: c.witnesses, minCosignatures: c.k }),
    (error) => {
      assert.equal(error.detail, `only ${n} of ${c.k} witnesses cosigned`);
      assert.equal(error.cosigned, n);
      assert.equal(error.required, c.k);
      return true;
    });
  }
});

test("witness keys: type 0x04 key IDs as ledger/log/cosignature.py computes them", async () => {
  const vkey = cases.two_of_two.witnesses[0];
  const key = await parseWitnessKey(vkey);
  assert.equal(vkey.split("+")[1], [...await witnessKeyId(key.name, key.publicKey)]
    .map((b) => b.toString(16).padStart(2, "0")).join(""));
  // The operator's note key (type 0x01) is no witness key, nor is a key under another name.
  await assert.rejects(parseWitnessKey(cases.two_of_two.evidence.operator_key.verifier_key),
    (error) => error.reason === "key");
  await assert.rejects(parseWitnessKey(vkey.replace(/^[^+]+/, "w9.test")),
    (error) => error.reason === "key");
});

test("without a policy the evidence verifies whatever cosignatures it carries", async () => {
  const c = cases.none_cosigned;
  const result = await verifyEvidence(structuredClone(c.evidence), c.evidence.operator_key.verifier_key);
  assert.deepEqual(result.cosigners, []);
});
