// web/static/scan.js under node --test: where a code read off a package leads.
import assert from "node:assert/strict";
import { test } from "node:test";

import { resolverPath } from "../../web/static/scan.js";

const ORIGIN = "https://trace.example.cn";
const asked = [];

// The parse API, as /api/v1/codes/parse answers (only what resolverPath reads).
globalThis.fetch = async (url) => {
  asked.push(url);
  const code = new URL(url, ORIGIN).searchParams.get("code");
  if (code.includes("bad")) {
    return new Response(JSON.stringify({ error: { code: "gs1.check_digit", message: "bad check digit",
      field: "code" } }), { status: 400 });
  }
  return new Response(JSON.stringify({ kind: "element_string",
    digital_link: `https://id.gs1.org/01/06901234567892/10/L%201?17=270526` }), { status: 200 });
};

test("a 20-digit supervision code goes to /c/ without asking the server", async () => {
  asked.length = 0;
  assert.equal(await resolverPath(" 12345678901234567890 ", { origin: ORIGIN }),
    "/c/12345678901234567890");
  assert.deepEqual(asked, []);
});

test("our own Digital Link and /c/ URLs are followed as they are", async () => {
  asked.length = 0;
  assert.equal(await resolverPath(`${ORIGIN}/01/06901234567892/10/L1/21/S1?x=1`, { origin: ORIGIN }),
    "/01/06901234567892/10/L1/21/S1?x=1");
  assert.equal(await resolverPath(`${ORIGIN}/c/12345678901234567890`, { origin: ORIGIN }),
    "/c/12345678901234567890");
  assert.deepEqual(asked, []);
});

test("element strings and other hosts' links go through the parse API to our resolver", async () => {
  asked.length = 0;
  assert.equal(await resolverPath("]d2010690123456789210L 1\u001d17270526", { origin: ORIGIN }),
    "/01/06901234567892/10/L%201?17=270526");
  assert.equal(await resolverPath("https://example.com/01/06901234567892/10/L%201", { origin: ORIGIN }),
    "/01/06901234567892/10/L%201?17=270526");
  assert.equal(asked.length, 2);
  assert.ok(asked[0].startsWith("/api/v1/codes/parse?code=%5Dd2010690123456789210L%201%1D17"));
});

test("a code the server refuses is an error naming why", async () => {
  await assert.rejects(resolverPath("bad", { origin: ORIGIN }), /bad check digit/);
});
